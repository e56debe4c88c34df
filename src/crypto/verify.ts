// Signature verification and public-key helpers over node:crypto. Accepts
// high-S ECDSA signatures (other signers produce them; cosign accepts them),
// RSA PKCS#1 v1.5 and Ed25519. Knows nothing of certificates' meaning or trust:
// that is sigstore/x509 and sigstore/verify. Spec: cosign-spec.md §11.

import {
  createPublicKey,
  verify as nodeVerify,
  X509Certificate,
  type KeyObject
} from 'node:crypto'
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
