// Requests through an HTTP(S) proxy, on Node's own http/https modules, as
// curl and Go send them. https targets: a CONNECT tunnel to the target's
// host:port, then TLS to the target (its name as SNI, our CA list) inside
// it, one keep-alive pool per target. Plain-http targets: forwarded to the
// proxy with the absolute URL as request target (RFC 9112 §3.2.2), not
// tunnelled, since many proxies allow CONNECT to port 443 only. Credentials
// in the proxy URL go to the proxy alone, as Proxy-Authorization: Basic.
// Loaded by RoutingTransport only when a proxy applies; sending and the
// response head are the direct transport's (exchange in ./transport.ts).
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import { AppError, redactUrl, registerSecret } from '../util/index.ts'
import {
  exchange,
  MAX_HEADER_BYTES,
  resendOnStaleSocket,
  type Transport,
  type TransportRequest,
  type TransportResponse
} from './transport.ts'

/** The proxy as parsed from HTTPS_PROXY/HTTP_PROXY. */
interface ProxyEndpoint {
  url: URL
  module: typeof http | typeof https
  /** `Basic …` from the URL's userinfo. */
  auth: string | undefined
  /** CAs for an https:// proxy's certificate (undefined: Node's). */
  ca: string[] | undefined
  /** scheme://host:port, no credentials: for messages. */
  shown: string
}

/** Request option that carries the request's abort signal to the tunnel. */
const TUNNEL_SIGNAL = 'sigilTunnelSignal'

export class ProxyTransport implements Transport {
  readonly #proxy: ProxyEndpoint
  /** Forwarded plain-http requests: kept-alive connections to the proxy. */
  readonly #forward: http.Agent
  /** https targets: kept-alive TLS connections through tunnels. */
  readonly #tunnel: TunnelAgent

  constructor(uri: string, ca: string[] | undefined) {
    this.#proxy = parseProxy(uri, ca)
    const tlsOptions = ca ? { ca } : {}
    this.#forward =
      this.#proxy.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...tlsOptions })
        : new http.Agent({ keepAlive: true })
    this.#tunnel = new TunnelAgent(this.#proxy, {
      keepAlive: true,
      ...tlsOptions
    })
  }

  request(r: TransportRequest): Promise<TransportResponse> {
    const target = new URL(r.origin)
    const p = this.#proxy
    if (target.protocol === 'https:') {
      return resendOnStaleSocket(r, () =>
        exchange(r, {
          module: https,
          agent: this.#tunnel,
          protocol: 'https:',
          hostname: target.hostname,
          port: target.port,
          path: r.path,
          options: { [TUNNEL_SIGNAL]: r.signal }
        })
      )
    }
    return resendOnStaleSocket(r, () =>
      exchange(r, {
        module: p.module,
        agent: this.#forward,
        protocol: p.url.protocol,
        hostname: p.url.hostname,
        port: p.url.port,
        path: `${target.origin}${r.path}`,
        headers: {
          host: target.host,
          ...(p.auth ? { 'proxy-authorization': p.auth } : {})
        }
      })
    )
  }

  close(): Promise<void> {
    this.#forward.destroy()
    this.#tunnel.destroy()
    return Promise.resolve()
  }
}

/** An https.Agent whose connections are TLS inside a CONNECT tunnel; Node's
 * agent keys its pool by target, so each target has its own connections. */
class TunnelAgent extends https.Agent {
  readonly #proxy: ProxyEndpoint

