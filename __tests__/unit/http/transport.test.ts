import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { after, test } from 'node:test'
import {
  bypassesProxy,
  caList,
  defaultCAs,
  parseNoProxy
} from '../../../src/http/transport.ts'
import { AppError } from '../../../src/util/index.ts'
import { HttpClient, HttpError } from '../../../src/http/index.ts'

const closers: (() => Promise<void>)[] = []
after(() => Promise.all(closers.map(c => c())))

async function listen(server: Server): Promise<string> {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  closers.push(
    () =>
      new Promise<void>(r => {
        server.closeAllConnections()
        server.close(() => r())
      })
  )
  const addr = server.address()
  return `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
}

/**
 * A forward proxy on loopback that sends every target to 127.0.0.1 (so
 * targets can have names such as origin.test, which the client never
 * resolves): CONNECT tunnels, and absolute-form requests forwarded. It
 * records both. `refuseConnect` answers CONNECT with 403, as proxies that
 * allow CONNECT to 443 only do for other ports.
 */
async function forwardProxy(o: { refuseConnect?: boolean } = {}): Promise<{
  proxy: string
  tunnels: string[]
  forwarded: { line: string; auth: string | undefined }[]
}> {
  const tunnels: string[] = []
  const forwarded: { line: string; auth: string | undefined }[] = []
  const proxyServer = createServer(
    { maxHeaderSize: 256 * 1024 },
    (req, res) => {
      forwarded.push({
        line: `${req.method} ${req.url}`,
        auth: req.headers['proxy-authorization']
      })
      const target = new URL(req.url ?? '')
      const up = httpRequest(
        {
          host: '127.0.0.1',
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: req.method,
          headers: req.headers,
          maxHeaderSize: 256 * 1024
        },
        upRes => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          upRes.pipe(res)
        }
      )
      up.on('error', () => res.writeHead(502).end())
      req.pipe(up)
    }
  )
  proxyServer.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '')
    if (o.refuseConnect) {
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n')
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
    client.on('error', () => upstream.destroy())
  })
  const proxy = await listen(proxyServer)
  return { proxy, tunnels, forwarded }
}

/** 127.0.0.1:port → origin.test:port (a name that is not loopback). */
const named = (origin: string): string =>
  origin.replace('127.0.0.1', 'origin.test')

test('NO_PROXY: exact, suffix, leading dot and *., port, IPv6, wildcard', () => {
  const entries = parseNoProxy(
    'localdomain, .corp.example,*.svc.example internal.example:8443 [fd00::5]:5000 registry.local'
  )
  const by = (u: string): boolean => bypassesProxy(new URL(u), entries)
  assert.equal(by('https://a.corp.example/'), true)
  assert.equal(by('https://corp.example/'), true)
  assert.equal(by('https://x.svc.example/'), true)
  assert.equal(by('https://internal.example:8443/'), true)
  assert.equal(by('https://internal.example/'), false)
  assert.equal(by('http://[fd00::5]:5000/'), true)
  assert.equal(by('http://[fd00::5]:5001/'), false)
  assert.equal(by('https://x.registry.local/'), true)
  assert.equal(by('https://notcorp.example/'), false)
  assert.equal(by('https://ghcr.io/'), false)
  assert.equal(by('https://ghcr.io./'), false)
  assert.equal(
    bypassesProxy(new URL('https://ghcr.io/'), parseNoProxy('*')),
    true
  )
  assert.deepEqual(parseNoProxy(undefined), [])
})

test('NO_PROXY: CIDR ranges and IP literals match IP targets only', () => {
  const entries = parseNoProxy(
    '10.0.0.0/8, 192.168.1.7,fd00::/8, 172.16.0.0/12:5000'
  )
  const by = (u: string): boolean => bypassesProxy(new URL(u), entries)
  assert.equal(by('http://10.1.2.3:5000/'), true)
  assert.equal(by('http://11.1.2.3/'), false)
  assert.equal(by('https://192.168.1.7/'), true)
  assert.equal(by('https://192.168.1.8/'), false)
  assert.equal(by('https://[fd12::1]/'), true)
  assert.equal(by('https://[fe80::1]/'), false)
  assert.equal(by('http://172.20.0.1:5000/'), true)
  assert.equal(by('http://172.20.0.1:5001/'), false)
  // A name is not resolved to match a range (curl and Go do not either).
  assert.equal(by('https://10.example/'), false)
})

test('loopback and localhost are never proxied, whatever NO_PROXY says', () => {
  for (const u of [
    'http://localhost:5000/',
    'http://registry.localhost/',
    'http://127.0.0.1:5000/',
    'http://127.1.2.3/',
    'http://[::1]:5000/',
    'http://[::ffff:127.0.0.1]/'
  ]) {
    assert.equal(bypassesProxy(new URL(u), []), true, u)
  }
  assert.equal(bypassesProxy(new URL('http://128.0.0.1/'), []), false)
})

test('caList: undefined without extras; Node defaults plus extras otherwise', () => {
  assert.equal(caList(undefined, {}), undefined)
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
  const list = caList(pem, {})
  assert.ok(list && list.length > 10, 'keeps the public roots')
  assert.equal(list.at(-1), pem)
  assert.throws(
    () => caList(undefined, { SSL_CERT_FILE: '/nonexistent/ca.pem' }),
    (e: unknown) => {
      assert.ok(e instanceof AppError)
      assert.equal(e.code, 'HTTP_CA_FILE_UNREADABLE')
      assert.match(
        e.message,
        /SSL_CERT_FILE "\/nonexistent\/ca.pem" \(ENOENT\)/
      )
      return true
    }
  )
})

test('caList on a Node without tls.getCACertificates (Node 20): bundled roots, NODE_EXTRA_CA_CERTS and SSL_CERT_FILE read by us', t => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-ca-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const extra = join(dir, 'extra.pem')
  const file = join(dir, 'ssl-cert-file.pem')
  writeFileSync(extra, 'EXTRA')
  writeFileSync(file, 'SSLCERTFILE')
  const node20 = { rootCertificates: ['ROOT1', 'ROOT2'] }
  assert.deepEqual(
    caList(
      undefined,
      { SSL_CERT_FILE: file, NODE_EXTRA_CA_CERTS: extra },
      node20
    ),
    ['ROOT1', 'ROOT2', 'EXTRA', 'SSLCERTFILE']
  )
  // An unreadable NODE_EXTRA_CA_CERTS: Node warned at start-up and went on.
  assert.deepEqual(
    defaultCAs(node20, { NODE_EXTRA_CA_CERTS: join(dir, 'absent') }),
    ['ROOT1', 'ROOT2']
  )
  // Where the API exists it is used as is.
  assert.deepEqual(
    defaultCAs(
      { rootCertificates: ['R'], getCACertificates: () => ['FROM-API'] },
      { NODE_EXTRA_CA_CERTS: extra }
    ),
    ['FROM-API']
  )
})

test('plain-http targets are forwarded to HTTP_PROXY (absolute form, with proxy credentials), not tunnelled', async () => {
  const origin = await listen(
    createServer((req, res) => res.writeHead(200).end(`origin ${req.url}`))
  )
  const { proxy, tunnels, forwarded } = await forwardProxy({
    refuseConnect: true
  })
  const via = new HttpClient({
    userAgent: 't',
    env: { http_proxy: `http://user:pa%20ss@${proxy}` },
    retries: 0
  })
  const url = `http://${named(origin)}/v2/x?n=1`
  const res = await via.request({ method: 'GET', url })
  assert.equal(res.text(), 'origin /v2/x?n=1')
  assert.deepEqual(tunnels, [])
  assert.deepEqual(forwarded, [
    {
      line: `GET ${url}`,
      auth: `Basic ${Buffer.from('user:pa ss').toString('base64')}`
    }
  ])
  await via.close()
})

