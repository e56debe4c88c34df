// The verifier's two failure classes: VerificationError (the material does
// not prove what it claims — integrity) and PolicyError (it proves a valid
// signature, but by the wrong signer). Codes are the contract; tests and
// adapters switch on them, never on messages.
// Spec: shared/docs/style.md "Error handling".

import { AppError, type AppErrorOptions } from '../../util/index.ts'

export type VerificationErrorCode =
  | 'BUNDLE_INVALID'
  | 'TLOG_MISSING'
  | 'TLOG_UNTRUSTED_LOG'
  | 'TLOG_SET_INVALID'
  | 'TLOG_SET_MISSING'
  | 'TLOG_INCLUSION_PROOF_INVALID'
  | 'TLOG_INCLUSION_PROOF_MISSING'
  | 'TLOG_CHECKPOINT_INVALID'
  | 'TLOG_BODY_MISMATCH'
  | 'TLOG_BODY_INVALID'
  | 'TLOG_DUPLICATE_ENTRY'
  | 'TIMESTAMP_INVALID'
  | 'TIMESTAMP_MISSING'
  | 'CERTIFICATE_MISSING'
  | 'CERTIFICATE_INVALID'
  | 'CERTIFICATE_CHAIN_INVALID'
  | 'CERTIFICATE_UNTRUSTED_CA'
  | 'CERTIFICATE_EXPIRED_AT_SIGNING'
  | 'CERTIFICATE_EKU_INVALID'
  | 'SCT_INVALID'
  | 'SCT_MISSING'
  | 'PUBLIC_KEY_INVALID'
  | 'PUBLIC_KEY_MISMATCH'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_UNSUPPORTED'
  | 'ARTIFACT_REQUIRED'
  | 'ARTIFACT_DIGEST_MISMATCH'
  | 'DSSE_PAYLOAD_TYPE_INVALID'
  | 'PAYLOAD_DIGEST_MISMATCH'
  | 'CLAIM_INVALID'
  | 'CLAIM_DIGEST_MISMATCH'
  | 'CLAIM_ANNOTATION_MISMATCH'
  // Open for codes other layers add (e.g. BUNDLE_NOT_DSSE in cosign/).
  | (string & {})

/** The signed material failed an integrity check. */
export class VerificationError extends AppError {
  declare readonly code: VerificationErrorCode
  constructor(
    code: VerificationErrorCode,
    message: string,
    options: AppErrorOptions = {}
  ) {
    super(code, message, options)
  }
}

export type PolicyErrorCode =
  | 'POLICY_IDENTITY_MISMATCH'
  | 'POLICY_ISSUER_MISMATCH'
  | 'POLICY_EXTENSION_MISMATCH'
  | 'POLICY_IDENTITY_REQUIRED'

/** The signature is valid but its signer does not satisfy the policy. */
export class PolicyError extends AppError {
  declare readonly code: PolicyErrorCode
  constructor(
    code: PolicyErrorCode,
    message: string,
    options: AppErrorOptions = {}
  ) {
    super(code, message, options)
  }
}
