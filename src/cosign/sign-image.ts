// The signing use case, platform-free: resolve the images, get one signing
// identity, sign and log every digest, then write every signature. All
// Sigstore work happens before any manifest or tag is written, so a Fulcio,
// Rekor or TSA failure leaves every tag as it was (legacy payload blobs,
// content-addressed and referenced by nothing yet, upload early).
import type { HttpClient } from '../http/index.ts'
import { eventLoopStalls, type RegistryClient } from '../oci/index.ts'
import {
  buildHashedRekordEntry,
  buildHashedRekordRequestV002,
  toRekorV1Bundle,
  toSignedEntity,
  verifySignedEntity,
  type Bundle,
  type IdentityProvider,
  type TrustMaterial
} from '../sigstore/index.ts'
import {
  AppError,
  mapLimit,
  ociDigest,
  sha256,
  sha256Hex,
  toBase64,
  utf8,
  type Logger
} from '../util/index.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_RFC3161_TIMESTAMP,
  ANNOTATION_SIGNATURE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE
} from './constants.ts'
import { DEFAULT_REKOR_URL, DEFAULT_RETRY_BUDGET_MS } from './defaults.ts'
import type { ChosenServices } from './services.ts'
import { SignError } from './errors.ts'
import { buildStatement } from './attestation.ts'
import {
  attestationAnnotations,
  verifyLegacyAttestation
} from './legacy-attestation.ts'
import {
  NOTHING_PUSHED,
  logEntry,
  logsToRekorV2,
  obtainSigner,
  rekorV2Verifier,
  signDsse,
  signingServices,
  timestamp,
  type SigningServices
} from './signing.ts'
import { exitCodeFor } from './exit-codes.ts'
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  buildSignStatement,
  buildSimpleSigningPayload
} from './payload.ts'
import type { KeylessIdentity, RunSigner } from './signer.ts'
import { verifyLegacySignature } from './legacy-signature.ts'
import { LegacyTagStore } from './storage/legacy-tag.ts'
import { ReferrerStore } from './storage/referrer.ts'
import {
  parseReferences,
  checkPushAccess,
  resolveTargets,
  signatureLocator,
  type ImageTarget
} from './targets.ts'

export type SignatureFormat = 'legacy' | 'bundle' | 'both'

export interface SignImagesOptions {
  images: readonly string[]
  format: SignatureFormat
  recursive: boolean
  /** cosign `-a key=value`: the payload's `optional` / statement annotations. */
  annotations: Record<string, string>
  /** `registry/repository` to store signatures in (COSIGN_REPOSITORY). */
  signatureRepository?: string
  /** New `.sig` manifests with Docker media types (COSIGN_DOCKER_MEDIA_TYPES). */
  dockerMediaTypes?: boolean
  /** Upload to Rekor (cosign `--tlog-upload`, default true). */
  tlogUpload: boolean
  /** Key-pair mode: a cosign.key / PKCS#8 / SEC1 PEM and its password, or
   * a key held in a KMS (cosign's hashivault:// / awskms:// URIs). */
  key?: { pem: string; password?: string } | { kms: string }
  fulcioUrl: string
  rekorUrl: string
  /** Rekor API of rekorUrl (default 1; 2 from a signing config). */
  rekorApiVersion?: 1 | 2
  timestampServerUrl?: string
  /** The services chosen from the signing config (runtime.ts), awaited
   * once the references parse; they replace fulcioUrl, rekorUrl and
   * timestampServerUrl. */
  services?: Promise<ChosenServices | undefined>
  /** A promise is awaited only once Fulcio has answered (load it meanwhile). */
  trust: TrustMaterial | Promise<TrustMaterial>
  concurrency: number
  /** How long one write may take to be confirmed (default 120 s; the same
   * retry budget as every request). */
  retryBudgetMs?: number
  /** Input name for error messages. */
  imagesInputName?: string
  /**
   * `attest`: sign this predicate in an in-toto statement (cosign's v0.1,
   * subject = the repository and digest) instead of the image signature;
   * legacy writes `sha256-<hex>.att`, bundle a referrer with this predicate
   * type. One DSSE signature and Rekor entry serve both formats.
   */
  attestation?: { predicateType: string; predicate: unknown }
}

