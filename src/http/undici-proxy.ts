// undici's ProxyAgent, for requests that must go through an HTTP(S) proxy.
// Loaded by RoutingTransport only when a proxy is configured, from undici's
// own modules rather than its index (which also loads fetch, WebSocket,
// caches and mocks). Like the index, we attach the request API to
// Dispatcher.prototype.
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js'
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js'
import Pool from 'undici/lib/dispatcher/pool.js'
import api from 'undici/lib/api/index.js'
import { MAX_HEADER_BYTES, type Transport } from './transport.ts'

Object.assign(Dispatcher.prototype, api)

export function createProxyAgent(
  uri: string,
  ca: string[] | undefined
): Transport {
  const tls = ca ? { ca } : {}
  return new ProxyAgent({
    uri,
    requestTls: tls,
    proxyTls: tls,
    // Plain-http targets are forwarded to an http:// proxy (absolute-form
    // request line), not tunnelled: many proxies allow CONNECT to 443 only.
    proxyTunnel: false,
    // Also for the forwarding client, which ProxyAgent builds with this factory.
    factory: (origin: URL | string, options: object) =>
      new Pool(origin, { ...options, maxHeaderSize: MAX_HEADER_BYTES }),
    maxHeaderSize: MAX_HEADER_BYTES
  })
}
