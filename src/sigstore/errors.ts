// Errors from talking to Sigstore services (OIDC token sources, Fulcio, Rekor,
// TSA). Integrity failures are the verifier's VerificationError, not these.
// Messages name the service and URL (redacted), never a token.

import { tlsFailure } from '../http/index.ts'
import { AppError, redact, type AppErrorOptions } from '../util/index.ts'

export type SigstoreServiceErrorCode =
  /** no OIDC token could be obtained (remedy supplied by the adapter) */
  | 'IDENTITY_TOKEN_UNAVAILABLE'
  /** the token is not a JWT, is expired, or lacks the challenge claim */
  | 'IDENTITY_TOKEN_INVALID'
  /** the token's `exp` has passed */
  | 'IDENTITY_TOKEN_EXPIRED'
  /** the token's `nbf` (or `iat`) is in the future */
  | 'IDENTITY_TOKEN_NOT_YET_VALID'
  /** the token's `aud` is not `sigstore` (or the configured audience) */
  | 'IDENTITY_TOKEN_AUDIENCE_MISMATCH'
  /** Fulcio answered, but not with a certificate for our key */
  | 'FULCIO_CERTIFICATE_REQUEST_FAILED'
  /** no answer from Fulcio within the retry budget */
  | 'FULCIO_UNREACHABLE'
  /** Fulcio's TLS certificate did not verify (untrusted CA, expired, name) */
  | 'FULCIO_TLS_UNTRUSTED'
  /** Rekor answered, but did not log the entry */
  | 'REKOR_ENTRY_CREATE_FAILED'
  /** a lookup by UUID or index failed (incl. not found) */
  | 'REKOR_ENTRY_LOOKUP_FAILED'
  /** no answer from Rekor within the retry budget */
  | 'REKOR_UNREACHABLE'
  /** Rekor's TLS certificate did not verify */
  | 'REKOR_TLS_UNTRUSTED'
  /** a cosign "Rekor bundle" annotation that cannot be read */
  | 'REKOR_BUNDLE_INVALID'
  /** the TSA answered without a granted timestamp for our request */
  | 'TSA_REQUEST_FAILED'
  /** no answer from the TSA within the retry budget */
  | 'TSA_UNREACHABLE'
  /** the TSA's TLS certificate did not verify */
  | 'TSA_TLS_UNTRUSTED'

export class SigstoreServiceError extends AppError {
  declare readonly code: SigstoreServiceErrorCode

  constructor(
    code: SigstoreServiceErrorCode,
    message: string,
    options?: AppErrorOptions
  ) {
    super(code, redact(message), options)
  }
}

/** True for any failure raised by the HTTP layer itself (HTTP_* codes). */
export function isHttpLayerError(e: unknown): e is AppError {
  return e instanceof AppError && e.code.startsWith('HTTP_')
}

/** True for the HttpClient's "no response at all" failures. */
export function isNoResponseError(e: unknown): boolean {
  return (
    e instanceof AppError &&
    (e.code === 'HTTP_NETWORK_ERROR' || e.code === 'HTTP_TIMEOUT')
  )
}

/**
 * A request to a Sigstore service that got no usable answer: a TLS
 * certificate that did not verify is said to be that (with the HTTP layer's
 * remedy: SSL_CERT_FILE / NODE_EXTRA_CA_CERTS for an unknown CA), not "did not
 * answer"; no answer at all is `<SERVICE>_UNREACHABLE`, with its cause.
 * undefined for any other failure (the caller's to describe).
 * `consequence` says what did not happen.
 */
export function noAnswerError(
  service: { name: string; url: string; prefix: 'FULCIO' | 'REKOR' | 'TSA' },
  consequence: string,
  e: AppError
): SigstoreServiceError | undefined {
  const tls = tlsFailure(e)
  if (tls) {
    return new SigstoreServiceError(
      `${service.prefix}_TLS_UNTRUSTED`,
      `${service.name} at ${service.url} could not be used: its TLS certificate did not verify (${tls.code}); ${consequence}`,
      { cause: e, remedy: tls.remedy }
    )
  }
  if (!isNoResponseError(e)) return undefined
  return new SigstoreServiceError(
    `${service.prefix}_UNREACHABLE`,
    `${service.name} at ${service.url} did not answer (${e.message}); ${consequence}`,
    {
      cause: e,
      remedy: `Check network access to ${service.name} (proxy, firewall) and retry; the Sigstore status page lists outages.`
    }
  )
}

/**
 * The service's own error text from a response body: grpc-gateway / go-swagger
 * JSON `{code, message}` or plain text; capped and redacted.
 */
export function serviceMessage(body: Uint8Array): string {
  const text = new TextDecoder().decode(body.subarray(0, 4096)).trim()
  let message = text
  try {
    const json = JSON.parse(text) as unknown
    if (json && typeof json === 'object') {
      const m = (json as { message?: unknown }).message
      if (typeof m === 'string') message = m
    }
  } catch {
    // plain text body
  }
  message = message.replace(/\s+/g, ' ').slice(0, 500)
  return redact(message) || '(empty response body)'
}
