// Signing files (`sign-blob`) and attesting them (`attest-blob`), platform-
// free: the adapter reads the files and writes what this returns. One signer
// per run (one Fulcio certificate whatever the number of files); every bundle
// is verified with our verifier before it is returned, so nothing that would
// not verify is ever written.
import type { HttpClient } from '../http/index.ts'
import {
  toSignedEntity,
  verifySignedEntity,
  type Bundle,
  type IdentityProvider,
  type TrustMaterial
} from '../sigstore/index.ts'
import { mapLimit, sha256Hex, toBase64, type Logger } from '../util/index.ts'
import { buildStatement, type StatementSubject } from './attestation.ts'
import { SignError } from './errors.ts'
import { parseInTotoStatement } from './payload.ts'
import {
  NOTHING_WRITTEN,
  obtainSigner,
  signDsse,
  signMessage,
  signingServices
} from './signing.ts'
import type { KeylessIdentity, RunSigner } from './signer.ts'

export interface BlobInput {
  /** The file name as given (the statement subject's name: its base name). */
  name: string
  bytes: Uint8Array
}

export interface SignBlobsOptions {
  blobs: readonly BlobInput[]
  /** attest-blob: one statement whose subjects are all the blobs. */
  attestation?: { predicateType: string; predicate: unknown }
  /** A finished in-toto statement to sign as DSSE as it is (the
   * conformance client's --in-toto); `blobs` is then unused. */
  statement?: Uint8Array
  tlogUpload: boolean
  /** A cosign key pair, or a key held in a KMS (its URI). */
  key?: { pem: string; password?: string } | { kms: string }
  fulcioUrl: string
  rekorUrl: string
  /** Rekor API of rekorUrl (default 1; 2 from a signing config). */
  rekorApiVersion?: 1 | 2
  timestampServerUrl?: string
  trust: TrustMaterial | Promise<TrustMaterial>
  concurrency: number
}

export interface SignBlobsDeps {
  http: HttpClient
  logger: Logger
  identity?: IdentityProvider
  now?: () => Date
  /** Where KMS providers read credentials (default process.env). */
  env?: NodeJS.ProcessEnv
}

export interface SignedBlob {
  name: string
  /** `sha256:<hex>` of the file. */
  digest: string
  bundle: Bundle
  /** base64 signature (cosign --output-signature). */
  signature: string
  logIndex?: number
}

export interface SignBlobsResult {
  keyless: boolean
  identity?: KeylessIdentity
  /** PEM leaf certificate (keyless; cosign --output-certificate). */
  certificatePem?: string
  /** PEM public key (key pair). */
  publicKeyPem?: string
  /** sign-blob: one per file. */
  blobs: SignedBlob[]
  /** attest-blob: the one attestation over every file. */
  attestation?: {
    subjects: StatementSubject[]
    predicateType: string
    bundle: Bundle
    signature: string
    logIndex?: number
  }
}

