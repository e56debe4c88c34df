// `verify-attestation`: for each image digest, find every attestation in
// both places cosign stores them (bundle referrers, the legacy `.att` tag),
// verify each against the trusted root and the identity/key policy, check
// that its statement names the digest and has the predicate type asked for,
// then hand it to an optional predicate check (a policy file), and return
// the statements that passed. Pure of platform; the adapter prints them.
import {
  parseBundle,
  toSignedEntity,
  verifySignedEntity,
  VerificationError,
  type VerificationResult
} from '../sigstore/index.ts'
import { AppError, fromBase64, mapLimit, type Logger } from '../util/index.ts'
import type { RegistryClient } from '../oci/index.ts'
import {
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  attestationTag
} from './constants.ts'
import {
  AttestationError,
  NoMatchingSignaturesError,
  NoSignaturesError
} from './errors.ts'
import { verifyLegacyAttestation } from './legacy-attestation.ts'
import {
  parseInTotoStatement,
  statementNamesDigest,
  type InTotoStatement
} from './payload.ts'
import { LegacyTagStore } from './storage/legacy-tag.ts'
import { ReferrerStore } from './storage/referrer.ts'
import {
  resolveTargets,
  signatureLocator,
  type ImageTarget,
  type SignatureRepository
} from './targets.ts'
import {
  IGNORE_TLOG_WARNING,
  rejectionReasons,
  requireSignerPolicy,
  toAppError,
  withAnyPolicy,
  type CandidateReport,
  type VerifyImagesOptions
} from './verify-image.ts'

/** Where a verified statement came from, for a predicate check. */
export interface AttestationContext {
  /** `registry/repository@sha256:…` */
  reference: string
  digest: string
  format: 'legacy' | 'bundle'
  identity?: { subject: string; issuer: string }
}

/**
 * A check of a verified statement (e.g. a Rego or CUE policy over the
 * predicate). Throwing rejects the attestation; an AppError's code is
 * reported as the reason.
 */
export type PredicateCheck = (
  statement: InTotoStatement,
  context: AttestationContext
) => void | Promise<void>

export interface VerifyAttestationsOptions extends Omit<
  VerifyImagesOptions,
  'annotations'
> {
  /** The predicate type URI required (cosign `--type`, resolved); undefined: any. */
  predicateType?: string
  checkPredicate?: PredicateCheck
}

export interface VerifiedAttestation {
  format: 'legacy' | 'bundle'
  location: string
  predicateType: string
  statement: InTotoStatement
  identity?: { subject: string; issuer: string }
  logIndex?: number
}

export interface AttestedImage {
  input: string
  reference: string
  digest: string
  platform?: string
  verified: boolean
  attestations: VerifiedAttestation[]
  candidates: CandidateReport[]
  error?: AppError
}

export interface VerifyAttestationsResult {
  ok: boolean
  images: AttestedImage[]
}

export interface VerifyAttestationsDeps {
  logger: Logger
  registryFor: (registry: string) => RegistryClient
}

function checkStatement(
  statement: InTotoStatement,
  digest: string,
  predicateType: string | undefined
): void {
  if (!statementNamesDigest(statement, digest)) {
    throw new VerificationError(
      'CLAIM_DIGEST_MISMATCH',
      `the attested statement does not name ${digest} (it names ${statement.subject
        .map(s =>
          Object.entries(s.digest)
            .map(([a, h]) => `${a}:${h}`)
            .join(',')
        )
        .join('; ')})`
    )
  }
  if (
    predicateType !== undefined &&
    statement.predicateType !== predicateType
  ) {
    throw new AttestationError(
      'PREDICATE_TYPE_MISMATCH',
      `the attestation's predicate type is ${statement.predicateType}, not ${predicateType}`
    )
  }
}

const identityOf = (
  r: VerificationResult
): { subject: string; issuer: string } | undefined =>
  r.identity
    ? { subject: r.identity.subjectAlternativeName, issuer: r.identity.issuer }
    : undefined