test('https targets go through a CONNECT tunnel of HTTPS_PROXY', async () => {
  const { proxy, tunnels, forwarded } = await forwardProxy({
    refuseConnect: true
  })
  const via = new HttpClient({
    userAgent: 't',
    env: { HTTPS_PROXY: `http://${proxy}` },
    retries: 0
  })
  await assert.rejects(
    via.request({ method: 'GET', url: 'https://registry.test/v2/' }),
    { code: 'HTTP_NETWORK_ERROR' }
  )
  assert.deepEqual(tunnels, ['registry.test:443'])
  assert.deepEqual(forwarded, [])
  await via.close()
})

test('NO_PROXY and loopback targets bypass the proxy', async () => {
  const origin = await listen(
    createServer((_req, res) => res.writeHead(200).end('origin'))
  )
  const { proxy, tunnels, forwarded } = await forwardProxy()
  // Loopback: direct even though NO_PROXY is empty.
  const loop = new HttpClient({
    userAgent: 't',
    env: { HTTP_PROXY: `http://${proxy}` },
    retries: 0
  })
  for (const host of ['127.0.0.1', 'localhost']) {
    const url = `http://${origin.replace('127.0.0.1', host)}/`
    assert.equal((await loop.request({ method: 'GET', url })).text(), 'origin')
  }
  await loop.close()
  assert.deepEqual([tunnels, forwarded], [[], []])
  // A name listed in NO_PROXY (port-specific): direct; not listed: proxied.
  const port = origin.split(':')[1]
  const listed = new HttpClient({
    userAgent: 't',
    env: { HTTP_PROXY: `http://${proxy}`, NO_PROXY: `.test:${port}` },
    retries: 0
  })
  await assert.rejects(
    listed.request({ method: 'GET', url: `http://${named(origin)}/` }),
    { code: 'HTTP_NETWORK_ERROR' } // direct: origin.test does not resolve
  )
  assert.deepEqual(forwarded, [])
  await listed.close()
})

