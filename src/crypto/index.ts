// Public surface of the crypto layer: signing keys (ephemeral and imported),
// cosign key files, and signature verification. The only importer of @noble/*.

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
