// The verification use case: for each image digest, find every signature in
// both places cosign stores them (bundle referrers and the legacy `.sig`
// tag), verify each candidate against the trusted root and the policy with
// the pure verifier, and report why each one was accepted or rejected. A
// legacy signature without its Rekor bundle annotation is looked up in Rekor
// by content first (as cosign does), unless `offline`.
import type { HttpClient } from '../http/index.ts'
import type { RegistryClient } from '../oci/index.ts'
import {
  PolicyError,
  RekorClient,
  VerificationError,
  buildHashedRekordEntry,
  parseBundle,
  toSignedEntity,
  verifySignedEntity,
  type TrustMaterial,
  type VerificationPolicy
} from '../sigstore/index.ts'
import {
  AppError,
  InputError,
  fromBase64,
  mapLimit,
  sha256Hex,
  type Logger
} from '../util/index.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_SIGNATURE
} from './constants.ts'
import { DEFAULT_REKOR_URL } from './defaults.ts'
import { NoMatchingSignaturesError, NoSignaturesError } from './errors.ts'
import { publicKeyOfKms } from './kms.ts'
import { verifyLegacySignature } from './legacy-signature.ts'
import {
  parseInTotoStatement,
  parseSimpleSigningPayload,
  statementNamesDigest
} from './payload.ts'
import { LegacyTagStore } from './storage/legacy-tag.ts'
import { ReferrerStore } from './storage/referrer.ts'
import {
  resolveTargets,
  signatureLocator,
  type ImageTarget,
  type SignatureRepository
} from './targets.ts'

export interface VerifyImagesOptions {
  images: readonly string[]
  recursive: boolean
  concurrency: number
  trust: TrustMaterial
  /** Identity policy; required unless `publicKey` is given. */
  policy: VerificationPolicy
  /** Key-based verification: a PEM public key (cosign.pub). */
  publicKey?: string
  /** Key-based verification with the public key of a KMS key (its URI). */
  kmsKey?: string
  /** cosign `-a key=value`: must be present in the signed payload. */
  annotations: Record<string, string>
  /** `registry/repository` where signatures live (COSIGN_REPOSITORY). */
  signatureRepository?: string
  /** Key mode only: accept signatures that were never logged in Rekor. */
  insecureIgnoreTlog?: boolean
  /** Never ask Rekor (cosign --offline): a legacy signature must carry its
   * Rekor bundle annotation. */
  offline?: boolean
  /** The Rekor v1 log looked up for legacy signatures without a Rekor
   * bundle (cosign --rekor-url; default public good). */
  rekorUrl?: string
  /**
   * Identity policies of which any one suffices (a ClusterImagePolicy's
   * `identities`); when given, `policy` is not used.
   */
  anyPolicy?: readonly VerificationPolicy[]
  /** Where to look: both by default; one when a policy names its format. */
  formats?: readonly ('legacy' | 'bundle')[]
  /** Verified SCTs required (0: a policy's insecureIgnoreSCT). */
  ctlogThreshold?: number
  /** Verified RFC 3161 timestamps required (a policy's rfc3161timestamp). */
  timestampThreshold?: number
  now?: Date
  imagesInputName?: string
  /** How messages name an input (the adapter's interface: flag, input, variable). */
  nameInput?: (input: string) => string
}

export interface VerifyImagesDeps {
  logger: Logger
  registryFor: (registry: string) => RegistryClient
  /** Needed with `kmsKey`: the KMS is asked for the public key. */
  http?: HttpClient
  /** Where KMS providers read credentials (default process.env). */
  env?: NodeJS.ProcessEnv
}

export interface CandidateReport {
  format: 'legacy' | 'bundle'
  /** Where it was found: `repo:sha256-….sig#<layer digest>` or `repo@<referrer>` */
  location: string
  ok: boolean
  code?: string
  reason?: string
  identity?: { subject: string; issuer: string }
  logIndex?: number
  /** The signed claims, cosign-style (simple-signing payload shape). */
  claims?: unknown
}

