// Builds the undici dispatcher for real traffic: one direct Agent plus proxy
// agents chosen per URL from HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case),
// and the CA list (Node's defaults, which include NODE_EXTRA_CA_CERTS, plus
// SSL_CERT_FILE and caller-supplied PEM). Knows nothing of retries.
import { readFileSync } from 'node:fs'
import { getCACertificates } from 'node:tls'
import type {
  Agent as UndiciAgent,
  Dispatcher as UndiciDispatcher,
  ProxyAgent as UndiciProxyAgent
} from 'undici'
import { Agent, Dispatcher, ProxyAgent } from './undici-parts.ts'

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
  return [...getCACertificates('default'), ...extra]
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

/** Routes each request to the direct agent or the proxy for its scheme. */
export class RoutingDispatcher extends Dispatcher {
  readonly #direct: UndiciAgent
  readonly #httpProxy: UndiciProxyAgent | undefined
  readonly #httpsProxy: UndiciProxyAgent | undefined
  readonly #noProxy: NoProxyEntry[]

  constructor(options: { caCerts?: string; env: ProxyEnv }) {
    super()
    const ca = caList(options.caCerts, options.env)
    const tls = ca ? { ca } : {}
    this.#direct = new Agent({ connect: tls })
    const httpProxy = getEnv(options.env, 'http_proxy')
    const httpsProxy = getEnv(options.env, 'https_proxy') ?? httpProxy
    const proxy = (uri: string): UndiciProxyAgent =>
      new ProxyAgent({ uri, requestTls: tls, proxyTls: tls })
    this.#httpProxy = httpProxy ? proxy(httpProxy) : undefined
    this.#httpsProxy = httpsProxy ? proxy(httpsProxy) : undefined
    this.#noProxy = parseNoProxy(getEnv(options.env, 'no_proxy'))
  }

  #pick(origin: string | URL | undefined): UndiciDispatcher {
    if (origin === undefined) return this.#direct
    const url = new URL(String(origin))
    if (bypassesProxy(url, this.#noProxy)) return this.#direct
    const proxy = url.protocol === 'https:' ? this.#httpsProxy : this.#httpProxy
    return proxy ?? this.#direct
  }

  override dispatch(
    options: UndiciDispatcher.DispatchOptions,
    handler: UndiciDispatcher.DispatchHandlers
  ): boolean {
    return this.#pick(options.origin).dispatch(options, handler)
  }

  #all(): UndiciDispatcher[] {
    return [this.#direct, this.#httpProxy, this.#httpsProxy].filter(
      (d): d is NonNullable<typeof d> => d !== undefined
    )
  }

  override async close(): Promise<void> {
    await Promise.all(this.#all().map(d => d.close()))
  }

  override async destroy(): Promise<void> {
    await Promise.all(this.#all().map(d => d.destroy()))
  }
}
