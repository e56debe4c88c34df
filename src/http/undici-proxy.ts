// undici's ProxyAgent, for requests that must go through an HTTP(S) proxy.
// Loaded by RoutingTransport only when a proxy is configured, from undici's
// own modules rather than its index (which also loads fetch, WebSocket,
// caches and mocks). Like the index, we attach the request API to
// Dispatcher.prototype.
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js'
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js'
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
    maxHeaderSize: MAX_HEADER_BYTES
  })
}
