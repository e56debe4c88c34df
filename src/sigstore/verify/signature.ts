// The signature itself: DSSE PAE or a message signature over the artifact,
// checked with node:crypto, plus the artifact binding (message digest, or
// the in-toto statement's subject for DSSE).
// Knows nothing about where the key came from; the verifier decides that.
// Spec: shared/docs/cosign-spec.md §1.4, §2.2, §8.3 step 6; DSSE protocol.md.

import { verify as cryptoVerify, type KeyObject } from 'node:crypto'
import { toHex, type HashAlgorithm } from '../../util/index.ts'
import { IN_TOTO_PAYLOAD_TYPE } from '../bundle/index.ts'
import { VerificationError } from './errors.ts'
import { verifyDigestSignature } from '../../crypto/index.ts'
import { hashBytes, type SignatureContent } from './signed-entity.ts'

/** DSSE v1 pre-authentication encoding. */
export function preAuthEncoding(
  payloadType: string,
  payload: Uint8Array
): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8')
  const head = Buffer.from(
    `DSSEv1 ${type.length} ${payloadType} ${payload.length} `,
    'utf8'
  )
  return Buffer.concat([head, payload])
}

/** The hash a key signs with when nothing else says (null = pure EdDSA). */
export function defaultHashForKey(key: KeyObject): HashAlgorithm | null {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
    case 'ed448':
      return null
    case 'ec':
      switch (key.asymmetricKeyDetails?.namedCurve) {
        case 'secp384r1':
          return 'sha384'
        case 'secp521r1':
          return 'sha512'
        default:
          return 'sha256'
      }
    default:
      return 'sha256'
  }
}

function verifyRaw(
  hash: HashAlgorithm | null,
  data: Uint8Array,
  key: KeyObject,
  sig: Uint8Array
): boolean {
  try {
    return cryptoVerify(
      key.asymmetricKeyType === 'ed25519' ? null : hash,
      data,
      key,
      sig
    )
  } catch {
    return false
  }
}

/**
 * Verifies the content's signature with `key` and the artifact binding.
 * Returns the signed payload (DSSE payload, or the message when known).
 */
export function verifyContentSignature(
  content: SignatureContent,
  key: KeyObject
): Uint8Array | undefined {
  if (content.type === 'dsse') {
    const pae = preAuthEncoding(content.payloadType, content.payload)
    if (!verifyRaw(defaultHashForKey(key), pae, key, content.signature)) {
      throw new VerificationError(
        'SIGNATURE_INVALID',
        'the DSSE envelope signature does not verify with the signing key'
      )
    }
    if (content.artifactDigest)
      checkStatementSubject(
        content.payloadType,
        content.payload,
        content.artifactDigest
      )
    return content.payload
  }

  const declared = content.declaredDigest
  if (content.artifact) {
    if (declared) {
      const actual = hashBytes(declared.algorithm, content.artifact)
      if (!Buffer.from(actual).equals(declared.value)) {
        throw new VerificationError(
          'ARTIFACT_DIGEST_MISMATCH',
          `the artifact's ${declared.algorithm} digest is ${toHex(actual)}, the bundle signs ${toHex(declared.value)}`
        )
      }
    }
    const hash = content.signatureHash ?? defaultHashForKey(key)
    if (!verifyRaw(hash, content.artifact, key, content.signature)) {
      throw new VerificationError(
        'SIGNATURE_INVALID',
        'the signature over the artifact does not verify with the signing key'
      )
    }
    return content.artifact
  }
  if (content.artifactDigest && declared) {
    const a = content.artifactDigest
    if (
      a.algorithm !== declared.algorithm ||
      !Buffer.from(a.value).equals(declared.value)
    ) {
      throw new VerificationError(
        'ARTIFACT_DIGEST_MISMATCH',
        `the artifact digest ${a.algorithm}:${toHex(a.value)} is not the one the bundle signs (${declared.algorithm}:${toHex(declared.value)})`
      )
    }
  }
  // Only the artifact's digest is known: verify over the declared digest once
  // it is bound to the artifact the caller named. Without that binding the
  // bundle would be vouching for itself: fail closed.
  if (content.artifactDigest && declared) {
    if (
      !verifyDigestSignature(
        key,
        declared.value,
        content.signature,
        declared.algorithm
      )
    ) {
      throw new VerificationError(
        'SIGNATURE_INVALID',
        'the signature over the artifact digest does not verify with the signing key'
      )
    }
    return undefined
  }
  throw new VerificationError(
    'ARTIFACT_REQUIRED',
    'verifying a message signature needs the artifact bytes or its digest'
  )
}

/** The in-toto statement in a DSSE payload must name the artifact digest. */
export function checkStatementSubject(
  payloadType: string,
  payload: Uint8Array,
  digest: { algorithm: HashAlgorithm; value: Uint8Array }
): void {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError(
      'DSSE_PAYLOAD_TYPE_INVALID',
      `the DSSE payload type is ${JSON.stringify(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE} to bind an artifact`
    )
  }
  let statement: unknown
  try {
    statement = JSON.parse(Buffer.from(payload).toString('utf8'))
  } catch {
    throw new VerificationError(
      'ARTIFACT_DIGEST_MISMATCH',
      'the DSSE payload is not JSON'
    )
  }
  const want = toHex(digest.value)
  const subjects =
    typeof statement === 'object' && statement !== null
      ? (statement as { subject?: unknown }).subject
      : undefined
  const named =
    Array.isArray(subjects) &&
    subjects.some(s => {
      const d = (s as { digest?: Record<string, unknown> } | null)?.digest
      const v = d?.[digest.algorithm]
      return typeof v === 'string' && v.toLowerCase() === want
    })
  if (!named) {
    throw new VerificationError(
      'ARTIFACT_DIGEST_MISMATCH',
      `the in-toto statement does not name ${digest.algorithm}:${want} among its subjects`
    )
  }
}
