// Errors of the TUF client. Each says which metadata (or target) failed and
// why; the codes separate the attacks TUF protects against (rollback, freeze,
// mix-and-match, wrong hashes, too few signatures) from plain I/O trouble.

import { AppError, type AppErrorOptions } from '../../util/index.ts'

export type TufErrorCode =
  /** fewer valid signatures than the role's threshold */
  | 'TUF_SIGNATURE_THRESHOLD'
  /** a version lower than the one already trusted (rollback attack) */
  | 'TUF_ROLLBACK'
  /** metadata past its expiry date (freeze attack, or a stale mirror) */
  | 'TUF_EXPIRED'
  /** a version other than the one the referring metadata names (mix-and-match) */
  | 'TUF_VERSION_MISMATCH'
  /** bytes whose length or hash differ from the referring metadata */
  | 'TUF_HASH_MISMATCH'
  /** malformed metadata (not JSON, wrong type, missing fields) */
  | 'TUF_METADATA_INVALID'
  /** targets.json does not list the requested target */
  | 'TUF_TARGET_MISSING'
  /** the mirror could not be reached, or answered with an error status */
  | 'TUF_FETCH_FAILED'

export class TufError extends AppError {
  declare readonly code: TufErrorCode
  constructor(code: TufErrorCode, message: string, o: AppErrorOptions = {}) {
    super(code, message, o)
  }
}
