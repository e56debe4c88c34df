// The signing steps every use case shares (images, attestations, blobs):
// one run signer (key pair, or ONE Fulcio certificate), a Rekor entry checked
// against the trusted root before anything is published (Rekor v1: SET and
// proof; Rekor v2: proof and checkpoint), an RFC 3161 timestamp (optional
// with Rekor v1, required with Rekor v2, which vouches for no time), and the Sigstore bundle v0.3 of a DSSE envelope or of a message
// signature. Each wraps a service failure to say which step failed and that
// nothing was published.
import type { HttpClient } from '../http/index.ts'
import {
  BUNDLE_V03_MEDIA_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  RekorClient,
  RekorV2Client,
  TsaClient,
  buildDsseEntry,
  buildDsseRequestV002,
  buildHashedRekordEntry,
  buildHashedRekordRequestV002,
  verifyTlogEntry,
  type Bundle,
  type IdentityProvider,
  type RekorV2VerifierInput,
  type TransparencyLogEntry,
  type TrustMaterial
} from '../sigstore/index.ts'
import {
  AppError,
  digest,
  toBase64,
  toHex,
  utf8,
  type HashAlgorithm,
  type Logger
} from '../util/index.ts'
import { buildEnvelope, preAuthEncoding, type DsseEnvelope } from './dsse.ts'
import { SignError } from './errors.ts'
import { kmsContext } from './kms.ts'
import {
  createKeyPairSigner,
  createKeylessSigner,
  createKmsRunSigner,
  type RunSigner
} from './signer.ts'

/** Where a failed step leaves the user's artifacts, said in its message. */
export const NOTHING_PUSHED = 'nothing was pushed to the registry'
export const NOTHING_WRITTEN = 'nothing was written'

