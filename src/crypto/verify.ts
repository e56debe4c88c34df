// Signature verification and public-key helpers over node:crypto. Accepts
// high-S ECDSA signatures (other signers produce them; cosign accepts them),
// RSA PKCS#1 v1.5 and Ed25519. Knows nothing of certificates' meaning or trust:
// that is sigstore/x509 and sigstore/verify. Spec: cosign-spec.md §11.

import {
  createPublicKey,
  constants,
  publicDecrypt,
  verify as nodeVerify,
  X509Certificate,
  type KeyObject
} from 'node:crypto'
import type * as Nist from '@noble/curves/nist.js'
import type { HashAlgorithm } from '../util/index.ts'
import { KeyError } from './errors.ts'

export type PublicKeyInput = Uint8Array | string | KeyObject

/** Any public key form → KeyObject. Uint8Array = DER SPKI, string = PEM. */
export function toPublicKeyObject(key: PublicKeyInput): KeyObject {
  if (typeof key === 'object' && !(key instanceof Uint8Array)) {
    if (key.type === 'public') return key
    if (key.type === 'private') return createPublicKey(key)
    throw new KeyError('KEY_INVALID', 'Expected a public key')
  }
  try {
    return typeof key === 'string'
      ? createPublicKey({ key, format: 'pem' })
      : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' })
  } catch (e) {
    throw new KeyError('KEY_INVALID', 'The public key could not be parsed', {
      cause: e
    })
  }
}

/** PEM `PUBLIC KEY` → DER SPKI. */
export function publicKeyFromPem(pem: string): Uint8Array {
  return spkiOf(toPublicKeyObject(pem))
}

/** DER SPKI of a certificate's subject key. */
export function spkiFromCertificate(der: Uint8Array): Uint8Array {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(der)
  } catch (e) {
    throw new KeyError('KEY_INVALID', 'The certificate could not be parsed', {
      cause: e
    })
  }
  return spkiOf(cert.publicKey)
}

function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }))
}

/**
 * True when `signature` (DER for ECDSA) is valid over `data` with `hash`
 * (ignored for Ed25519). Malformed signatures are simply invalid; a malformed
 * key is a KeyError.
 */
export function verifySignature(
  publicKey: PublicKeyInput,
  data: Uint8Array,
  signature: Uint8Array,
  hash: HashAlgorithm = 'sha256'
): boolean {
  const key = toPublicKeyObject(publicKey)
  const algorithm =
    key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448'
      ? null
      : hash
  try {
    return nodeVerify(algorithm, data, key, signature)
  } catch {
    return false
  }
}

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1) for RSA PKCS#1 v1.5.
const DIGEST_INFO_PREFIX: Record<HashAlgorithm, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440'
}

/**
 * True when `signature` is valid over a precomputed `digest` (what a bundle's
 * messageDigest carries when only the artifact's digest is known). node:crypto
 * always hashes the input, so ECDSA goes through noble with prehash off and
 * RSA PKCS#1 v1.5 recovers and compares the DigestInfo. Ed25519 signs the
 * message itself, so a digest alone cannot be checked: false.
 */
let nist: typeof Nist | undefined

/**
 * Loads noble's NIST curves for `verifyDigestSignature`. Kept out of start-up
 * (initialising the curves costs ~15 ms) since only digest-only message
 * signatures need it; callers await this first.
 */
export async function loadDigestVerifier(): Promise<void> {
  nist ??= await import('@noble/curves/nist.js')
}

export function verifyDigestSignature(
  publicKey: PublicKeyInput,
  digest: Uint8Array,
  signature: Uint8Array,
  hash: HashAlgorithm
): boolean {
  const key = toPublicKeyObject(publicKey)
  if (key.asymmetricKeyType === 'ec' && !nist) {
    throw new Error('loadDigestVerifier() must be awaited first')
  }
  try {
    if (key.asymmetricKeyType === 'ec' && nist) {
      const curve = {
        prime256v1: nist.p256,
        secp384r1: nist.p384,
        secp521r1: nist.p521
      }[key.asymmetricKeyDetails?.namedCurve ?? '']
      if (!curve) return false
      const jwk = key.export({ format: 'jwk' })
      const point = Buffer.concat([
        Buffer.from([4]),
        Buffer.from(jwk.x ?? '', 'base64url'),
        Buffer.from(jwk.y ?? '', 'base64url')
      ])
      return curve.verify(signature, digest, point, {
        prehash: false,
        format: 'der',
        lowS: false
      })
    }
    if (key.asymmetricKeyType === 'rsa') {
      const recovered = publicDecrypt(
        { key, padding: constants.RSA_PKCS1_PADDING },
        signature
      )
      const expected = Buffer.concat([
        Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'),
        digest
      ])
      return recovered.equals(expected)
    }
    return false
  } catch {
    return false
  }
}
