// HttpError: an HTTP exchange that failed, with the method, a redacted URL,
// the status (when a response came back) and at most 64 KiB of the body,
// parsed as JSON when it is JSON (registry and Sigstore error documents are).
import { AppError, fromUtf8, redact, redactUrl } from '../util/index.ts'
import type { HttpRequest, HttpResponse } from './types.ts'

export type HttpErrorCode =
  | 'HTTP_NETWORK_ERROR'
  | 'HTTP_TIMEOUT'
  | 'HTTP_STATUS'
  | 'HTTP_TOO_MANY_REDIRECTS'
  | 'HTTP_BODY_TOO_LARGE'
  | (string & {})

export interface HttpErrorOptions {
  method: string
  url: string | URL
  status?: number
  body?: unknown
  cause?: unknown
  remedy?: string
  /** Attempts made before giving up. */
  attempts?: number
}

const MAX_ERROR_BODY = 64 * 1024

export class HttpError extends AppError {
  readonly method: string
  /** Redacted: no userinfo, no token-like query parameters. */
  readonly url: string
  readonly status: number | undefined
  /** Parsed JSON when possible, else text; capped at 64 KiB. */
  readonly body: unknown
  readonly attempts: number | undefined

  constructor(code: HttpErrorCode, message: string, options: HttpErrorOptions) {
    super(code, message, { cause: options.cause, remedy: options.remedy })
    this.method = options.method
    this.url = redactUrl(options.url)
    this.status = options.status
    this.body = options.body
    this.attempts = options.attempts
  }

  /** For callers that decided a final status is a failure. */
  static fromResponse(
    req: Pick<HttpRequest, 'method' | 'url'>,
    res: HttpResponse,
    code: HttpErrorCode = 'HTTP_STATUS'
  ): HttpError {
    const body = parseErrorBody(res.body)
    const detail = summarizeBody(body)
    const url = redactUrl(res.url || req.url)
    const retried = attemptsNote(res)
    return new HttpError(
      code,
      `${req.method} ${url} returned HTTP ${res.status}${retried}${detail ? `: ${detail}` : ''}`,
      {
        method: req.method,
        url: res.url || req.url,
        status: res.status,
        body,
        ...(res.attempts !== undefined ? { attempts: res.attempts } : {})
      }
    )
  }
}

/** ` (after 7 attempts over 31.2 s)` when the response came after retries. */
export function attemptsNote(
  res: Pick<HttpResponse, 'attempts' | 'elapsedMs'>
): string {
  return res.attempts !== undefined && res.attempts > 1
    ? ` (after ${res.attempts} attempts over ${((res.elapsedMs ?? 0) / 1000).toFixed(1)} s)`
    : ''
}

export function parseErrorBody(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined
  const text = fromUtf8(bytes.subarray(0, MAX_ERROR_BODY))
  if (bytes.length <= MAX_ERROR_BODY) {
    try {
      return JSON.parse(text)
    } catch {
      // not JSON: keep the text
    }
  }
  return redact(text)
}

/** One line from a registry/Sigstore error body, for messages. */
function summarizeBody(body: unknown): string {
  if (body === undefined) return ''
  if (typeof body === 'string') return redact(body.trim().slice(0, 200))
  const b = body as { errors?: { code?: unknown; message?: unknown }[] }
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    return redact(
      b.errors
        .slice(0, 3)
        .map(e => [e?.code, e?.message].filter(Boolean).join(' '))
        .join('; ')
        .slice(0, 300)
    )
  }
  const m = (body as { message?: unknown }).message
  return typeof m === 'string' ? redact(m.slice(0, 200)) : ''
}

/** For HttpRequest.complete: the body parses as JSON (a body cut short by a
 * proxy or a dropped connection does not). */
export function isJsonBody(res: Pick<HttpResponse, 'body'>): boolean {
  try {
    JSON.parse(fromUtf8(res.body))
    return true
  } catch {
    return false
  }
}

/** For HttpRequest.complete: the body is one whole DER element (a
 * TimeStampResp cut short is not). */
export function isWholeDer(res: Pick<HttpResponse, 'body'>): boolean {
  const b = res.body
  if (b.length < 2) return false
  const first = b[1]!
  if (first < 0x80) return b.length === 2 + first
  const n = first & 0x7f
  if (n === 0 || n > 4 || b.length < 2 + n) return false
  let len = 0
  for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!
  return b.length === 2 + n + len
}
