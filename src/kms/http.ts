// The one way provider modules talk to their service: the run's HttpClient
// (its retries within the budget, redaction and redirect rules), JSON both
// ways, and every failure turned into a KmsError that names the service.
import {
  HttpError,
  attemptsNote,
  type HttpRequest,
  type HttpResponse
} from '../http/index.ts'
import { AppError, redactUrl } from '../util/index.ts'
import { KmsError, type KmsErrorCode } from './errors.ts'
import type { KmsContext } from './types.ts'

export interface KmsCall extends HttpRequest {
  /** What is being done, for messages: `signing with hashivault://k`. */
  what: string
}

/** The outcome of a non-2xx answer, as the provider reads its error body. */
export interface KmsFailure {
  code: KmsErrorCode
  detail: string
  remedy?: string
}

export async function kmsFetch(
  ctx: KmsContext,
  call: KmsCall,
  classify: (res: HttpResponse) => KmsFailure
): Promise<HttpResponse> {
  const { what, ...req } = call
  let res: HttpResponse
  try {
    res = await ctx.http.request(req)
  } catch (e) {
    if (e instanceof HttpError || e instanceof AppError)
      throw new KmsError('KMS_REQUEST_FAILED', `${what} failed: ${e.message}`, {
        cause: e,
        ...(e.remedy ? { remedy: e.remedy } : {})
      })
    throw e
  }
  if (res.status >= 200 && res.status < 300) return res
  const f = classify(res)
  throw new KmsError(
    f.code,
    `${what} failed: ${req.method} ${redactUrl(res.url || req.url)} returned HTTP ${res.status}${attemptsNote(res)}${f.detail ? `: ${f.detail}` : ''}`,
    f.remedy ? { remedy: f.remedy } : {}
  )
}

/** The JSON body of a 2xx answer, or KMS_RESPONSE_INVALID. */
export function jsonOf(
  res: HttpResponse,
  what: string
): Record<string, unknown> {
  try {
    const v: unknown = res.json()
    if (v && typeof v === 'object' && !Array.isArray(v))
      return v as Record<string, unknown>
  } catch {
    // reported below
  }
  throw new KmsError(
    'KMS_RESPONSE_INVALID',
    `${what}: the answer from ${redactUrl(res.url)} is not a JSON object`
  )
}

/** Error body text, short and printable (never echoed when it could hold
 * something secret: providers pass only the fields they document). */
export function bodyText(res: HttpResponse): string {
  const t = res.text().replace(/\s+/g, ' ').trim()
  return t.length > 300 ? `${t.slice(0, 300)}…` : t
}

export function isLoopbackHost(host: string): boolean {
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host)
}

/** An https URL (plain http only to loopback), for service addresses taken
 * from the environment. */
export function serviceUrl(value: string, name: string): URL {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    throw new KmsError(
      'KMS_CONFIG_INVALID',
      `${name} is not a URL: ${JSON.stringify(value)}`
    )
  }
  if (
    u.protocol !== 'https:' &&
    !(u.protocol === 'http:' && isLoopbackHost(u.host))
  )
    throw new KmsError(
      'KMS_CONFIG_INVALID',
      `${name} must be an https URL (plain http only for loopback), got ${JSON.stringify(value)}`
    )
  return u
}
