// The transports under HttpClient. Direct traffic goes through Node's own
// http/https modules with keep-alive agents: they are part of the Node binary
// (no JavaScript HTTP stack to load and compile at start-up, the C++ parser
// instead of a WebAssembly one), which makes a short signing run measurably
// faster. Proxied traffic goes through the same modules (./proxy.ts, loaded
// only when HTTPS_PROXY/HTTP_PROXY is set): https targets through a CONNECT
// tunnel, plain-http targets forwarded (absolute-form request line) as curl
// and Go do, proxy credentials from the URL. Unit tests pass undici's
// MockAgent, which has the same shape.
// Knows nothing of retries or redirects: HttpClient does those.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { BlockList, isIP } from 'node:net'
import type * as Https from 'node:https'
import type * as Tls from 'node:tls'
import { AppError } from '../util/index.ts'
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

type TlsModule = Pick<typeof Tls, 'rootCertificates'> & {
  getCACertificates?: (type: 'default') => string[]
}

/**
 * Node's default CA list: tls.getCACertificates('default') where it exists
 * (Node ≥ 22.15: the bundled roots plus NODE_EXTRA_CA_CERTS, and the system
 * store with --use-system-ca); before that (Node 20), the bundled roots plus
 * the NODE_EXTRA_CA_CERTS file, read here as Node read it at start-up.
 */
export function defaultCAs(tls: TlsModule, env: ProxyEnv): string[] {
  if (typeof tls.getCACertificates === 'function') {
    return tls.getCACertificates('default')
  }
  const extra = env.NODE_EXTRA_CA_CERTS
  let pem: string | undefined
  if (extra) {
    try {
      pem = readFileSync(extra, 'utf8')
    } catch {
      // Node already warned at start-up and went on without it; so do we.
    }
  }
  return [...tls.rootCertificates, ...(pem ? [pem] : [])]
}

/** undefined = Node's default trust store (already honours NODE_EXTRA_CA_CERTS). */
export function caList(
  caCerts: string | undefined,
  env: ProxyEnv,
  tls: TlsModule = process.getBuiltinModule('node:tls')
): string[] | undefined {
  const extra: string[] = []
  if (caCerts?.trim()) extra.push(caCerts)
  const file = env.SSL_CERT_FILE
  if (file) {
    try {
      extra.push(readFileSync(file, 'utf8'))
    } catch (e) {
      throw new AppError(
        'HTTP_CA_FILE_UNREADABLE',
        `cannot read SSL_CERT_FILE "${file}" (${(e as { code?: string }).code ?? String(e)})`,
        {
          cause: e,
          remedy:
            'Point SSL_CERT_FILE at a readable PEM file of CA certificates, or unset it.'
        }
      )
    }
  }
  if (extra.length === 0) return undefined
  // Passing `ca` replaces Node's list, so start from it to keep public roots.
  return [...defaultCAs(tls, env), ...extra]
}

const getEnv = (env: ProxyEnv, name: string): string | undefined =>
  env[name.toLowerCase()] || env[name.toUpperCase()] || undefined

export interface NoProxyEntry {
  /** Host name (suffix match) or IP literal (exact); absent for `*` and CIDR. */
  host?: string
  /** An address range (`10.0.0.0/8`, `fd00::/8`). */
  range?: { address: string; prefix: number; family: 'ipv4' | 'ipv6' }
  /** `*` */
  any?: true
  /** 0 = any port */
  port: number
}

/**
 * NO_PROXY as curl and Go read it: comma- (or space-) separated; `*` alone
 * matches everything; `host`, `.host` and `*.host` match the host and its
 * subdomains; `host:port` and `[v6]:port` only that port; IP literals match
 * exactly and CIDR ranges (`10.0.0.0/8`) match IP literal targets (no DNS
 * lookup, as in both).
 */
export function parseNoProxy(value: string | undefined): NoProxyEntry[] {
  const out: NoProxyEntry[] = []
  for (const raw of (value ?? '').split(/[,\s]+/)) {
    const e = raw.trim().toLowerCase()
    if (!e) continue
    if (e === '*') {
      out.push({ any: true, port: 0 })
      continue
    }
    const cidr = /^\[?([0-9a-f:.]+)\]?\/(\d{1,3})(?::(\d+))?$/.exec(e)
    if (cidr && isIP(cidr[1]!)) {
      const family = isIP(cidr[1]!) === 4 ? 'ipv4' : 'ipv6'
      const prefix = Number(cidr[2])
      if (prefix <= (family === 'ipv4' ? 32 : 128)) {
        out.push({
          range: { address: cidr[1]!, prefix, family },
          port: Number(cidr[3] ?? 0)
        })
      }
      continue
    }
    if (isIP(e) === 6) {
      out.push({ host: e, port: 0 })
      continue
    }
    const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(e)
    if (!m) continue
    const host = (m[1] ?? m[2] ?? '').replace(/^\*?\./, '').replace(/\.$/, '')
    if (host) out.push({ host, port: Number(m[3] ?? 0) })
  }
  return out
}

