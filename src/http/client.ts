// HttpClient: every request of the product goes through it. Per-attempt
// timeouts, retries within a total time budget (network errors, 408, 429,
// 5xx), manual redirects that drop credentials across origins, a body size
// cap, and debug logs with redacted URLs. It never judges a status: callers
// do. The bytes move through a Transport (transport.ts).
import {
  AppError,
  fromUtf8,
  nullLogger,
  redact,
  redactUrl,
  sleep,
  type Logger
} from '../util/index.ts'
import { RoutingTransport, type ProxyEnv, type Transport } from './transport.ts'
import { HttpError } from './errors.ts'
import {
  backoffDelay,
  isRetryableStatus,
  isTransientError,
  parseRetryAfter
} from './retry.ts'
import type { HttpMethod, HttpRequest, HttpResponse } from './types.ts'

export interface HttpClientOptions {
  userAgent: string
  /** Per attempt (connect, headers and body). Default 30 s. */
  timeoutMs?: number
  /** Cap on extra attempts after the first (tests). Default: none, the
   * budget alone decides when to stop. */
  retries?: number
  /** Total time for all attempts and waits of one request: retries go on
   * until it is spent. Default 60 s. */
  budgetMs?: number
  /** Tests pass undici's MockAgent; otherwise a RoutingTransport, with
   * proxies and CAs from env. */
  transport?: Transport
  logger?: Logger
  /** Extra trusted CAs (PEM), added to Node's defaults. */
  caCerts?: string
  /** Proxy and SSL_CERT_FILE variables; default process.env. */
  env?: ProxyEnv
  /** Backoff base and ceiling in ms (defaults 250 / 8000). */
  backoffBaseMs?: number
  backoffMaxMs?: number
}

const MAX_REDIRECTS = 5
/** 2xx answers found incomplete (HttpRequest.complete) before giving up. */
const MAX_DAMAGED_ANSWERS = 3
/** Time left for a final attempt when a backoff is cut to fit the budget. */
const LAST_ATTEMPT_MS = 250
const DEFAULT_MAX_BODY = 64 * 1024 * 1024
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** Never forwarded to another origin (scheme + host + port). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization']
/** TLS verification failures (Node/OpenSSL codes) and what to do about each. */
const UNTRUSTED_CA =
  "The server's TLS certificate is not signed by a CA this machine trusts. If a private CA signed it (a TLS-inspecting company proxy, a private registry or Sigstore), set SSL_CERT_FILE or NODE_EXTRA_CA_CERTS to that CA's PEM file (either adds it to Node's public roots)."
const TLS_FAILURES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED_CA,
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED_CA,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED_CA,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED_CA,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED_CA,
  CERT_UNTRUSTED: UNTRUSTED_CA,
  CERT_HAS_EXPIRED:
    "The server's TLS certificate has expired (or this machine's clock is wrong): check the clock; otherwise the server must renew its certificate.",
  CERT_NOT_YET_VALID:
    "The server's TLS certificate is not valid yet: check this machine's clock.",
  ERR_TLS_CERT_ALTNAME_INVALID:
    "The server's TLS certificate is for another host name: check the URL, and the proxy in between if there is one."
}

export class HttpClient {
  readonly #userAgent: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #budgetMs: number
  readonly #transport: Transport
  readonly #ownsTransport: boolean
  readonly #logger: Logger
  readonly #backoffBaseMs: number
  readonly #backoffMaxMs: number

  constructor(options: HttpClientOptions) {
    this.#userAgent = options.userAgent
    this.#timeoutMs = options.timeoutMs ?? 30_000
    this.#retries = Math.max(0, options.retries ?? Number.POSITIVE_INFINITY)
    this.#budgetMs = options.budgetMs ?? 60_000
    this.#logger = options.logger ?? nullLogger
    this.#backoffBaseMs = options.backoffBaseMs ?? 250
    this.#backoffMaxMs = options.backoffMaxMs ?? 8_000
    this.#ownsTransport = options.transport === undefined
    this.#transport =
      options.transport ??
      new RoutingTransport({
        ...(options.caCerts ? { caCerts: options.caCerts } : {}),
        env: options.env ?? process.env
      })
  }

