// Verifying a Sigstore bundle over a blob (a file's bytes or a given digest),
// as `cosign verify-blob --bundle` and the sigstore-conformance client do.
// Pure: the adapter reads the files.
import {
  parseBundle,
  toSignedEntity,
  verifySignedEntity,
  VerificationError,
  type TrustMaterial,
  type VerificationPolicy,
  type VerificationResult
} from '../sigstore/index.ts'
import { fromBase64, fromHex, sha256Hex } from '../util/index.ts'
import { loadDigestVerifier } from '../crypto/index.ts'
import { AttestationError } from './errors.ts'
import { parseInTotoStatement, type InTotoStatement } from './payload.ts'
import { requireSignerPolicy } from './verify-image.ts'

export type BlobArtifact =
  | { bytes: Uint8Array }
  | { digest: { algorithm: 'sha256' | 'sha384' | 'sha512'; hex: string } }

export interface VerifyBlobOptions {
  bundle: unknown
  artifact: BlobArtifact
  trust: TrustMaterial
  policy: VerificationPolicy
  publicKey?: string
  now?: Date
}

/** `sha256:<hex>` (or sha384/sha512) → a digest artifact; else undefined. */
export function parseDigestArgument(s: string): BlobArtifact | undefined {
  const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(s)
  if (!m) return undefined
  const alg = m[1] as 'sha256' | 'sha384' | 'sha512'
  const len = { sha256: 64, sha384: 96, sha512: 128 }[alg]
  if (m[2]?.length !== len) return undefined
  return { digest: { algorithm: alg, hex: m[2] } }
}

export async function verifyBlob(
  o: VerifyBlobOptions
): Promise<VerificationResult> {
  requireSignerPolicy(o.policy, o.publicKey)
  if ('digest' in o.artifact) await loadDigestVerifier()
  const bundle = parseBundle(o.bundle)
  const artifactForEntity =
    'bytes' in o.artifact
      ? { bytes: o.artifact.bytes }
      : {
          digest: {
            algorithm: o.artifact.digest.algorithm,
            value: fromHex(o.artifact.digest.hex)
          }
        }
  const entity = toSignedEntity(
    bundle,
    bundle.dsseEnvelope ? undefined : artifactForEntity
  )
  const result = verifySignedEntity(entity, {
    trust: o.trust,
    policy: o.policy,
    ...(o.publicKey ? { publicKey: o.publicKey } : {}),
    ...(o.now ? { now: o.now } : {})
  })
  if (bundle.dsseEnvelope) {
    // For DSSE the artifact is bound through the in-toto statement's subjects.
    const statement = parseInTotoStatement(
      result.payload ?? fromBase64(bundle.dsseEnvelope.payload)
    )
    const want =
      'bytes' in o.artifact
        ? { alg: 'sha256', hex: sha256Hex(o.artifact.bytes) }
        : { alg: o.artifact.digest.algorithm, hex: o.artifact.digest.hex }
    const named = statement.subject.some(
      s => s.digest[want.alg]?.toLowerCase() === want.hex
    )
    if (!named) {
      throw new VerificationError(
        'ARTIFACT_DIGEST_MISMATCH',
        `the signed statement does not name the artifact (${want.alg}:${want.hex})`
      )
    }
  }
  return result
}

/**
 * A verified blob as JSON-ready data, shaped like one signature of
 * `verify --output json` (identity, log index) plus what only a bundle over
 * a blob has: every log entry and verified timestamp.
 */
export function toVerifyBlobResultJson(
  r: VerificationResult,
  subject: string
): object {
  const idx = r.tlogEntries[0]?.logIndex
  return {
    ok: true,
    artifact: subject,
    ...(r.identity
      ? {
          identity: {
            subject: r.identity.subjectAlternativeName,
            issuer: r.identity.issuer
          }
        }
      : {}),
    ...(idx !== undefined ? { logIndex: Number(idx) } : {}),
    tlogEntries: r.tlogEntries.map(e => ({
      logIndex: Number(e.logIndex),
      baseUrl: e.baseUrl,
      kind: `${e.kind}/${e.version}`,
      ...(e.integratedTime
        ? { integratedTime: e.integratedTime.toISOString() }
        : {})
    })),
    timestamps: r.timestamps.map(t => ({
      source: t.source,
      time: t.time.toISOString()
    }))
  }
}

export interface VerifyBlobAttestationOptions extends VerifyBlobOptions {
  /** The predicate type URI required (cosign `--type`, resolved); undefined: any. */
  predicateType?: string
  /** A check of the verified statement (a policy file); throwing rejects it. */
  checkPredicate?: (statement: InTotoStatement) => void | Promise<void>
}

/**
 * `verify-blob-attestation`: a DSSE bundle whose in-toto statement names the
 * artifact (a file's sha256, or the digest given) and has the predicate type
 * asked for. Returns the verified statement.
 */
export async function verifyBlobAttestation(
  o: VerifyBlobAttestationOptions
): Promise<{ result: VerificationResult; statement: InTotoStatement }> {
  const bundle = parseBundle(o.bundle)
  if (!bundle.dsseEnvelope) {
    throw new VerificationError(
      'BUNDLE_NOT_DSSE',
      'the bundle holds a message signature, not an attestation (a DSSE in-toto statement); verify it with verify-blob'
    )
  }
  const result = await verifyBlob(o)
  const statement = parseInTotoStatement(
    result.payload ?? fromBase64(bundle.dsseEnvelope.payload)
  )
  if (
    o.predicateType !== undefined &&
    statement.predicateType !== o.predicateType
  ) {
    throw new AttestationError(
      'PREDICATE_TYPE_MISMATCH',
      `the attestation's predicate type is ${statement.predicateType}, not ${o.predicateType}`
    )
  }
  await o.checkPredicate?.(statement)
  return { result, statement }
}