export interface VerifiedImage {
  input: string
  reference: string
  digest: string
  platform?: string
  verified: boolean
  candidates: CandidateReport[]
  /** Why the image failed (the most specific reason). */
  error?: AppError
}

export interface VerifyResult {
  ok: boolean
  images: VerifiedImage[]
}

// Most specific first: a policy mismatch tells the user more than "bad SET".
function specificity(e: AppError): number {
  // A statement that passed every check but the predicate policy.
  if (e.code.startsWith('PREDICATE_POLICY_')) return 4
  if (e instanceof PolicyError) return 3
  if (
    e.code === 'CLAIM_DIGEST_MISMATCH' ||
    e.code === 'CLAIM_ANNOTATION_MISMATCH'
  )
    return 2
  if (e instanceof VerificationError) return 1
  return 0
}

interface RejectionReason {
  reason: string
  count: number
  /** The first error with this reason. */
  error: AppError
}

/**
 * The rejections grouped by reason (the message without the log index that
 * tells signatures apart), most specific first, then most frequent: a
 * summary names every reason, not only the first signature's.
 */
export function rejectionReasons(
  errors: readonly AppError[]
): RejectionReason[] {
  const byReason = new Map<string, RejectionReason>()
  for (const error of errors) {
    const reason = error.message.replace(/ \(log index \d+\)/, '')
    const key = `${error.code}\n${reason}`
    const r = byReason.get(key)
    if (r) r.count++
    else byReason.set(key, { reason, count: 1, error })
  }
  return [...byReason.values()].sort(
    (a, b) => specificity(b.error) - specificity(a.error) || b.count - a.count
  )
}

export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e
  return new AppError(
    'VERIFY_FAILED',
    e instanceof Error ? e.message : String(e),
    { cause: e }
  )
}

/**
 * The use cases' own contract, whatever adapter calls them: keyless
 * verification needs an identity and an issuer in the policy; only a public
 * key replaces them. An empty policy would accept any signer.
 */
export function requireSignerPolicy(
  policy: VerificationPolicy | undefined,
  publicKey: string | undefined
): void {
  if (publicKey) return
  if (policy?.identity && policy.issuer) return
  throw new InputError(
    'INPUT_POLICY_REQUIRED',
    `verification needs an identity policy (identity and issuer) or a public key; this one has ${!policy?.identity && !policy?.issuer ? 'neither identity nor issuer' : !policy?.identity ? 'no identity' : 'no issuer'}, and there is no "any signer" default`,
    {
      remedy:
        'Pass certificate-identity (or -regexp) and certificate-oidc-issuer (or -regexp), or a key.'
    }
  )
}

/** Said once per run when the transparency log requirement is off. */
export const IGNORE_TLOG_WARNING =
  'insecure-ignore-tlog is set: a signature without a transparency log entry is accepted on the key alone. ' +
  'Such a signature is not in a public log (nobody can audit that it was made) and nothing proves when it was made; ' +
  'a log entry that is present is still verified.'

export async function verifyImages(
  rawOptions: VerifyImagesOptions,
  deps: VerifyImagesDeps
): Promise<VerifyResult> {
  const { logger } = deps
  const options = rawOptions.kmsKey
    ? {
        ...rawOptions,
        publicKey: await publicKeyOfKms(rawOptions.kmsKey, deps)
      }
    : rawOptions
  requireSignerPolicy(options.policy, options.publicKey)
  if (options.insecureIgnoreTlog) logger.warn(IGNORE_TLOG_WARNING)
  const targets = await resolveTargets(
    {
      images: options.images,
      recursive: options.recursive,
      concurrency: options.concurrency,
      inputName:
        options.imagesInputName ?? options.nameInput?.('images') ?? 'images'
    },
    deps.registryFor,
    logger
  )
  const locate = signatureLocator(options.signatureRepository)
  const images = await mapLimit(targets, options.concurrency, target =>
    verifyTarget(target, options, deps, locate(target))
  )
  return { ok: images.every(i => i.verified), images }
}

/**
 * One image's signatures, looked for and verified as `options` says (no
 * signer-policy precondition: callers that build per-authority options
 * check their own).
 */
