// Retry policy: which outcomes are worth another attempt, and how long to
// wait. Full-jitter exponential backoff (AWS architecture blog) and
// Retry-After (RFC 9110 §10.2.3, seconds or HTTP-date).

/** Network-level error codes that say nothing about the request's effect. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT'
])

/** True for connection resets, refusals and the like; false for TLS trust
 * failures, DNS NXDOMAIN and anything unknown (fail fast, not retry blind). */
export function isTransientError(e: unknown): boolean {
  for (let cur = e, i = 0; cur && i < 5; i++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true
    cur = (cur as { cause?: unknown }).cause
  }
  return false
}

/** 408, 429 and 5xx, except 501/505 which will not change on a retry. */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true
  return status >= 500 && status <= 599 && status !== 501 && status !== 505
}

/** Milliseconds to wait, or undefined when the header is absent or bad. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now()
): number | undefined {
  if (!value) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  // HTTP-dates always name a day or month; this keeps "-1" from parsing as a year.
  if (!/[A-Za-z]{3}/.test(v)) return undefined
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/** Full jitter: uniform in [0, min(max, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random
): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(random() * cap)
}
