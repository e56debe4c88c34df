// Errors of the KMS layer. Messages name the key URI, the service and what
// to grant or set; they never carry tokens, secrets or signatures.
import { AppError, type AppErrorOptions } from '../util/index.ts'

export type KmsErrorCode =
  /** not a key URI of a supported provider, or malformed */
  | 'KMS_URI_INVALID'
  /** an environment variable the provider reads is malformed */
  | 'KMS_CONFIG_INVALID'
  /** no credentials could be found for the provider */
  | 'KMS_CREDENTIALS_MISSING'
  /** the service refused the credentials (401, bad signature, expired) */
  | 'KMS_AUTH_FAILED'
  /** authenticated, but not allowed (403: an IAM action, a Vault policy) */
  | 'KMS_PERMISSION_DENIED'
  /** the key (or key version) does not exist */
  | 'KMS_KEY_NOT_FOUND'
  /** the key exists but cannot sign (disabled, destroyed, pending deletion) */
  | 'KMS_KEY_DISABLED'
  /** a key type or algorithm cosign does not sign with */
  | 'KMS_KEY_UNSUPPORTED'
  /** still throttled when the retry budget ran out */
  | 'KMS_THROTTLED'
  /** any other failed request */
  | 'KMS_REQUEST_FAILED'
  /** a 2xx answer that is not what the API documents */
  | 'KMS_RESPONSE_INVALID'

export class KmsError extends AppError {
  declare readonly code: KmsErrorCode

  constructor(code: KmsErrorCode, message: string, options?: AppErrorOptions) {
    super(code, message, options)
  }
}