export async function verifyImageTarget(
  target: ImageTarget,
  options: VerifyImagesOptions,
  deps: VerifyImagesDeps,
  where: SignatureRepository
): Promise<VerifiedImage> {
  return verifyTarget(target, options, deps, where)
}

/**
 * Runs `verify` with each identity policy until one accepts; when none does,
 * the error that says most (a signature or log failure, which no identity
 * would fix, before an identity mismatch).
 */
/** Verifies under each policy of `anyPolicy` (or the one policy) until one passes. */
export function withAnyPolicy<T>(
  options: Pick<VerifyImagesOptions, 'policy' | 'anyPolicy'>,
  verify: (policy: VerificationPolicy) => T
): T {
  const policies = options.anyPolicy ?? [options.policy]
  const errors: unknown[] = []
  for (const policy of policies) {
    try {
      return verify(policy)
    } catch (e) {
      errors.push(e)
    }
  }
  throw errors.find(e => !(e instanceof PolicyError)) ?? errors[0]
}

async function verifyTarget(
  target: ImageTarget,
  options: VerifyImagesOptions,
  deps: VerifyImagesDeps,
  { registry, repository }: SignatureRepository
): Promise<VerifiedImage> {
  const digest = target.descriptor.digest
  const client = deps.registryFor(registry)
  const reference = `${target.ref.registry}/${target.ref.repository}@${digest}`
  const candidates: CandidateReport[] = []
  const errors: AppError[] = []
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
      `${reference}: ${c.format} signature ${c.location}: ${c.ok ? `verified${c.identity ? ` (${c.identity.subject}, ${c.identity.issuer})` : ''}` : `rejected [${c.code}] ${c.reason}`}`
    )
  }

  const formats = options.formats ?? ['bundle', 'legacy']
  for (const cand of formats.includes('bundle')
    ? await new ReferrerStore(client, deps.logger).read(repository, digest)
    : []) {
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
      Object.assign(c, verifyBundleCandidate(cand.bundle, target, options))
      c.ok = true
      record(c)
    } catch (e) {
      record(c, e)
    }
  }

  const legacyWhere = `${registry}/${repository}:${digest.replace(':', '-')}.sig`
  for (const cand of formats.includes('legacy')
    ? await new LegacyTagStore(client, deps.logger).read(repository, digest)
    : []) {
    const c: CandidateReport = {
      format: 'legacy',
      location: `${legacyWhere}#${cand.descriptor.digest}`,
      ok: false
    }
    if (cand.error !== undefined || !cand.payload) {
      record(
        c,
        cand.error ??
          new AppError('SIGNATURE_LAYER_INVALID', 'payload unreadable')
      )
      continue
    }
    try {
      const payload = cand.payload
      const lookup = await lookUpLegacyEntry(
        cand.descriptor.annotations ?? {},
        payload,
        options,
        deps
      )
      const r = withAnyPolicy(options, policy =>
        verifyLegacySignature({
          layer: cand.descriptor,
          payload,
          expectedDigest: digest,
          ...lookup,
          trust: options.trust,
          policy,
          ...(options.publicKey ? { publicKey: options.publicKey } : {}),
          annotations: options.annotations,
          ...(options.insecureIgnoreTlog ? { tlogThreshold: 0 } : {}),
          ...(options.ctlogThreshold !== undefined
            ? { ctlogThreshold: options.ctlogThreshold }
            : {}),
          ...(options.timestampThreshold !== undefined
            ? { timestampThreshold: options.timestampThreshold }
            : {}),
          ...(options.now ? { now: options.now } : {})
        })
      )
      c.ok = true
      if (r.identity) {
        c.identity = {
          subject: r.identity.subjectAlternativeName,
          issuer: r.identity.issuer
        }
      }
      const idx = r.tlogEntries[0]?.logIndex
      if (idx !== undefined) c.logIndex = Number(idx)
      c.claims = parseSimpleSigningPayload(cand.payload)
      record(c)
    } catch (e) {
      record(c, e)
    }
  }

  const verified = candidates.some(c => c.ok)
  const base: VerifiedImage = {
    input: target.input,
    reference,
    digest,
    ...(target.platform ? { platform: target.platform } : {}),
    verified,
    candidates
  }
  if (verified) return base
  if (candidates.length === 0) {
    base.error = new NoSignaturesError(
      'NO_SIGNATURES_FOUND',
      `no signatures found for ${reference} (looked for bundle referrers and ${legacyWhere})`,
      {
        remedy: `Sign the image first, or point ${options.nameInput?.('signature-repository') ?? '"signature-repository"'} at where its signatures are stored.`
      }
    )
    return base
  }
  const reasons = rejectionReasons(errors)
  const best = reasons[0]?.error
  const n = candidates.length
  base.error = new NoMatchingSignaturesError(
    'NO_MATCHING_SIGNATURES',
    `none of the ${n} signature${n === 1 ? '' : 's'} of ${reference} is valid for the policy: ${
      reasons.length === 1
        ? (best?.message ?? 'unknown reason')
        : reasons
            .map(
              r =>
                `${r.count} signature${r.count === 1 ? '' : 's'}: ${r.reason}`
            )
            .join('; ')
    }`,
    { cause: best, ...(best?.remedy ? { remedy: best.remedy } : {}) }
  )
  return base
}