export async function verifyAttestations(
  options: VerifyAttestationsOptions,
  deps: VerifyAttestationsDeps
): Promise<VerifyAttestationsResult> {
  requireSignerPolicy(options.policy, options.publicKey)
  if (options.insecureIgnoreTlog) deps.logger.warn(IGNORE_TLOG_WARNING)
  const targets = await resolveTargets(
    {
      images: options.images,
      recursive: options.recursive,
      concurrency: options.concurrency,
      inputName:
        options.imagesInputName ?? options.nameInput?.('images') ?? 'images'
    },
    deps.registryFor,
    deps.logger
  )
  const locate = signatureLocator(options.signatureRepository)
  const images = await mapLimit(targets, options.concurrency, target =>
    verifyImageAttestations(target, options, deps, locate(target))
  )
  return { ok: images.every(i => i.verified), images }
}

/**
 * The attestations of one resolved image, stored in `where`: every candidate
 * verified under the options' policy (or any of `anyPolicy`), the statements
 * that passed returned. The policy layer (attestation authorities) calls it
 * per authority.
 */
export async function verifyImageAttestations(
  target: ImageTarget,
  options: VerifyAttestationsOptions,
  deps: VerifyAttestationsDeps,
  { registry, repository }: SignatureRepository
): Promise<AttestedImage> {
  for (const p of options.anyPolicy ?? [options.policy])
    requireSignerPolicy(p, options.publicKey)
  const digest = target.descriptor.digest
  const client = deps.registryFor(registry)
  const reference = `${target.ref.registry}/${target.ref.repository}@${digest}`
  const candidates: CandidateReport[] = []
  const attestations: VerifiedAttestation[] = []
  const errors: AppError[] = []
  const verifyOpts = {
    trust: options.trust,
    ...(options.publicKey ? { publicKey: options.publicKey } : {}),
    ...(options.insecureIgnoreTlog ? { tlogThreshold: 0 } : {}),
    ...(options.ctlogThreshold !== undefined
      ? { ctlogThreshold: options.ctlogThreshold }
      : {}),
    ...(options.timestampThreshold !== undefined
      ? { timestampThreshold: options.timestampThreshold }
      : {}),
    ...(options.now ? { now: options.now } : {})
  }
  const accept = async (
    c: CandidateReport,
    statement: InTotoStatement,
    r: VerificationResult
  ): Promise<void> => {
    checkStatement(statement, digest, options.predicateType)
    const identity = identityOf(r)
    await options.checkPredicate?.(statement, {
      reference,
      digest,
      format: c.format,
      ...(identity ? { identity } : {})
    })
    const idx = r.tlogEntries[0]?.logIndex
    c.ok = true
    if (identity) c.identity = identity
    if (idx !== undefined) c.logIndex = Number(idx)
    attestations.push({
      format: c.format,
      location: c.location,
      predicateType: statement.predicateType,
      statement,
      ...(identity ? { identity } : {}),
      ...(idx !== undefined ? { logIndex: Number(idx) } : {})
    })
  }
  const record = (c: CandidateReport, e?: unknown): void => {
    if (e !== undefined) {
      const err = toAppError(e)
      errors.push(err)
      c.ok = false
      c.code = err.code
      c.reason = err.message
    }
    candidates.push(c)
    deps.logger.info(
      `${reference}: ${c.format} attestation ${c.location}: ${c.ok ? `verified${c.identity ? ` (${c.identity.subject}, ${c.identity.issuer})` : ''}` : `rejected [${c.code}] ${c.reason}`}`
    )
  }

  for (const cand of await new ReferrerStore(client, deps.logger).read(
    repository,
    digest
  )) {
    // cosign's image signatures are bundle referrers too: not attestations.
    if (
      cand.descriptor.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE] ===
      COSIGN_SIGN_PREDICATE_TYPE
    )
      continue
    const c: CandidateReport = {
      format: 'bundle',
      location: `${registry}/${repository}@${cand.descriptor.digest}`,
      ok: false
    }
    if (cand.error !== undefined) {
      record(c, cand.error)
      continue
    }
    try {
      const bundle = parseBundle(cand.bundle)
      if (!bundle.dsseEnvelope) {
        throw new VerificationError(
          'BUNDLE_NOT_DSSE',
          'the bundle holds a message signature; attestations are DSSE in-toto statements'
        )
      }
      const entity = toSignedEntity(bundle)
      const r = withAnyPolicy(options, policy =>
        verifySignedEntity(entity, { ...verifyOpts, policy })
      )
      const statement = parseInTotoStatement(
        r.payload ?? fromBase64(bundle.dsseEnvelope.payload)
      )
      if (statement.predicateType === COSIGN_SIGN_PREDICATE_TYPE) continue
      await accept(c, statement, r)
      record(c)
    } catch (e) {
      record(c, e)
    }
  }

  const legacyWhere = `${registry}/${repository}:${attestationTag(digest)}`
  for (const cand of await new LegacyTagStore(client, deps.logger, {
    kind: 'attestation'
  }).read(repository, digest)) {
    const c: CandidateReport = {
      format: 'legacy',
      location: `${legacyWhere}#${cand.descriptor.digest}`,
      ok: false
    }
    if (cand.error !== undefined || !cand.payload) {
      record(
        c,
        cand.error ??
          new AppError('SIGNATURE_LAYER_INVALID', 'envelope unreadable')
      )
      continue
    }
    try {
      const envelope = cand.payload
      const r = withAnyPolicy(options, policy =>
        verifyLegacyAttestation({
          layer: cand.descriptor,
          envelope,
          ...verifyOpts,
          policy
        })
      )
      await accept(c, r.statement, r)
      record(c)
    } catch (e) {
      record(c, e)
    }
  }

  const verified = attestations.length > 0
  const base: AttestedImage = {
    input: target.input,
    reference,
    digest,
    ...(target.platform ? { platform: target.platform } : {}),
    verified,
    attestations,
    candidates
  }
  if (verified) return base
  const wanted = options.predicateType
    ? ` of predicate type ${options.predicateType}`
    : ''
  if (candidates.length === 0) {
    base.error = new NoSignaturesError(
      'NO_ATTESTATIONS_FOUND',
      `no attestations found for ${reference} (looked for bundle referrers and ${legacyWhere})`,
      {
        remedy: `Attest the image first (sigil attest), or point ${options.nameInput?.('signature-repository') ?? '"signature-repository"'} at where its attestations are stored.`
      }
    )
    return base
  }
  const reasons = rejectionReasons(errors)
  const best = reasons[0]?.error
  const n = candidates.length
  base.error = new NoMatchingSignaturesError(
    'NO_MATCHING_ATTESTATIONS',
    `none of the ${n} attestation${n === 1 ? '' : 's'} of ${reference} is valid${wanted} for the policy: ${
      reasons.length === 1
        ? (best?.message ?? 'unknown reason')
        : reasons
            .map(
              r =>
                `${r.count} attestation${r.count === 1 ? '' : 's'}: ${r.reason}`
            )
            .join('; ')
    }`,
    { cause: best, ...(best?.remedy ? { remedy: best.remedy } : {}) }
  )
  return base
}

/** The error to fail with: the first failing image's reason. */
export function attestationFailure(
  result: VerifyAttestationsResult
): AppError | undefined {
  const failed = result.images.filter(i => !i.verified)
  const first = failed[0]?.error
  if (failed.length <= 1 || !first) return first
  return new AppError(
    first.code,
    `${failed.length} of ${result.images.length} images failed attestation verification; first: ${first.message}`,
    { cause: first, ...(first.remedy ? { remedy: first.remedy } : {}) }
  )
}

/** The result as JSON-ready data (errors reduced to code and message). */
export function toAttestationResultJson(
  result: VerifyAttestationsResult
): object {
  return {
    ok: result.ok,
    images: result.images.map(({ error, ...i }) => ({
      ...i,
      ...(error ? { error: { code: error.code, message: error.message } } : {})
    }))
  }
}

/** Every verified statement, one JSON document per line. */
export function attestationLines(result: VerifyAttestationsResult): string {
  return result.images
    .flatMap(i => i.attestations.map(a => `${JSON.stringify(a.statement)}\n`))
    .join('')
}
