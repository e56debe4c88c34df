// Public surface of sigstore/verify, the pure verifier (no I/O): build a
// SignedEntity from a bundle (or cosign/legacy-signature.ts from a `.sig`
// layer), then verifySignedEntity with TrustMaterial and a policy. The
// building blocks are exported for the signing side, which checks what
// Fulcio/Rekor returned before publishing anything.
export {
  PolicyError,
  VerificationError,
  type PolicyErrorCode,
  type VerificationErrorCode
} from './errors.ts'
export {
  certificateFromDer,
  hashBytes,
  toSignedEntity,
  toTlogEntry,
  type Artifact,
  type ArtifactDigest,
  type DsseContent,
  type InclusionProofData,
  type KeyMaterial,
  type MessageContent,
  type SignatureContent,
  type SignedEntity,
  type TlogEntry
} from './signed-entity.ts'
export {
  toPublicKey,
  verifySignedEntity,
  type PublicKeyInput,
  type VerificationResult,
  type VerifiedIdentity,
  type VerifiedTimestamp,
  type VerifiedTlogEntrySummary,
  type VerifyOptions
} from './verifier.ts'
export {
  compilePolicy,
  primarySAN,
  verifyPolicy,
  type CompiledPolicy,
  type SignerIdentity,
  type StringMatcher,
  type VerificationPolicy
} from './policy.ts'
export {
  verifyCertificateChain,
  type CertificatePath,
  type ChainOptions
} from './chain.ts'
export { verifySCTs, type VerifiedSCT } from './sct.ts'
export {
  logAuthoritiesFor,
  leafHash,
  rootFromInclusionProof,
  setPayload,
  verifyCheckpoint,
  verifyTlogBody,
  verifyTlogEntry,
  type Checkpoint,
  type SignerKeyInfo,
  type VerifiedTlogEntry,
  type VerifyTlogEntryOptions
} from './tlog/index.ts'
export {
  parseTimestampToken,
  verifyRFC3161Timestamp,
  type TimestampToken
} from './timestamp.ts'
export {
  checkStatementSubject,
  defaultHashForKey,
  preAuthEncoding,
  verifyContentSignature
} from './signature.ts'