/**
 * cosign's online lookup for a `.sig` layer without the Rekor bundle
 * annotation (sigstore/cosign pkg/cosign/tlog.go FindTlogEntry): the
 * hashedrekord entry its signature, verifier and payload hash make, searched
 * in Rekor by content; the earliest logged one is verified like a bundle's
 * (SET and inclusion proof). Nothing to do when the layer has its bundle,
 * the log is not required, or no verifier is known (that fails anyway).
 */
async function lookUpLegacyEntry(
  a: Record<string, string>,
  payload: Uint8Array,
  options: VerifyImagesOptions,
  deps: VerifyImagesDeps
): Promise<
  Pick<
    Parameters<typeof verifyLegacySignature>[0],
    'loggedEntries' | 'noLookup'
  >
> {
  if (a[ANNOTATION_BUNDLE] !== undefined || options.insecureIgnoreTlog)
    return {}
  const name = options.nameInput ?? ((i: string) => `"${i}"`)
  if (options.offline) {
    return {
      noLookup: {
        why: `online lookup is off (${name('offline')}), so Rekor was not asked`,
        remedy: `Unset ${name('offline')} so Sigil looks the signature up in Rekor by its content, as cosign does; or sign again with a current cosign or Sigil, which store the Rekor bundle in the signature.`
      }
    }
  }
  const signature = a[ANNOTATION_SIGNATURE]
  const verifierPem = a[ANNOTATION_CERTIFICATE] || options.publicKey
  if (!signature || !verifierPem || !deps.http) return {}
  const rekorUrl = options.rekorUrl ?? DEFAULT_REKOR_URL
  let proposed
  try {
    proposed = buildHashedRekordEntry({
      payloadSha256Hex: sha256Hex(payload),
      signature: fromBase64(signature),
      verifierPem
    })
  } catch {
    return {} // a malformed layer: the verifier says what is wrong
  }
  deps.logger.debug(
    `no ${ANNOTATION_BUNDLE} annotation: looking the signature up in Rekor at ${rekorUrl}`
  )
  const found = await new RekorClient({
    baseUrl: rekorUrl,
    http: deps.http,
    logger: deps.logger
  }).findEntries(proposed)
  if (found.length === 0) {
    return {
      noLookup: {
        why: `Rekor at ${rekorUrl} has no entry for this signature (looked up by its content)`,
        remedy: `If the signature was logged in another Rekor, set ${name('rekor-url')} to it; else it was never logged: sign again with the log on.`
      }
    }
  }
  const time = (e: (typeof found)[number]): number =>
    Number(e.entry.integratedTime ?? Infinity)
  const earliest = found.reduce((a, b) => (time(b) < time(a) ? b : a))
  return { loggedEntries: [earliest.entry] }
}

