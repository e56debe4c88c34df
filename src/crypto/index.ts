// Public surface of the crypto layer: signing keys (ephemeral and imported),
// cosign key files, and signature verification. The only importer of @noble/*.
import type { GeneratedKeyPair } from './cosign-key.ts'
import type { SigningKey } from './keys.ts'

export { KeyError, type KeyErrorCode } from './errors.ts'
export {
  generateEphemeralKey,
  signingKeyFromKeyObject,
  signingKeyFromPkcs8,
  type SigningAlgorithm,
  type SigningKey
} from './keys.ts'
export {
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
  decryptCosignKey,
  encryptCosignKey,
  generateKeyPair,
  parsePrivateKey,
  type GeneratedKeyPair
} from './cosign-key.ts'
export {
  publicKeyFromPem,
  spkiFromCertificate,
  toPublicKeyObject,
  verifySignature,
  verifyDigestSignature,
  loadDigestVerifier,
  type PublicKeyInput
} from './verify.ts'

/**
 * parsePrivateKey for the front doors: the cosign.key cipher (scrypt +
 * secretbox from @noble/ciphers) is bundled into its own chunk and loaded
 * only when a key file is used, not on keyless runs.
 */
export async function loadPrivateKey(
  pem: string,
  password?: string
): Promise<SigningKey> {
  const { parsePrivateKey: parse } = await import('./cosign-key.ts')
  return parse(pem, password)
}

/** generateKeyPair for the front doors, loaded like loadPrivateKey. */
export async function createKeyPair(
  password: string
): Promise<GeneratedKeyPair> {
  const { generateKeyPair: generate } = await import('./cosign-key.ts')
  return generate(password)
}
