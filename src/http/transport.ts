// The transports under HttpClient. Direct traffic goes through Node's own
// http/https modules with keep-alive agents: they are part of the Node binary
// (no JavaScript HTTP stack to load and compile at start-up, the C++ parser
// instead of a WebAssembly one), which makes a short signing run measurably
// faster. Proxied traffic goes through undici's ProxyAgent, loaded only when
// HTTPS_PROXY/HTTP_PROXY is set (CONNECT tunnels, proxy credentials from the
// URL). Unit tests pass undici's MockAgent, which has the same shape.
// Knows nothing of retries or redirects: HttpClient does those.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type * as Https from 'node:https'
import type { HttpMethod } from './types.ts'

export interface TransportRequest {
  /** scheme://host[:port] */
  origin: string
  /** Path and query. */
  path: string
  method: HttpMethod
  headers: Record<string, string>
  body: Uint8Array | string | null
  /** Aborts the attempt; a rejection then carries the signal's reason. */
  signal: AbortSignal
  /** Sending it twice is harmless (undici's option of the same name). */
  idempotent: boolean
}

export interface TransportResponse {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: AsyncIterable<Uint8Array> & { destroy(): unknown }
}

/** What HttpClient needs from a transport; undici's Dispatcher (and its
 * MockAgent) fits it as is. */
export interface Transport {
  request(r: TransportRequest): Promise<TransportResponse>
  close(): Promise<void>
}

export type ProxyEnv = Record<string, string | undefined>

/** undefined = Node's default trust store (already honours NODE_EXTRA_CA_CERTS). */
export function caList(
  caCerts: string | undefined,
  env: ProxyEnv
): string[] | undefined {
  const extra: string[] = []
  if (caCerts?.trim()) extra.push(caCerts)
  const file = env.SSL_CERT_FILE
  if (file) {
    try {
      extra.push(readFileSync(file, 'utf8'))
    } catch (e) {
      throw new Error(`cannot read SSL_CERT_FILE "${file}"`, { cause: e })
    }
  }
  if (extra.length === 0) return undefined
  // Passing `ca` replaces Node's list, so start from it to keep public roots.
  // node:tls is loaded here, not at start-up: plain-HTTP runs never need it.
  const tls = process.getBuiltinModule('node:tls')
  return [...tls.getCACertificates('default'), ...extra]
}

const getEnv = (env: ProxyEnv, name: string): string | undefined =>
  env[name.toLowerCase()] || env[name.toUpperCase()] || undefined

interface NoProxyEntry {
  host: string
  port: number
}

export function parseNoProxy(value: string | undefined): NoProxyEntry[] {
  return (value ?? '')
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(e => {
      const m = /^(.*?)(?::(\d+))?$/.exec(e.trim().toLowerCase())
      return { host: m?.[1] ?? '', port: Number(m?.[2] ?? 0) }
    })
}

/** curl/Go semantics: exact host, or suffix for entries like ".corp" / "corp". */
export function bypassesProxy(url: URL, entries: NoProxyEntry[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '')
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  for (const e of entries) {
    if (e.host === '*') return true
    if (e.port && e.port !== port) continue
    const h = e.host.replace(/^\*?\./, '').replace(/^\[|\]$/g, '')
    if (host === h || host.endsWith(`.${h}`)) return true
  }
  return false
}

const BODY_METHODS = new Set<HttpMethod>(['PUT', 'POST', 'PATCH'])
/** Response header limit. Node's default (16 KiB) is too small for some
 * registries (Google Artifact Registry sends more). */
export const MAX_HEADER_BYTES = 256 * 1024
/** A kept-alive connection the server closed while it sat idle. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE'])

/** Direct connections through node:http / node:https keep-alive agents. */
class NodeTransport implements Transport {
  /** The CA list (undefined: Node's defaults), built on first https use. */
  readonly #ca: () => string[] | undefined
  readonly #http = new http.Agent({ keepAlive: true })
  #https: { module: typeof Https; agent: Https.Agent } | undefined

  constructor(ca: () => string[] | undefined) {
    this.#ca = ca
  }