/** Wraps a service failure: which step, which service, what was left alone. */
export function step<T>(
  what: string,
  service: string,
  p: Promise<T>,
  nothing: string = NOTHING_PUSHED
): Promise<T> {
  return p.catch((e: unknown) => {
    // Errors that already say what failed (and that nothing was published),
    // and identity-token errors, which are not the service's fault, go as
    // they are.
    if (
      e instanceof AppError &&
      (e.message.includes('nothing was pushed') ||
        e.message.includes(NOTHING_WRITTEN) ||
        e.code.startsWith('IDENTITY_TOKEN'))
    )
      throw e
    throw new SignError(
      e instanceof AppError ? e.code : 'SIGN_FAILED',
      `${what} failed (${service}); ${nothing}: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        ...(e instanceof AppError && e.remedy ? { remedy: e.remedy } : {})
      }
    )
  })
}

export interface ObtainSignerOptions {
  /** A cosign key pair, or a key held in a KMS (its URI). */
  key?: { pem: string; password?: string } | { kms: string }
  /** Where KMS providers read credentials (default process.env). */
  env?: NodeJS.ProcessEnv
  fulcioUrl: string
  trust: TrustMaterial | Promise<TrustMaterial>
  http: HttpClient
  identity?: IdentityProvider
  logger: Logger
  now: () => Date
  beforeCertificate?: Promise<unknown>
  nothing?: string
}

/** The run's one signer: the key pair, or an ephemeral key and ONE certificate. */
export async function obtainSigner(o: ObtainSignerOptions): Promise<RunSigner> {
  if (o.key && 'kms' in o.key) {
    const s = await createKmsRunSigner(
      o.key.kms,
      kmsContext(o.http, o.logger, o.env)
    )
    o.logger.info(`signing with the KMS key ${o.key.kms}`)
    return s
  }
  if (o.key) {
    const s = await createKeyPairSigner(o.key.pem, o.key.password)
    o.logger.info('signing with the given key pair')
    return s
  }
  if (!o.identity)
    throw new TypeError('keyless signing needs an identity provider')
  return step(
    'getting a signing certificate',
    `Fulcio at ${o.fulcioUrl}`,
    createKeylessSigner({
      fulcioUrl: o.fulcioUrl,
      trust: o.trust,
      http: o.http,
      identity: o.identity,
      logger: o.logger,
      now: o.now,
      ...(o.beforeCertificate ? { beforeCertificate: o.beforeCertificate } : {})
    }),
    o.nothing
  )
}

/** The transparency log and timestamp authority of a run (either optional). */
export interface SigningServices {
  trust: TrustMaterial
  /** The log: a Rekor v1 or a Rekor v2 (tile) API. */
  rekor?: RekorClient | RekorV2Client
  rekorUrl: string
  tsa?: TsaClient
  timestampServerUrl?: string
  /** What a failure leaves untouched, for messages. */
  nothing: string
}

export function signingServices(o: {
  http: HttpClient
  trust: TrustMaterial
  tlogUpload: boolean
  rekorUrl: string
  /** The Rekor API major version of rekorUrl (default 1). */
  rekorApiVersion?: 1 | 2
  timestampServerUrl?: string
  nothing: string
}): SigningServices {
  const v2 = o.tlogUpload && o.rekorApiVersion === 2
  if (v2 && !o.timestampServerUrl) {
    throw new SignError(
      'SIGNING_CONFIG_NO_TIMESTAMP',
      `the Rekor v2 log ${o.rekorUrl} vouches for no signing time, so a signature logged there needs an RFC 3161 timestamp, and no timestamp authority is chosen; ${o.nothing}`,
      {
        remedy:
          'Set "timestamp-server-url" (--timestamp-server-url), use a signing config that lists a TSA, or set "rekor-url" (--rekor-url) to a Rekor v1 log.'
      }
    )
  }
  return {
    trust: o.trust,
    rekorUrl: o.rekorUrl,
    nothing: o.nothing,
    ...(o.tlogUpload
      ? {
          rekor: v2
            ? new RekorV2Client({ baseUrl: o.rekorUrl, http: o.http })
            : new RekorClient({ baseUrl: o.rekorUrl, http: o.http })
        }
      : {}),
    ...(o.timestampServerUrl
      ? {
          tsa: new TsaClient({ url: o.timestampServerUrl, http: o.http }),
          timestampServerUrl: o.timestampServerUrl
        }
      : {})
  }
}

/** The log entry of a run's signatures, in the shape the log speaks. */
export interface ProposedEntry {
  /** Rekor v1: hashedrekord / dsse 0.0.1 */
  v1: () => object
  /** Rekor v2: hashedrekord / DSSE request 0.0.2 */
  v2: () => Parameters<RekorV2Client['createEntry']>[0]
}

/** What a Rekor v2 entry names as the signer: certificate, else key. */
export function rekorV2Verifier(signer: RunSigner): RekorV2VerifierInput {
  return {
    publicKeySpki: signer.key.publicKeySpki,
    hash: signer.key.hash,
    ...(signer.certificate
      ? { certificateDer: signer.certificate.leafDer }
      : {})
  }
}

/** True when the run logs to a Rekor v2 (tile) log. */
export const logsToRekorV2 = (services: SigningServices): boolean =>
  services.rekor instanceof RekorV2Client

/** Logs `proposed` and verifies what Rekor returned before anything is published. */
export async function logEntry(
  services: SigningServices,
  proposed: ProposedEntry,
  subject: string
): Promise<TransparencyLogEntry> {
  const rekor = services.rekor
  if (!rekor) throw new TypeError('no transparency log configured')
  const entry = await step(
    `logging the signature of ${subject}`,
    `Rekor${rekor instanceof RekorV2Client ? ' v2' : ''} at ${services.rekorUrl}`,
    rekor instanceof RekorV2Client
      ? Promise.resolve().then(() => rekor.createEntry(proposed.v2()))
      : Promise.resolve().then(() => rekor.createEntry(proposed.v1())),
    services.nothing
  )
  // Verify what the log returned (SET, and the inclusion proof when present)
  // before the signature goes anywhere.
  try {
    verifyTlogEntry(entry, services.trust, { requireProof: false })
  } catch (e) {
    throw new SignError(
      'REKOR_ENTRY_UNTRUSTED',
      `the entry Rekor at ${services.rekorUrl} returned for ${subject} does not verify against the trusted root; ${services.nothing}: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        remedy:
          'When using a private Rekor, pass its trusted_root.json with the "trusted-root" input (--trusted-root).'
      }
    )
  }
  return entry
}

export async function timestamp(
  services: SigningServices,
  signature: Uint8Array,
  subject: string,
  what = 'signature'
): Promise<Uint8Array | undefined> {
  if (!services.tsa) return undefined
  return step(
    `timestamping the ${what} of ${subject}`,
    `TSA at ${services.timestampServerUrl ?? ''}`,
    services.tsa.timestamp(signature),
    services.nothing
  )
}