type ResolvedOptions = Omit<SignImagesOptions, 'trust'> & {
  trust: TrustMaterial
}

export interface SignImagesDeps {
  http: HttpClient
  logger: Logger
  registryFor: (registry: string) => RegistryClient
  /** Required for keyless signing. */
  identity?: IdentityProvider
  now?: () => Date
  /** Where KMS providers read credentials (default process.env). */
  env?: NodeJS.ProcessEnv
}

export interface SignatureLocation {
  format: 'legacy' | 'bundle'
  /** `registry/repo:sha256-<hex>.sig` or `registry/repo@<referrer digest>` */
  location: string
  logIndex?: number
  /** Legacy only: an identical signature was already stored. */
  duplicate?: boolean
  /** Bundle only: how the referrer was registered. */
  via?: 'api' | 'tag'
}

export interface SignedImage {
  input: string
  /** `registry/repository@sha256:…` */
  reference: string
  digest: string
  /** Absent when the image was not fetched (a digest signed as named). */
  mediaType?: string
  platform?: string
  /** signed: every signature below is confirmed in the registry. failed:
   * `error` says why; `signatures` lists those confirmed before it failed. */
  status: 'signed' | 'failed'
  signatures: SignatureLocation[]
  error?: { code: string; message: string; remedy?: string }
}

export interface SignResult {
  keyless: boolean
  identity?: KeylessIdentity
  images: SignedImage[]
  /** attest: the bundle of each attested (and written) image digest. */
  attestations?: { digest: string; bundle: Bundle }[]
}

/** The error a run with failed images ends with (undefined: all signed):
 * how many were signed, and each failure with its code. */
export function signingFailure(result: SignResult): SignError | undefined {
  const failed = result.images.filter(i => i.status === 'failed')
  if (failed.length === 0) return undefined
  const signed = result.images.length - failed.length
  const codes = [...new Set(failed.map(i => i.error?.code ?? 'SIGN_FAILED'))]
  const lines = failed.map(
    i =>
      `  ${i.reference}: [${i.error?.code ?? 'SIGN_FAILED'}] ${i.error?.message ?? 'failed'}`
  )
  const remedies = [
    ...new Set(failed.map(i => i.error?.remedy).filter(r => r !== undefined))
  ]
  // One code when they share one (or at least its exit code).
  const sameExit = codes.every(c => exitCodeFor(c) === exitCodeFor(codes[0]))
  return new SignError(
    sameExit ? codes[0]! : 'SIGN_INCOMPLETE',
    `${failed.length} of ${result.images.length} image${result.images.length === 1 ? '' : 's'} could not be signed${signed > 0 ? ` (${signed} signed and confirmed in the registry)` : ''}:\n${lines.join('\n')}`,
    remedies.length > 0 ? { remedy: remedies.join('\n') } : {}
  )
}

interface PreparedSignature {
  /** attest: the bundle of the DSSE signature, whatever the format. */
  attestationBundle?: Bundle
  format: 'legacy' | 'bundle'
  logIndex?: number
  legacy?: { payload: Uint8Array; annotations: Record<string, string> }
  bundle?: Bundle
}

interface Prepared {
  target: ImageTarget
  signatures: PreparedSignature[]
}

export async function signImages(
  rawOptions: SignImagesOptions,
  deps: SignImagesDeps
): Promise<SignResult> {
  // Work started in the background (blob uploads) is awaited before this
  // returns or throws: nothing runs after the result is reported.
  const background = new Set<Promise<unknown>>()
  const inBackground = (p: Promise<unknown>): void => {
    const settled = p.then(
      () => undefined,
      () => undefined
    )
    background.add(settled)
    void settled.then(() => background.delete(settled))
  }
  try {
    return await signImagesNow(rawOptions, deps, inBackground)
  } finally {
    while (background.size > 0) await Promise.all([...background])
  }
}

