// A forward proxy on loopback, plain http or TLS, as a company proxy is seen
// by clients: CONNECT tunnels, and absolute-form requests forwarded (with
// Proxy-Authorization removed, as RFC 9110 §11.7.1 has proxies do). Every
// target goes to 127.0.0.1 at the target's port, so targets can carry names
// (registry.test) that the client itself never resolves. It records what it
// saw, can demand credentials (407), refuse tunnels (403) or never answer a
// CONNECT.
import {
  createServer as createHttpServer,
  request,
  type Server
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { connect } from 'node:net'
import { listenLoopback, type Listening } from './loopback.ts'

export interface ForwardProxyOptions {
  /** Serve the proxy over TLS with this key and certificate (PEM). */
  tls?: { key: string; cert: string }
  /** Demand this `Basic …` Proxy-Authorization; else answer 407. */
  requireAuth?: string
  /** Answer every CONNECT with 403. */
  refuseConnect?: boolean
  /** Never answer a CONNECT (the client must give up on its own). */
  stallConnect?: boolean
}

export interface ForwardProxy extends Listening {
  /** CONNECT targets (`host:port`), one per tunnel asked for. */
  tunnels: string[]
  /** Forwarded request lines (`GET http://…`). */
  forwarded: string[]
  /** Proxy-Authorization of each CONNECT and forwarded request. */
  auths: (string | undefined)[]
}

export async function startForwardProxy(
  o: ForwardProxyOptions = {}
): Promise<ForwardProxy> {
  const tunnels: string[] = []
  const forwarded: string[] = []
  const auths: (string | undefined)[] = []
  const authorized = (auth: string | undefined): boolean =>
    !o.requireAuth || auth === o.requireAuth
  const server: Server = o.tls
    ? createHttpsServer({ ...o.tls, maxHeaderSize: 256 * 1024 })
    : createHttpServer({ maxHeaderSize: 256 * 1024 })
  server.on('request', (req, res) => {
    const auth = req.headers['proxy-authorization']
    forwarded.push(`${req.method} ${req.url}`)
    auths.push(auth)
    if (!authorized(auth)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end()
      return
    }
    const target = new URL(req.url ?? '')
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    const up = request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers,
        maxHeaderSize: 256 * 1024
      },
      upRes => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
      }
    )
    up.on('error', () => res.writeHead(502).end())
    req.pipe(up)
  })
  server.on('connect', (req, client, head) => {
    const auth = req.headers['proxy-authorization']
    tunnels.push(req.url ?? '')
    auths.push(auth)
    client.on('error', () => client.destroy())
    if (o.stallConnect) return
    if (!authorized(auth)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="test"\r\ncontent-length: 0\r\n\r\n'
      )
      return
    }
    if (o.refuseConnect) {
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\n\r\nforbidden')
      return
    }
    const port = Number((req.url ?? '').split(':').at(-1))
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  const listening = await listenLoopback(server)
  return {
    ...listening,
    url: o.tls ? listening.url.replace('http:', 'https:') : listening.url,
    tunnels,
    forwarded,
    auths
  }
}