/**
 * One bundle referrer of an image: a DSSE in-toto statement whose signature
 * verifies and whose subject names exactly this digest (and the required
 * annotations). Pure over data; exported for its tests.
 */
export function verifyBundleCandidate(
  json: unknown,
  target: Pick<ImageTarget, 'descriptor' | 'repository'>,
  options: Pick<
    VerifyImagesOptions,
    | 'trust'
    | 'policy'
    | 'publicKey'
    | 'annotations'
    | 'anyPolicy'
    | 'insecureIgnoreTlog'
    | 'ctlogThreshold'
    | 'timestampThreshold'
    | 'now'
  >
): Partial<CandidateReport> {
  const digest = target.descriptor.digest
  const bundle = parseBundle(json)
  if (!bundle.dsseEnvelope) {
    throw new VerificationError(
      'BUNDLE_NOT_DSSE',
      'the bundle holds a message signature; image signatures are DSSE in-toto statements'
    )
  }
  const entity = toSignedEntity(bundle)
  const result = withAnyPolicy(options, policy =>
    verifySignedEntity(entity, {
      trust: options.trust,
      policy,
      ...(options.publicKey ? { publicKey: options.publicKey } : {}),
      ...(options.insecureIgnoreTlog ? { tlogThreshold: 0 } : {}),
      ...(options.ctlogThreshold !== undefined
        ? { ctlogThreshold: options.ctlogThreshold }
        : {}),
      ...(options.timestampThreshold !== undefined
        ? { timestampThreshold: options.timestampThreshold }
        : {}),
      ...(options.now ? { now: options.now } : {})
    })
  )
  const statement = parseInTotoStatement(
    result.payload ?? fromBase64(bundle.dsseEnvelope.payload)
  )
  if (!statementNamesDigest(statement, digest)) {
    throw new VerificationError(
      'CLAIM_DIGEST_MISMATCH',
      `the signed statement does not name ${digest} (it names ${statement.subject
        .map(s =>
          Object.entries(s.digest)
            .map(([a, h]) => `${a}:${h}`)
            .join(',')
        )
        .join('; ')})`
    )
  }
  const subject = statement.subject.find(
    s => s.digest.sha256 === digest.replace(/^sha256:/, '')
  )
  for (const [k, v] of Object.entries(options.annotations)) {
    const got = subject?.annotations?.[k]
    if (got !== v) {
      throw new VerificationError(
        'CLAIM_ANNOTATION_MISMATCH',
        `annotation ${k}: expected ${JSON.stringify(v)}, the signature has ${got === undefined ? 'none' : JSON.stringify(got)}`
      )
    }
  }
  const idx = result.tlogEntries[0]?.logIndex
  return {
    ...(result.identity
      ? {
          identity: {
            subject: result.identity.subjectAlternativeName,
            issuer: result.identity.issuer
          }
        }
      : {}),
    ...(idx !== undefined ? { logIndex: Number(idx) } : {}),
    // cosign's synthesized output element for bundle-verified images
    claims: {
      critical: {
        identity: { 'docker-reference': target.repository },
        image: { 'docker-manifest-digest': digest },
        type: statement.predicateType
      },
      optional: subject?.annotations ?? {}
    }
  }
}

/** The error to fail with: the first failing image's most specific reason. */
export function verificationFailure(
  result: VerifyResult
): AppError | undefined {
  const failed = result.images.filter(i => !i.verified)
  if (failed.length === 0) return undefined
  const first = failed[0]?.error
  if (failed.length === 1 || !first) return first
  return new AppError(
    first.code,
    `${failed.length} of ${result.images.length} images failed verification; first: ${first.message}`,
    { cause: first, ...(first.remedy ? { remedy: first.remedy } : {}) }
  )
}

/** The result as JSON-ready data (errors reduced to code and message). */
export function toVerifyResultJson(result: VerifyResult): object {
  return {
    ok: result.ok,
    images: result.images.map(({ error, ...image }) => ({
      ...image,
      ...(error ? { error: { code: error.code, message: error.message } } : {})
    }))
  }
}