async function signImagesNow(
  given: SignImagesOptions,
  deps: SignImagesDeps,
  inBackground: (p: Promise<unknown>) => void
): Promise<SignResult> {
  let rawOptions = given
  // How starved this machine is decides how long writes are watched
  // (src/oci/tag-merge.ts): measure from the start of the run.
  eventLoopStalls()
  const trustReady = Promise.resolve(rawOptions.trust)
  // Awaited later (after Fulcio answers, or after resolution with a key).
  trustReady.catch(() => {})

  const now = deps.now ?? ((): Date => new Date())
  const { logger } = deps
  const budgetMs = rawOptions.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS
  const locate = signatureLocator(rawOptions.signatureRepository)
  const legacyStore = (client: RegistryClient): LegacyTagStore =>
    new LegacyTagStore(client, logger, {
      dockerMediaTypes: rawOptions.dockerMediaTypes
    })
  const sigLocation = (
    t: ImageTarget
  ): { client: RegistryClient; repository: string } => {
    const { registry, repository } = locate(t)
    return { client: deps.registryFor(registry), repository }
  }
  const stageLegacyBlobs = (targets: ImageTarget[]): Promise<unknown> =>
    mapLimit(targets, rawOptions.concurrency, t => {
      const { client, repository } = sigLocation(t)
      const payload = buildSimpleSigningPayload(
        t.repository,
        t.descriptor.digest,
        rawOptions.annotations
      )
      return legacyStore(client).stage(repository, payload)
    })

  // 1. What to sign, and 2. one signing identity for the whole run, in
  // parallel: references are parsed first (a typo fails before any network
  // call); the certificate request overlaps the registry round trips.
  const inputName = rawOptions.imagesInputName ?? 'images'
  // Push permission on every signature repository is settled before the
  // certificate request (keyless) and before any Rekor entry (both modes).
  const pushAllowed = checkPushAccess(
    parseReferences(rawOptions.images, inputName),
    rawOptions.signatureRepository,
    deps.registryFor,
    rawOptions.concurrency
  )
  pushAllowed.catch(() => {})
  // The signing config (TUF or a file) names Fulcio, Rekor and the TSA.
  const chosen = await given.services
  if (chosen) rawOptions = { ...rawOptions, ...chosen }
  const getSigner = (): Promise<RunSigner> =>
    obtainSigner({
      ...(rawOptions.key ? { key: rawOptions.key } : {}),
      fulcioUrl: rawOptions.fulcioUrl,
      trust: trustReady,
      http: deps.http,
      ...(deps.identity ? { identity: deps.identity } : {}),
      ...(deps.env ? { env: deps.env } : {}),
      logger,
      now,
      beforeCertificate: pushAllowed
    })
  const [targets, signer] = await logger.group(
    'Resolving images and getting the signing identity',
    () =>
      // The certificate request goes out first: Fulcio's work overlaps
      // everything after it.
      Promise.all([
        getSigner(),
        resolveTargets(
          {
            images: rawOptions.images,
            recursive: rawOptions.recursive,
            concurrency: rawOptions.concurrency,
            inputName,
            // Like cosign, a digest is signed as named (legacy signatures
            // need nothing from its manifest); bundles need its descriptor.
            fetchDigests: rawOptions.format !== 'legacy'
          },
          deps.registryFor,
          logger
        ).then(targets => {
          // The legacy payloads are known now: their blobs upload while the
          // certificate is issued (no manifest or tag is written until every
          // signature is logged and verified).
          if (rawOptions.format !== 'bundle' && !rawOptions.attestation)
            inBackground(stageLegacyBlobs(targets))
          return targets
        }),
        pushAllowed
      ]).then(([signer, targets]) => [targets, signer] as const)
  )
  const options: ResolvedOptions = { ...rawOptions, trust: await trustReady }
  // A reference already by digest resolves to itself: nothing to say.
  for (const t of targets)
    if (!t.input.endsWith(`@${t.descriptor.digest}`))
      logger.info(`${t.input} → ${t.repository}@${t.descriptor.digest}`)
  if (options.dockerMediaTypes && options.format !== 'bundle') {
    logger.warn(
      'COSIGN_DOCKER_MEDIA_TYPES is set: new .sig manifests get Docker media types, which podman, skopeo and CRI-O (containers/image) do not read. Unset it unless the registry refuses OCI manifests.'
    )
  }

  if (
    options.tlogUpload &&
    options.rekorUrl === DEFAULT_REKOR_URL &&
    (signer.visibility === 'private' || signer.visibility === 'internal')
  ) {
    logger.warn(
      `this ${signer.visibility} repository's name, workflow and commit are recorded in the certificate, which the public Rekor log publishes. Use a private Sigstore instance (rekor-url, fulcio-url, trusted-root) if that must stay private.`
    )
  }

  // 3. Sign and log every digest (no registry writes yet).
  const services = signingServices({
    http: deps.http,
    trust: options.trust,
    tlogUpload: options.tlogUpload,
    rekorUrl: options.rekorUrl,
    ...(options.rekorApiVersion
      ? { rekorApiVersion: options.rekorApiVersion }
      : {}),
    ...(options.timestampServerUrl
      ? { timestampServerUrl: options.timestampServerUrl }
      : {}),
    nothing: NOTHING_PUSHED
  })
  // Rekor v2 gives no signed entry timestamp, which cosign's legacy .sig and
  // .att need (dev.sigstore.cosign/bundle): "both" writes the bundle alone.
  // (Format "legacy" alone never gets here with v2: services.ts refuses.)
  const writeLegacy =
    options.format === 'legacy' ||
    (options.format === 'both' && !logsToRekorV2(services))
  if (options.format === 'legacy' && logsToRekorV2(services)) {
    throw new SignError(
      'LEGACY_FORMAT_NEEDS_REKOR_V1',
      `format "legacy" writes cosign .sig signatures, whose dev.sigstore.cosign/bundle annotation needs a signed entry timestamp, which the Rekor v2 log ${options.rekorUrl} does not give; ${NOTHING_PUSHED}`,
      {
        remedy:
          'Choose format "bundle" or "both" (--format), or set "rekor-url" (--rekor-url) to a Rekor v1 log (public good: https://rekor.sigstore.dev).'
      }
    )
  }
  if (options.format === 'both' && !writeLegacy) {
    logger.warn(
      `format "both": only the Sigstore bundle is written; the legacy ${options.attestation ? '.att' : '.sig'} tag is not, since it needs a signed entry timestamp and the Rekor v2 log ${options.rekorUrl} gives none (the bundle carries the inclusion proof and an RFC 3161 timestamp). cosign 2.x+ and @sigstore/verify read the bundle.`
    )
  }
  const prepared = await logger.group('Signing and logging', () =>
    mapLimit(targets, options.concurrency, async target => {
      // Legacy and bundle signatures of one digest are logged in parallel.
      const signatures: PreparedSignature[] = options.attestation
        ? await prepareAttestation(
            target,
            signer,
            options,
            services,
            writeLegacy
          )
        : await Promise.all([
            ...(writeLegacy
              ? [prepareLegacy(target, signer, options, services)]
              : []),
            ...(options.format !== 'legacy'
              ? [prepareBundle(target, signer, options, services)]
              : [])
          ])
      for (const s of signatures) {
        selfCheck(target, s, signer, options)
        if (s.logIndex !== undefined) {
          logger.info(
            `${target.descriptor.digest}: ${s.format} signature logged at index ${s.logIndex}`
          )
        }
      }
      return { target, signatures } satisfies Prepared
    })
  )

  // 4. Write, and confirm: each image succeeds or fails on its own, and is
  // reported as signed only once its signatures are confirmed in the tag.
  const images = await logger.group('Writing signatures', () =>
    mapLimit(prepared, options.concurrency, async ({ target, signatures }) => {
      const { client, repository } = sigLocation(target)
      const deadline = Date.now() + budgetMs
      const locations: SignatureLocation[] = []
      const image = {
        input: target.input,
        reference: `${target.ref.registry}/${target.ref.repository}@${target.descriptor.digest}`,
        digest: target.descriptor.digest,
        ...(target.descriptor.mediaType
          ? { mediaType: target.descriptor.mediaType }
          : {}),
        ...(target.platform ? { platform: target.platform } : {})
      }
      try {
        for (const s of signatures) {
          if (s.legacy) {
            const store = options.attestation
              ? new LegacyTagStore(client, logger, {
                  dockerMediaTypes: options.dockerMediaTypes,
                  kind: 'attestation'
                })
              : legacyStore(client)
            const r = await store.write(
              repository,
              target.descriptor.digest,
              s.legacy,
              signer.key.publicKeySpki,
              { deadline, logger }
            )
            locations.push({
              format: 'legacy',
              location: r.tag,
              duplicate: r.duplicate,
              ...(s.logIndex !== undefined ? { logIndex: s.logIndex } : {})
            })
            logger.info(
              `${target.descriptor.digest}: ${r.duplicate ? 'already signed in' : `${options.attestation ? 'attestation' : 'signature'} written to`} ${r.tag} (confirmed)`
            )
          }
          if (s.bundle) {
            const r = await new ReferrerStore(client, logger).write(
              repository,
              target.descriptor,
              s.bundle,
              options.attestation?.predicateType ?? COSIGN_SIGN_PREDICATE_TYPE,
              now(),
              { deadline, logger }
            )
            locations.push({
              format: 'bundle',
              location: r.location,
              via: r.via,
              ...(s.logIndex !== undefined ? { logIndex: s.logIndex } : {})
            })
            logger.info(
              `${target.descriptor.digest}: bundle referrer written to ${r.location} (confirmed)`
            )
          }
        }
        return {
          ...image,
          status: 'signed',
          signatures: locations
        } satisfies SignedImage
      } catch (e) {
        if (!(e instanceof AppError)) throw e
        logger.warn(`${image.reference}: ${e.message}`)
        return {
          ...image,
          status: 'failed',
          signatures: locations,
          error: {
            code: e.code,
            message: e.message,
            ...(e.remedy ? { remedy: e.remedy } : {})
          }
        } satisfies SignedImage
      }
    })
  )
  // attest: each written image's attestation as a Sigstore bundle (the one
  // DSSE signature behind its .att layer and/or referrer), e.g. for
  // GitHub's attestations store.
  const attestations = options.attestation
    ? prepared.flatMap(({ target, signatures }) => {
        const written = images.some(
          i => i.digest === target.descriptor.digest && i.status === 'signed'
        )
        const bundle = signatures.find(
          s => s.attestationBundle
        )?.attestationBundle
        return written && bundle
          ? [{ digest: target.descriptor.digest, bundle }]
          : []
      })
    : undefined
  return {
    keyless: !options.key,
    ...(signer.identity ? { identity: signer.identity } : {}),
    images,
    ...(attestations ? { attestations } : {})
  }
}

