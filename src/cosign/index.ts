// Public surface of the cosign layer: the two use cases, their options and
// results, and the composition helpers the adapters use.
export * from './constants.ts'
export * from './defaults.ts'
export * from './errors.ts'
export * from './payload.ts'
export {
  parseList,
  parseReferences,
  resolveTargets,
  signatureLocator,
  type ImageTarget,
  type SignatureRepository
} from './targets.ts'
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
export {
  kmsContext,
  createKmsKey,
  fetchKmsPublicKey,
  isKmsUri,
  publicKeyOfKms
} from './kms.ts'
export {
  verifyImages,
  verifyImageTarget,
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
export {
  chooseServices,
  readSigningConfigFile,
  SUPPORTED_API_VERSIONS,
  type ChosenServices
} from './services.ts'
export {
  resolveTrust,
  tufCacheRoot,
  TrustUnavailableError,
  PUBLIC_GOOD_TUF_MIRROR,
  type ResolvedTrust,
  type TrustPurpose
} from './trust-source.ts'
export * from './inputs.ts'
export * from './exit-codes.ts'
export * from './verify-blob.ts'
export * from './attestation.ts'
export {
  loadPredicatePolicy,
  type CompiledPredicatePolicy,
  type PredicateRule
} from './predicate-policy.ts'
export {
  signBlobs,
  type BlobInput,
  type SignBlobsOptions,
  type SignBlobsDeps,
  type SignBlobsResult,
  type SignedBlob
} from './sign-blob.ts'
export {
  verifyAttestations,
  verifyImageAttestations,
  attestationFailure,
  attestationLines,
  toAttestationResultJson,
  type AttestationContext,
  type AttestedImage,
  type PredicateCheck,
  type VerifiedAttestation,
  type VerifyAttestationsOptions,
  type VerifyAttestationsResult
} from './verify-attestation.ts'
export * from './input-docs.generated.ts'
export {
  inspectImage,
  renderTree,
  downloadAttached,
  type ImageTree,
  type TreeTag,
  type TreeLayer,
  type TreeReferrer
} from './tree.ts'
export * from './provenance.ts'
export * from './blob-files.ts'
export * from './github-attestations.ts'
export * from './install-cosign.ts'