let loopback: BlockList | undefined
/** 127.0.0.0/8, ::1 and the IPv4-mapped 127.0.0.0/8. */
function isLoopbackIp(ip: string, family: number): boolean {
  if (!loopback) {
    loopback = new BlockList()
    loopback.addSubnet('127.0.0.0', 8, 'ipv4')
    loopback.addAddress('::1', 'ipv6')
    loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')
  }
  return loopback.check(ip, family === 4 ? 'ipv4' : 'ipv6')
}

/** True when `url` must be reached directly: loopback and `localhost` always
 * (as Go does: docker and cosign never proxy them), else per NO_PROXY. */
export function bypassesProxy(url: URL, entries: NoProxyEntry[]): boolean {
  const host = url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
  const ip = isIP(host)
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (ip && isLoopbackIp(host, ip)) return true
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  for (const e of entries) {
    if (e.any) return true
    if (e.port && e.port !== port) continue
    if (e.range) {
      if (!ip) continue
      const list = new BlockList()
      list.addSubnet(e.range.address, e.range.prefix, e.range.family)
      if (list.check(host, ip === 4 ? 'ipv4' : 'ipv6')) return true
      continue
    }
    const h = e.host!
    if (ip || isIP(h)) {
      if (ip && isIP(h) && sameIp(host, h)) return true
      continue
    }
    if (host === h || host.endsWith(`.${h}`)) return true
  }
  return false
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true
  const family = isIP(a) === 4 ? 'ipv4' : 'ipv6'
  if (isIP(b) !== isIP(a)) return false
  const list = new BlockList()
  list.addAddress(b, family)
  return list.check(a, family)
}

const BODY_METHODS = new Set<HttpMethod>(['PUT', 'POST', 'PATCH'])
/** Response header limit. Node's default (16 KiB) is too small for some
 * registries (Google Artifact Registry sends more). */
export const MAX_HEADER_BYTES = 256 * 1024
/** A kept-alive connection the server closed while it sat idle. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE'])

/**
 * Sends `r` again, at once, when its first attempt went out on an idle
 * kept-alive connection and met a reset: that most likely raced the server
 * closing the connection. Only when a repeat is harmless; HttpClient's own
 * retries would wait a backoff first.
 */
export async function resendOnStaleSocket(
  r: TransportRequest,
  send: () => Promise<TransportResponse>
): Promise<TransportResponse> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send()
    } catch (e) {
      const stale = (e as { staleSocket?: boolean }).staleSocket === true
      if (!stale || !r.idempotent || attempt > 1 || r.signal.aborted) throw e
    }
  }
}

/** Where one exchange goes: the module and agent, and the request line's
 * host, port and path (the target's, or the proxy's for forwarding). */
export interface Route {
  module: Pick<typeof http, 'request'>
  agent: http.Agent
  protocol: string
  hostname: string
  port: string
  path: string
  /** Added to the request's headers (Host, Proxy-Authorization). */
  headers?: Record<string, string>
  /** Extra request options, passed on to the agent's createConnection. */
  options?: Record<string, unknown>
}

/** One request and its response head over node:http(s): the direct and the
 * proxied transports both send through this. */
export function exchange(
  r: TransportRequest,
  route: Route
): Promise<TransportResponse> {
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body
  const headers: Record<string, string> = { ...r.headers, ...route.headers }
  if (body) headers['content-length'] = String(body.byteLength)
  else if (BODY_METHODS.has(r.method)) headers['content-length'] = '0'
  return new Promise((resolve, reject) => {
    const req = route.module.request(
      {
        ...route.options,
        protocol: route.protocol,
        hostname: route.hostname.replace(/^\[|\]$/g, ''),
        port: route.port,
        path: route.path,
        method: r.method,
        headers,
        agent: route.agent,
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

/** Direct connections through node:http / node:https keep-alive agents. */
class NodeTransport implements Transport {
  /** The CA list (undefined: Node's defaults), built on first https use. */
  readonly #ca: () => string[] | undefined
  readonly #http = new http.Agent({ keepAlive: true })
  #https: { module: typeof Https; agent: Https.Agent } | undefined

  constructor(ca: () => string[] | undefined) {
    this.#ca = ca
  }

  request(r: TransportRequest): Promise<TransportResponse> {
    const url = new URL(r.origin)
    const { module, agent } =
      url.protocol === 'https:'
        ? this.#secure()
        : { module: http, agent: this.#http }
    return resendOnStaleSocket(r, () =>
      exchange(r, {
        module,
        agent,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: r.path
      })
    )
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
      p = import('./proxy.ts').then(
        ({ ProxyTransport }) => new ProxyTransport(uri, this.#ca())
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