/**
 * Verifies what we are about to push with the same verifier `verify` uses:
 * the log entry matches the signature, key and payload, the chain and SCT are
 * trusted, timestamps verify. A signature that would not verify is never
 * written.
 */
function selfCheck(
  target: ImageTarget,
  s: PreparedSignature,
  signer: RunSigner,
  options: ResolvedOptions
): void {
  const keyless = signer.identity !== undefined
  const policy = keyless
    ? {
        identity: { exact: signer.identity?.subject ?? '' },
        issuer: { exact: signer.identity?.issuer ?? '' }
      }
    : {}
  const common = {
    trust: options.trust,
    ...(keyless ? {} : { publicKey: signer.key.publicKeyPem }),
    tlogThreshold: options.tlogUpload ? 1 : 0
  }
  try {
    if (s.legacy && options.attestation) {
      verifyLegacyAttestation({
        layer: {
          mediaType: DSSE_ENVELOPE_MEDIA_TYPE,
          digest: ociDigest(s.legacy.payload),
          size: s.legacy.payload.length,
          annotations: s.legacy.annotations
        },
        envelope: s.legacy.payload,
        policy,
        ...common
      })
    } else if (s.legacy) {
      verifyLegacySignature({
        layer: {
          mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
          digest: ociDigest(s.legacy.payload),
          size: s.legacy.payload.length,
          annotations: s.legacy.annotations
        },
        payload: s.legacy.payload,
        expectedDigest: target.descriptor.digest,
        policy,
        annotations: options.annotations,
        ...common
      })
    }
    if (s.bundle)
      verifySignedEntity(toSignedEntity(s.bundle), { policy, ...common })
  } catch (e) {
    throw new SignError(
      'SIGNATURE_SELF_CHECK_FAILED',
      `the ${s.format} ${options.attestation ? 'attestation' : 'signature'} of ${target.descriptor.digest} does not verify against the trusted root, so it was not pushed (nothing was pushed): ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        remedy:
          'When using a private Sigstore instance, pass its trusted_root.json with the "trusted-root" input (--trusted-root).'
      }
    )
  }
}

async function prepareLegacy(
  target: ImageTarget,
  signer: RunSigner,
  options: ResolvedOptions,
  services: SigningServices
): Promise<PreparedSignature> {
  const digest = target.descriptor.digest
  const payload = buildSimpleSigningPayload(
    target.repository,
    digest,
    options.annotations
  )
  const signature = await signer.sign(payload)
  const annotations: Record<string, string> = {
    [ANNOTATION_SIGNATURE]: toBase64(signature)
  }
  if (signer.certificate) {
    annotations[ANNOTATION_CERTIFICATE] = signer.certificate.leafPem
    annotations[ANNOTATION_CHAIN] = signer.certificate.chainPem
  }
  const [entry, ts] = await Promise.all([
    services.rekor
      ? logEntry(
          services,
          {
            v1: () =>
              buildHashedRekordEntry({
                payloadSha256Hex: sha256Hex(payload),
                signature,
                verifierPem: signer.verifierPem
              }),
            v2: () =>
              buildHashedRekordRequestV002({
                digest: sha256(payload),
                signature,
                verifier: rekorV2Verifier(signer)
              })
          },
          digest
        )
      : undefined,
    timestamp(services, signature, digest)
  ])
  if (entry)
    annotations[ANNOTATION_BUNDLE] = JSON.stringify(toRekorV1Bundle(entry))
  if (ts) {
    annotations[ANNOTATION_RFC3161_TIMESTAMP] = JSON.stringify({
      SignedRFC3161Timestamp: toBase64(ts)
    })
  }
  return {
    format: 'legacy',
    legacy: { payload, annotations },
    ...(entry ? { logIndex: Number(entry.logIndex) } : {})
  }
}

async function prepareBundle(
  target: ImageTarget,
  signer: RunSigner,
  options: ResolvedOptions,
  services: SigningServices
): Promise<PreparedSignature> {
  const digest = target.descriptor.digest
  const statement = buildSignStatement(digest, options.annotations)
  const signed = await signDsse(statement, signer, services, digest)
  return {
    format: 'bundle',
    bundle: signed.bundle,
    ...(signed.entry ? { logIndex: Number(signed.entry.logIndex) } : {})
  }
}

/**
 * `attest`: cosign's statement over the image, signed once as DSSE and
 * logged once; the same envelope is the `.att` layer (byte-identical to what
 * Rekor hashed, as cosign's legacy verification demands) and the bundle's.
 * The RFC 3161 timestamp, when asked for, covers the signature in the
 * bundle, and the envelope bytes on the `.att` layer (cosign stamps a legacy
 * attestation's layer, not its signature): two timestamps, asked in parallel.
 */
async function prepareAttestation(
  target: ImageTarget,
  signer: RunSigner,
  options: ResolvedOptions,
  services: SigningServices,
  writeLegacy: boolean
): Promise<PreparedSignature[]> {
  const attestation = options.attestation
  if (!attestation) throw new TypeError('no attestation to prepare')
  const digest = target.descriptor.digest
  const statement = buildStatement(
    'v0.1',
    [
      {
        name: target.repository,
        digest: { sha256: digest.replace(/^sha256:/, '') }
      }
    ],
    attestation.predicateType,
    attestation.predicate
  )
  const signed = await signDsse(statement, signer, services, digest, {
    stampEnvelope: options.format !== 'bundle'
  })
  const logIndex = signed.entry ? Number(signed.entry.logIndex) : undefined
  const out: PreparedSignature[] = []
  if (writeLegacy) {
    out.push({
      attestationBundle: signed.bundle,
      format: 'legacy',
      legacy: {
        payload: utf8(signed.envelopeJson),
        annotations: attestationAnnotations(
          attestation.predicateType,
          signer,
          signed.entry,
          signed.envelopeTimestamp
        )
      },
      ...(logIndex !== undefined ? { logIndex } : {})
    })
  }
  if (options.format !== 'legacy') {
    out.push({
      attestationBundle: signed.bundle,
      format: 'bundle',
      bundle: signed.bundle,
      ...(logIndex !== undefined ? { logIndex } : {})
    })
  }
  return out
}