function selfCheck(
  bundle: Bundle,
  artifact: Uint8Array | undefined,
  signer: RunSigner,
  trust: TrustMaterial,
  tlog: boolean,
  what: string
): void {
  try {
    verifySignedEntity(
      toSignedEntity(bundle, artifact ? { bytes: artifact } : undefined),
      {
        trust,
        policy: signer.identity
          ? {
              identity: { exact: signer.identity.subject },
              issuer: { exact: signer.identity.issuer }
            }
          : {},
        ...(signer.identity ? {} : { publicKey: signer.key.publicKeyPem }),
        tlogThreshold: tlog ? 1 : 0
      }
    )
  } catch (e) {
    throw new SignError(
      'SIGNATURE_SELF_CHECK_FAILED',
      `the bundle of ${what} does not verify against the trusted root, so it was not written (${NOTHING_WRITTEN}): ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        remedy:
          'When using a private Sigstore instance, pass its trusted_root.json with the "trusted-root" input (--trusted-root).'
      }
    )
  }
}

const baseName = (name: string): string =>
  name.replace(/\\/g, '/').split('/').pop() ?? name

export async function signBlobs(
  options: SignBlobsOptions,
  deps: SignBlobsDeps
): Promise<SignBlobsResult> {
  if (options.blobs.length === 0 && !options.statement)
    throw new TypeError('signBlobs needs at least one blob')
  const now = deps.now ?? ((): Date => new Date())
  const trustReady = Promise.resolve(options.trust)
  trustReady.catch(() => {})
  const signer = await obtainSigner({
    ...(options.key ? { key: options.key } : {}),
    fulcioUrl: options.fulcioUrl,
    trust: trustReady,
    http: deps.http,
    ...(deps.identity ? { identity: deps.identity } : {}),
    ...(deps.env ? { env: deps.env } : {}),
    logger: deps.logger,
    now,
    nothing: NOTHING_WRITTEN
  })
  const trust = await trustReady
  const services = signingServices({
    http: deps.http,
    trust,
    tlogUpload: options.tlogUpload,
    rekorUrl: options.rekorUrl,
    ...(options.rekorApiVersion
      ? { rekorApiVersion: options.rekorApiVersion }
      : {}),
    ...(options.timestampServerUrl
      ? { timestampServerUrl: options.timestampServerUrl }
      : {}),
    nothing: NOTHING_WRITTEN
  })
  const result: SignBlobsResult = {
    keyless: !options.key,
    ...(signer.identity ? { identity: signer.identity } : {}),
    ...(signer.certificate
      ? { certificatePem: signer.certificate.leafPem }
      : { publicKeyPem: signer.key.publicKeyPem }),
    blobs: []
  }

  if (options.statement) {
    const parsed = parseInTotoStatement(options.statement)
    const signed = await signDsse(
      options.statement,
      signer,
      services,
      'the statement'
    )
    selfCheck(
      signed.bundle,
      undefined,
      signer,
      trust,
      !!services.rekor,
      'the statement'
    )
    result.attestation = {
      subjects: parsed.subject.map(x => ({
        name: x.name ?? '',
        digest: x.digest
      })),
      predicateType: parsed.predicateType,
      bundle: signed.bundle,
      signature: toBase64(signed.signature),
      ...(signed.entry ? { logIndex: Number(signed.entry.logIndex) } : {})
    }
    return result
  }
  if (options.attestation) {
    const subjects = options.blobs.map(b => ({
      name: baseName(b.name),
      digest: { sha256: sha256Hex(b.bytes) }
    }))
    const statement = buildStatement(
      'v1',
      subjects,
      options.attestation.predicateType,
      options.attestation.predicate
    )
    const what =
      options.blobs.length === 1
        ? (options.blobs[0]?.name ?? '')
        : `${options.blobs.length} files`
    const signed = await signDsse(statement, signer, services, what)
    selfCheck(signed.bundle, undefined, signer, trust, !!services.rekor, what)
    const logIndex = signed.entry ? Number(signed.entry.logIndex) : undefined
    if (logIndex !== undefined)
      deps.logger.info(`attestation of ${what} logged at index ${logIndex}`)
    result.attestation = {
      subjects,
      predicateType: options.attestation.predicateType,
      bundle: signed.bundle,
      signature: toBase64(signed.signature),
      ...(logIndex !== undefined ? { logIndex } : {})
    }
    return result
  }

  result.blobs = await mapLimit(options.blobs, options.concurrency, async b => {
    const signed = await signMessage(b.bytes, signer, services, b.name)
    selfCheck(signed.bundle, b.bytes, signer, trust, !!services.rekor, b.name)
    const logIndex = signed.entry ? Number(signed.entry.logIndex) : undefined
    if (logIndex !== undefined)
      deps.logger.info(`${b.name}: signature logged at index ${logIndex}`)
    return {
      name: b.name,
      digest: `sha256:${sha256Hex(b.bytes)}`,
      bundle: signed.bundle,
      signature: toBase64(signed.signature),
      ...(logIndex !== undefined ? { logIndex } : {})
    }
  })
  return result
}