  /** Resolves with whatever final status came back; rejects (HttpError)
   * only when no response was obtained within the retries and budget. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const deadline = Date.now() + this.#budgetMs
    let url = new URL(String(req.url))
    let method: HttpMethod = req.method
    let body = req.body
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers ?? {})) {
      headers[k.toLowerCase()] = v
    }
    headers['user-agent'] ??= this.#userAgent

    for (let hop = 0; ; hop++) {
      const res = await this.#withRetries(
        { ...req, method, url, headers, body },
        deadline
      )
      const location = res.headers.location
      if (!REDIRECT_STATUSES.has(res.status) || !location) return res
      if (hop >= MAX_REDIRECTS) {
        throw new HttpError(
          'HTTP_TOO_MANY_REDIRECTS',
          `${req.method} ${redactUrl(req.url)} redirected more than ${MAX_REDIRECTS} times`,
          { method: req.method, url: req.url, status: res.status }
        )
      }
      const next = new URL(location, url)
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new HttpError(
          'HTTP_NETWORK_ERROR',
          `${req.method} ${redactUrl(url)} redirected to an unsupported URL scheme "${next.protocol}"`,
          { method: req.method, url, status: res.status }
        )
      }
      if (next.origin !== url.origin) {
        for (const h of CREDENTIAL_HEADERS) delete headers[h]
      }
      // Fetch-spec method rewriting: 303 always, 301/302 only for POST.
      const toGet =
        (res.status === 303 && method !== 'HEAD') ||
        ((res.status === 301 || res.status === 302) && method === 'POST')
      if (toGet) {
        method = 'GET'
        body = undefined
        delete headers['content-type']
        delete headers['content-length']
      }
      this.#logger.debug(
        `HTTP ${res.status} redirect to ${redactUrl(next)}${next.origin !== url.origin ? ' (credentials dropped)' : ''}`
      )
      url = next
    }
  }

  /** Closes connections of the transport this client created. */
  async close(): Promise<void> {
    if (this.#ownsTransport) await this.#transport.close()
  }

  async #withRetries(
    req: HttpRequest & { method: HttpMethod; url: URL },
    deadline: number
  ): Promise<HttpResponse> {
    const { method, url } = req
    const maxAttempts = repeatable(req) ? this.#retries + 1 : 1
    const shown = redactUrl(url)
    const first = Date.now()
    let damagedAnswers = 0
    const tried = (attempt: number): string =>
      `${attempt} attempt${attempt === 1 ? '' : 's'}${attempt > 1 ? ` over ${seconds(Date.now() - first)}` : ''}`
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now()
      const timeoutMs = Math.max(
        1,
        Math.min(req.timeoutMs ?? this.#timeoutMs, remaining)
      )
      this.#logger.debug(
        `HTTP ${method} ${shown} (attempt ${attempt}${Number.isFinite(maxAttempts) ? `/${maxAttempts}` : ''})`
      )
      const started = Date.now()
      let wait: number
      try {
        const res = await this.#once(req, timeoutMs)
        this.#logger.debug(
          `HTTP ${method} ${shown} -> ${res.status} in ${Date.now() - started} ms`
        )
        res.attempts = attempt
        res.elapsedMs = Date.now() - first
        const damaged =
          res.status >= 200 &&
          res.status < 300 &&
          req.complete !== undefined &&
          !req.complete(res)
        if (damaged) {
          damagedAnswers++
          this.#logger.debug(`HTTP ${method} ${shown}: incomplete response`)
        }
        // A body that stays wrong is the server's answer, not an accident.
        const transient =
          isRetryableStatus(res.status) ||
          (res.status >= 300 && req.transient?.(res) === true)
        if (
          (!damaged && !transient) ||
          (damaged && damagedAnswers >= MAX_DAMAGED_ANSWERS) ||
          attempt >= maxAttempts
        )
          return res
        const retryAfter = parseRetryAfter(res.headers['retry-after'])
        wait = retryAfter ?? this.#backoff(attempt, deadline)
        if (Date.now() + wait + this.#lastAttemptMs() > deadline) {
          this.#logger.debug(
            `HTTP ${method} ${shown}: retry budget spent after ${tried(attempt)}${retryAfter !== undefined ? ` (Retry-After ${seconds(retryAfter)} does not fit in it)` : ''}`
          )
          return res
        }
      } catch (e) {
        // Ours (HttpError, an unreadable SSL_CERT_FILE): already says what failed.
        if (e instanceof AppError) throw e
        const timedOut = (e as { name?: unknown }).name === 'TimeoutError'
        const cause = timedOut
          ? `no complete response within ${timeoutMs} ms`
          : describeCause(e)
        this.#logger.debug(`HTTP ${method} ${shown} failed: ${cause}`)
        wait = this.#backoff(attempt, deadline)
        const retry =
          (timedOut || isTransientError(e)) &&
          attempt < maxAttempts &&
          Date.now() + wait + this.#lastAttemptMs() <= deadline
        if (!retry) {
          throw new HttpError(
            timedOut ? 'HTTP_TIMEOUT' : 'HTTP_NETWORK_ERROR',
            `${method} ${shown} failed after ${tried(attempt)}: ${cause}`,
            {
              method,
              url,
              cause: e,
              remedy: tlsFailure(e)?.remedy ?? transportRemedy(e),
              attempts: attempt
            }
          )
        }
      }
      await sleep(wait)
    }
  }

  /** Time an attempt needs to be worth making: no retry goes out with less
   * than this left of the budget (it could only time out). */
  #lastAttemptMs(): number {
    return Math.min(LAST_ATTEMPT_MS, this.#budgetMs / 10)
  }

  /** The jittered backoff, shortened so that one last attempt still fits
   * in the budget (a long draw must not end the retries early). */
  #backoff(attempt: number, deadline: number): number {
    const wait = backoffDelay(attempt, this.#backoffBaseMs, this.#backoffMaxMs)
    const room = deadline - Date.now() - this.#lastAttemptMs()
    return room > 0 ? Math.min(wait, room) : wait
  }

  async #once(
    req: HttpRequest & { method: HttpMethod; url: URL },
    timeoutMs: number
  ): Promise<HttpResponse> {
    const { url, method } = req
    const signal = AbortSignal.timeout(timeoutMs)
    const res = await this.#transport.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers: req.headers ?? {},
      body: req.body ?? null,
      signal,
      idempotent: repeatable(req)
    })
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) {
        headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
      }
    }
    const max = req.maxBodyBytes ?? DEFAULT_MAX_BODY
    const tooLarge = (): HttpError =>
      new HttpError(
        'HTTP_BODY_TOO_LARGE',
        `${method} ${redactUrl(url)} returned a body larger than ${max} bytes`,
        { method, url, status: res.statusCode }
      )
    if (Number(headers['content-length'] ?? 0) > max && method !== 'HEAD') {
      res.body.destroy()
      throw tooLarge()
    }
    const chunks: Uint8Array[] = []
    let size = 0
    try {
      for await (const chunk of res.body) {
        size += chunk.byteLength
        if (size > max) {
          res.body.destroy()
          throw tooLarge()
        }
        chunks.push(chunk)
      }
    } catch (e) {
      // A timeout while the body streams in surfaces as the signal's reason.
      throw signal.aborted && !(e instanceof HttpError) ? signal.reason : e
    }
    return makeResponse(
      res.statusCode,
      url.toString(),
      headers,
      concat(chunks, size)
    )
  }
}

