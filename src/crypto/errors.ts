// Errors raised while loading, decrypting or using signing keys. Messages never
// contain key material or passwords.

import { AppError, type AppErrorOptions } from '../util/index.ts'

export type KeyErrorCode =
  /** wrong password, or the ciphertext was tampered with */
  | 'KEY_DECRYPTION_FAILED'
  /** not a PEM/PKCS#8/SEC1/cosign key we can parse */
  | 'KEY_INVALID'
  /** parseable, but an algorithm, curve, size or KDF setting cosign refuses */
  | 'KEY_UNSUPPORTED'

export class KeyError extends AppError {
  declare readonly code: KeyErrorCode

  constructor(code: KeyErrorCode, message: string, options?: AppErrorOptions) {
    super(code, message, options)
  }
}