  async request(r: TransportRequest): Promise<TransportResponse> {
    // A request that went out on an idle kept-alive connection and met a
    // reset most likely raced the server closing that connection: when a
    // repeat is harmless, send it once more, at once, on a fresh connection
    // (HttpClient's own retries would wait a backoff first).
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#send(r)
      } catch (e) {
        const stale = (e as { staleSocket?: boolean }).staleSocket === true
        if (!stale || !r.idempotent || attempt > 1 || r.signal.aborted) throw e
      }
    }
  }

  #send(r: TransportRequest): Promise<TransportResponse> {
    const url = new URL(r.origin)
    const secure = url.protocol === 'https:'
    const { module, agent } = secure
      ? this.#secure()
      : { module: http, agent: this.#http }
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body
    const headers: Record<string, string> = { ...r.headers }
    if (body) headers['content-length'] = String(body.byteLength)
    else if (BODY_METHODS.has(r.method)) headers['content-length'] = '0'
    return new Promise((resolve, reject) => {
      const req = module.request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port,
          path: r.path,
          method: r.method,
          headers,
          agent,
          signal: r.signal,
          maxHeaderSize: MAX_HEADER_BYTES
        },
        res =>
          resolve({
            statusCode: res.statusCode ?? 0,
            headers: res.headers,
            body: res
          })
      )
      req.on('error', e => {
        if (r.signal.aborted) return reject(r.signal.reason as Error)
        const code = (e as { code?: unknown }).code
        if (
          req.reusedSocket &&
          typeof code === 'string' &&
          STALE_SOCKET_CODES.has(code)
        ) {
          Object.assign(e, { staleSocket: true })
        }
        reject(e)
      })
      req.end(body ?? undefined)
    })
  }

  /** node:https and its agent (and node:tls, and the CA list) on first use. */
  #secure(): { module: typeof Https; agent: Https.Agent } {
    if (!this.#https) {
      const module = process.getBuiltinModule('node:https')
      const ca = this.#ca()
      const agent = new module.Agent({ keepAlive: true, ...(ca ? { ca } : {}) })
      this.#https = { module, agent }
    }
    return this.#https
  }

  close(): Promise<void> {
    this.#http.destroy()
    this.#https?.agent.destroy()
    return Promise.resolve()
  }
}

/** Sends each request directly or through the proxy for its scheme, from
 * HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case). */
export class RoutingTransport implements Transport {
  readonly #direct: NodeTransport
  /** One CA list (SSL_CERT_FILE read once) for direct and proxied TLS. */
  readonly #ca: () => string[] | undefined
  readonly #httpProxy: string | undefined
  readonly #httpsProxy: string | undefined
  readonly #noProxy: NoProxyEntry[]
  readonly #proxies = new Map<string, Promise<Transport>>()

  constructor(options: { caCerts?: string; env: ProxyEnv }) {
    let built: { ca: string[] | undefined } | undefined
    this.#ca = () => (built ??= { ca: caList(options.caCerts, options.env) }).ca
    this.#direct = new NodeTransport(this.#ca)
    this.#httpProxy = getEnv(options.env, 'http_proxy')
    this.#httpsProxy = getEnv(options.env, 'https_proxy') ?? this.#httpProxy
    this.#noProxy = parseNoProxy(getEnv(options.env, 'no_proxy'))
  }

  async request(r: TransportRequest): Promise<TransportResponse> {
    if (!this.#httpProxy && !this.#httpsProxy) return this.#direct.request(r)
    const url = new URL(r.origin)
    const proxy = bypassesProxy(url, this.#noProxy)
      ? undefined
      : url.protocol === 'https:'
        ? this.#httpsProxy
        : this.#httpProxy
    if (!proxy) return this.#direct.request(r)
    return (await this.#proxy(proxy)).request(r)
  }

  #proxy(uri: string): Promise<Transport> {
    let p = this.#proxies.get(uri)
    if (!p) {
      p = import('./undici-proxy.ts').then(({ createProxyAgent }) =>
        createProxyAgent(uri, this.#ca())
      )
      this.#proxies.set(uri, p)
    }
    return p
  }

  async close(): Promise<void> {
    const proxies = await Promise.allSettled(this.#proxies.values())
    await Promise.all([
      this.#direct.close(),
      ...proxies.map(p =>
        p.status === 'fulfilled' ? p.value.close() : undefined
      )
    ])
  }
}