  constructor(proxy: ProxyEndpoint, options: https.AgentOptions) {
    super(options)
    this.#proxy = proxy
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void
  ): undefined {
    const host = options.host ?? options.hostname ?? 'localhost'
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${options.port ?? 443}`
    const signal = (options as Record<string, unknown>)[TUNNEL_SIGNAL]
    openTunnel(
      this.#proxy,
      authority,
      signal instanceof AbortSignal ? signal : undefined
    ).then(
      raw => {
        // TLS to the target over the tunnel, as the agent would connect
        // directly (its CA list, SNI from the host name, session reuse).
        const socket = super.createConnection({
          ...options,
          socket: raw
        } as https.RequestOptions)
        socket?.once('close', () => raw.destroy())
        callback?.(null, socket ?? raw)
      },
      (e: unknown) => callback?.(e as Error, undefined as unknown as Duplex)
    )
    return undefined
  }
}

/** A CONNECT tunnel through the proxy to `authority` (host:port). */
function openTunnel(
  proxy: ProxyEndpoint,
  authority: string,
  signal: AbortSignal | undefined
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = proxy.module.request({
      protocol: proxy.url.protocol,
      hostname: proxy.url.hostname.replace(/^\[|\]$/g, ''),
      port: proxy.url.port,
      method: 'CONNECT',
      path: authority,
      headers: {
        host: authority,
        ...(proxy.auth ? { 'proxy-authorization': proxy.auth } : {})
      },
      agent: false,
      ...(proxy.ca ? { ca: proxy.ca } : {}),
      ...(signal ? { signal } : {}),
      maxHeaderSize: MAX_HEADER_BYTES
    })
    req.once('connect', (res, socket, head) => {
      const status = res.statusCode ?? 0
      if (status >= 200 && status < 300) {
        if (head.length > 0) socket.unshift(head)
        resolve(socket)
        return
      }
      socket.destroy()
      reject(connectRefused(proxy, authority, status, res.statusMessage))
    })
    req.once('error', reject)
    req.end()
  })
}

/** A non-2xx answer to CONNECT. HttpClient reports it as
 * HTTP_NETWORK_ERROR (no response from the target), with this remedy. */
function connectRefused(
  proxy: ProxyEndpoint,
  authority: string,
  status: number,
  reason: string | undefined
): Error {
  const remedy =
    status === 407
      ? proxy.auth
        ? 'The proxy refused the credentials in the proxy URL: check the user and password in HTTPS_PROXY (percent-encoded).'
        : 'The proxy asks for credentials: put them in the proxy URL, HTTPS_PROXY=http://user:password@host:port (percent-encoded).'
      : `The proxy does not open a tunnel to ${authority}: ask its administrators to allow it, or, if the host is reachable directly, list it in NO_PROXY.`
  return Object.assign(
    new Error(
      `proxy ${proxy.shown} answered CONNECT ${authority} with HTTP ${status}${reason ? ` ${reason}` : ''}`
    ),
    { code: 'PROXY_CONNECT_REFUSED', status, remedy }
  )
}

/** HTTPS_PROXY/HTTP_PROXY as curl and Go read them: http:// when the value
 * has no scheme; http:// and https:// proxies only. */
function parseProxy(uri: string, ca: string[] | undefined): ProxyEndpoint {
  const fail = (why: string): AppError =>
    new AppError(
      'HTTP_PROXY_INVALID',
      `the proxy URL "${redactUrl(uri)}" ${why}`,
      {
        remedy:
          'Set HTTPS_PROXY/HTTP_PROXY to http://host:port or https://host:port (credentials as http://user:password@host:port, percent-encoded).'
      }
    )
  let url: URL
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : `http://${uri}`)
  } catch {
    throw fail('is not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(
      `has scheme ${url.protocol.slice(0, -1)}; Sigil speaks to http:// and https:// proxies only`
    )
  }
  let auth: string | undefined
  if (url.username || url.password) {
    let user: string
    let password: string
    try {
      user = decodeURIComponent(url.username)
      password = decodeURIComponent(url.password)
    } catch {
      throw fail('has credentials that are not validly percent-encoded')
    }
    registerSecret(password)
    auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
    registerSecret(auth.slice('Basic '.length))
  }
  return {
    url,
    module: url.protocol === 'https:' ? https : http,
    auth,
    ca: url.protocol === 'https:' ? ca : undefined,
    shown: `${url.protocol}//${url.host}`
  }
}