function verificationMaterial(
  signer: RunSigner,
  tlogEntries: TransparencyLogEntry[],
  ts: Uint8Array | undefined
): Bundle['verificationMaterial'] {
  return {
    ...(signer.certificate
      ? { certificate: { rawBytes: toBase64(signer.certificate.leafDer) } }
      : { publicKey: { hint: signer.keyHint } }),
    tlogEntries,
    ...(ts
      ? {
          timestampVerificationData: {
            rfc3161Timestamps: [{ signedTimestamp: toBase64(ts) }]
          }
        }
      : {})
  }
}

export interface SignedDsse {
  envelope: DsseEnvelope
  /** The envelope exactly as logged in Rekor (cosign's `.att` layer bytes). */
  envelopeJson: string
  signature: Uint8Array
  bundle: Bundle
  entry?: TransparencyLogEntry
  /** The RFC 3161 timestamp of the signature (the bundle's). */
  timestamp?: Uint8Array
  /** With `stampEnvelope`: the timestamp of `envelopeJson` (cosign's `.att`). */
  envelopeTimestamp?: Uint8Array
}

/**
 * Signs an in-toto statement as DSSE, logs it (dsse 0.0.1, or 0.0.2 in Rekor
 * v2), timestamps it. `stampEnvelope` also timestamps the envelope bytes, as
 * cosign does for a legacy `.att` layer (its rfc3161timestamp annotation
 * covers the layer).
 */
export async function signDsse(
  statement: Uint8Array,
  signer: RunSigner,
  services: SigningServices,
  subject: string,
  { stampEnvelope = false }: { stampEnvelope?: boolean } = {}
): Promise<SignedDsse> {
  const signature = await signer.sign(
    preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement)
  )
  const envelope = buildEnvelope(IN_TOTO_PAYLOAD_TYPE, statement, signature)
  const envelopeJson = JSON.stringify(envelope)
  const [entry, ts, envelopeTs] = await Promise.all([
    services.rekor
      ? logEntry(
          services,
          {
            v1: () =>
              buildDsseEntry({ envelopeJson, verifierPem: signer.verifierPem }),
            v2: () =>
              buildDsseRequestV002({
                envelope,
                verifier: rekorV2Verifier(signer)
              })
          },
          subject
        )
      : undefined,
    timestamp(services, signature, subject),
    stampEnvelope
      ? timestamp(services, utf8(envelopeJson), subject, 'DSSE envelope')
      : undefined
  ])
  return {
    envelope,
    envelopeJson,
    signature,
    bundle: {
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial: verificationMaterial(
        signer,
        entry ? [entry] : [],
        ts
      ),
      dsseEnvelope: envelope
    },
    ...(entry ? { entry } : {}),
    ...(ts ? { timestamp: ts } : {}),
    ...(envelopeTs ? { envelopeTimestamp: envelopeTs } : {})
  }
}

export interface SignedMessage {
  signature: Uint8Array
  bundle: Bundle
  entry?: TransparencyLogEntry
  timestamp?: Uint8Array
}

const BUNDLE_HASH: Record<HashAlgorithm, string> = {
  sha256: 'SHA2_256',
  sha384: 'SHA2_384',
  sha512: 'SHA2_512'
}

/** Signs bytes (ECDSA over SHA-256), logs a hashedrekord, timestamps it. */
export async function signMessage(
  bytes: Uint8Array,
  signer: RunSigner,
  services: SigningServices,
  subject: string
): Promise<SignedMessage> {
  const signature = await signer.sign(bytes)
  const hash = signer.key.hash
  const d = digest(hash, bytes)
  const [entry, ts] = await Promise.all([
    services.rekor
      ? logEntry(
          services,
          {
            v1: () =>
              buildHashedRekordEntry({
                digest: { algorithm: hash, hex: toHex(d) },
                signature,
                verifierPem: signer.verifierPem
              }),
            v2: () =>
              buildHashedRekordRequestV002({
                digest: d,
                signature,
                verifier: rekorV2Verifier(signer)
              })
          },
          subject
        )
      : undefined,
    timestamp(services, signature, subject)
  ])
  return {
    signature,
    bundle: {
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial: verificationMaterial(
        signer,
        entry ? [entry] : [],
        ts
      ),
      messageSignature: {
        messageDigest: {
          algorithm: BUNDLE_HASH[hash],
          digest: toBase64(d)
        },
        signature: toBase64(signature)
      }
    },
    ...(entry ? { entry } : {}),
    ...(ts ? { timestamp: ts } : {})
  }
}
