// Public surface of the cosign layer: the two use cases, their options and
// results, and the composition helpers the adapters use.
export * from './constants.ts'
export * from './defaults.ts'
export * from './errors.ts'
export * from './payload.ts'
export { parseList, parseReferences } from './targets.ts'
export {
  signImages,
  signingFailure,
  type SignImagesOptions,
  type SignImagesDeps,
  type SignResult,
  type SignedImage,
  type SignatureFormat,
  type SignatureLocation
} from './sign-image.ts'
export { kmsContext, createKmsKey, fetchKmsPublicKey, isKmsUri } from './kms.ts'
export {
  publicKeyOfKms,
  verifyImages,
  verificationFailure,
  toVerifyResultJson,
  type VerifyImagesOptions,
  type VerifyImagesDeps,
  type VerifyResult,
  type VerifiedImage,
  type CandidateReport
} from './verify-image.ts'
export {
  createRuntime,
  loadTrustMaterial,
  prepareRun,
  type RunInputs,
  type Runtime,
  type RuntimeOptions
} from './runtime.ts'
export * from './inputs.ts'
export * from './exit-codes.ts'
export * from './verify-blob.ts'
export * from './input-docs.generated.ts'
