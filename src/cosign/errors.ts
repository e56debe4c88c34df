// Errors of the two use cases: which step of signing or verifying failed,
// always wrapping the lower layer's error as `cause`.
import { AppError } from '../util/index.ts'

export class SignError extends AppError {}

/** Nothing to verify was found (kept distinct from "found but bad"). */
export class NoSignaturesError extends AppError {}

/** Signatures were found, and none of them passed. */
export class NoMatchingSignaturesError extends AppError {}

/** An attestation was verified but is not what was asked for (predicate
 * type, subject). */
export class AttestationError extends AppError {}