/** POST and PATCH are sent again only when the caller says that is
 * harmless; nothing is sent again when the caller retries itself. */
const repeatable = (req: HttpRequest): boolean =>
  req.retry !== false &&
  ((req.method !== 'POST' && req.method !== 'PATCH') || req.retrySafe === true)

/** `1.2 s`, `45 s`. */
function seconds(ms: number): string {
  return ms < 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : `${Math.round(ms / 1000)} s`
}

function makeResponse(
  status: number,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array
): HttpResponse {
  return {
    status,
    url,
    headers,
    body,
    text: () => fromUtf8(body),
    json: <T>() => JSON.parse(fromUtf8(body)) as T
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return new Uint8Array(chunks[0])
  const out = new Uint8Array(size)
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.byteLength
  }
  return out
}

function describeCause(e: unknown): string {
  const parts: string[] = []
  for (let cur = e, i = 0; cur && i < 4; i++) {
    const err = cur as { message?: unknown; code?: unknown; cause?: unknown }
    const msg = typeof err.message === 'string' ? err.message : String(cur)
    const code = typeof err.code === 'string' ? ` (${err.code})` : ''
    if (msg && !parts.some(p => p.includes(msg))) parts.push(`${msg}${code}`)
    cur = err.cause
  }
  const text = parts.join(': ') || 'unknown error'
  return redact(text.length > 300 ? `${text.slice(0, 300)}…` : text)
}

/** A remedy the transport attached to its error (a proxy that refused a
 * CONNECT tunnel says what to change). */
function transportRemedy(e: unknown): string | undefined {
  const remedy = (e as { remedy?: unknown } | undefined)?.remedy
  return typeof remedy === 'string' ? remedy : undefined
}

/** The TLS verification failure in `e`'s cause chain, with its remedy. */
export function tlsFailure(
  e: unknown
): { code: string; remedy: string } | undefined {
  for (let cur = e, i = 0; cur && i < 6; i++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string' && code in TLS_FAILURES) {
      return { code, remedy: TLS_FAILURES[code]! }
    }
    cur = (cur as { cause?: unknown }).cause
  }
  return undefined
}