/** Answers "ok" on a socket's first request; resets the socket on its second,
 * as a server does that closes an idle keep-alive connection just as the
 * client reuses it. */
async function resetsReusedSockets(): Promise<{
  origin: string
  connections: () => number
  requests: () => number
}> {
  let connections = 0
  let requests = 0
  const perSocket = new WeakMap<object, number>()
  const server = createServer((req, res) => {
    requests++
    const n = (perSocket.get(req.socket) ?? 0) + 1
    perSocket.set(req.socket, n)
    req.resume()
    req.on('end', () => {
      if (n > 1) req.socket.destroy()
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  server.on('connection', () => connections++)
  const origin = await listen(server)
  return { origin, connections: () => connections, requests: () => requests }
}

test('a reset on a reused keep-alive connection: a harmless request is sent again at once on a fresh one', async () => {
  const s = await resetsReusedSockets()
  const client = new HttpClient({ userAgent: 't', retries: 0, env: {} })
  const url = `http://${s.origin}/v2/`
  assert.equal((await client.request({ method: 'GET', url })).status, 200)
  const started = Date.now()
  const again = await client.request({ method: 'GET', url })
  assert.equal(again.status, 200)
  assert.equal(again.text(), 'ok')
  assert.equal(s.requests(), 3, 'the reset request was sent once more')
  assert.equal(s.connections(), 2)
  assert.ok(Date.now() - started < 200, 'no backoff wait')
  // POST marked retrySafe (Fulcio, Rekor, upload sessions) is resent too.
  const post = await client.request({
    method: 'POST',
    url,
    body: '{}',
    retrySafe: true
  })
  assert.equal(post.status, 200)
  await client.close()
})

test('a reset on a reused connection is not resent for a POST that is not retry-safe', async () => {
  const s = await resetsReusedSockets()
  const client = new HttpClient({ userAgent: 't', retries: 3, env: {} })
  const url = `http://${s.origin}/`
  await client.request({ method: 'GET', url })
  await assert.rejects(client.request({ method: 'POST', url, body: 'x' }), {
    code: 'HTTP_NETWORK_ERROR'
  })
  assert.equal(s.requests(), 2)
  await client.close()
})

test('a body that stalls after the headers times out as HTTP_TIMEOUT', async () => {
  const origin = await listen(
    createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('partial')
    })
  )
  const client = new HttpClient({
    userAgent: 't',
    retries: 0,
    timeoutMs: 150,
    env: {}
  })
  await assert.rejects(
    client.request({ method: 'GET', url: `http://${origin}/` }),
    (e: unknown) => {
      assert.ok(e instanceof HttpError)
      assert.equal(e.code, 'HTTP_TIMEOUT')
      assert.match(e.message, /no complete response within 150 ms/)
      return true
    }
  )
  await client.close()
})

test('PUT and POST without a body send Content-Length: 0 (registries refuse chunked empties)', async () => {
  const seen: (string | undefined)[] = []
  const origin = await listen(
    createServer((req, res) => {
      seen.push(req.headers['content-length'])
      req.resume()
      req.on('end', () => res.writeHead(201).end())
    })
  )
  const client = new HttpClient({ userAgent: 't', retries: 0, env: {} })
  await client.request({ method: 'PUT', url: `http://${origin}/` })
  await client.request({
    method: 'POST',
    url: `http://${origin}/`,
    retrySafe: true
  })
  await client.request({
    method: 'PUT',
    url: `http://${origin}/`,
    body: new Uint8Array(3)
  })
  assert.deepEqual(seen, ['0', '0', '3'])
  await client.close()
})

test('response headers beyond Node’s 16 KiB default are accepted (Google Artifact Registry sends such)', async () => {
  const big = 'x'.repeat(40 * 1024)
  const origin = await listen(
    createServer((_req, res) =>
      res
        .writeHead(200, { 'x-big': big, 'content-type': 'text/plain' })
        .end('ok')
    )
  )
  const { proxy, forwarded } = await forwardProxy()
  for (const [env, url] of [
    [{}, `http://${origin}/`],
    [{ HTTP_PROXY: `http://${proxy}` }, `http://${named(origin)}/`]
  ] as const) {
    const client = new HttpClient({ userAgent: 't', retries: 0, env })
    const res = await client.request({ method: 'GET', url })
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-big']?.length, big.length)
    await client.close()
  }
  assert.equal(forwarded.length, 1, 'the second request went through the proxy')
})
