import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { after, test } from 'node:test'
import {
  bypassesProxy,
  caList,
  parseNoProxy
} from '../../../src/http/transport.ts'
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

/** A CONNECT-only forward proxy on loopback; records the tunnels it opens. */
async function connectProxy(): Promise<{ proxy: string; tunnels: string[] }> {
  const tunnels: string[] = []
  const proxyServer = createServer((_req, res) => res.writeHead(405).end())
  proxyServer.on('connect', (req, client, head) => {
    tunnels.push(req.url ?? '')
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  const proxy = await listen(proxyServer)
  return { proxy, tunnels }
}

test('NO_PROXY matching: exact, suffix, leading dot, port, wildcard', () => {
  const entries = parseNoProxy(
    'localhost, .corp.example,internal.example:8443 registry.local'
  )
  const by = (u: string): boolean => bypassesProxy(new URL(u), entries)
  assert.equal(by('http://localhost:5000/'), true)
  assert.equal(by('https://a.corp.example/'), true)
  assert.equal(by('https://corp.example/'), true)
  assert.equal(by('https://internal.example:8443/'), true)
  assert.equal(by('https://internal.example/'), false)
  assert.equal(by('https://x.registry.local/'), true)
  assert.equal(by('https://notcorp.example/'), false)
  assert.equal(by('https://ghcr.io/'), false)
  assert.equal(
    bypassesProxy(new URL('https://ghcr.io/'), parseNoProxy('*')),
    true
  )
  assert.deepEqual(parseNoProxy(undefined), [])
})

test('caList: undefined without extras; Node defaults plus extras otherwise', () => {
  assert.equal(caList(undefined, {}), undefined)
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
  const list = caList(pem, {})
  assert.ok(list && list.length > 10, 'keeps the public roots')
  assert.equal(list.at(-1), pem)
  assert.throws(
    () => caList(undefined, { SSL_CERT_FILE: '/nonexistent/ca.pem' }),
    /SSL_CERT_FILE/
  )
})

test('HTTP_PROXY routes through a CONNECT proxy; NO_PROXY bypasses it', async () => {
  const origin = await listen(
    createServer((_req, res) => res.writeHead(200).end('origin'))
  )
  const { proxy, tunnels } = await connectProxy()

  const via = new HttpClient({
    userAgent: 't',
    env: { http_proxy: `http://${proxy}` },
    retries: 0
  })
  const res = await via.request({ method: 'GET', url: `http://${origin}/` })
  assert.equal(res.text(), 'origin')
  assert.deepEqual(tunnels, [origin])
  await via.close()

  const bypass = new HttpClient({
    userAgent: 't',
    env: { HTTP_PROXY: `http://${proxy}`, NO_PROXY: '127.0.0.1' },
    retries: 0
  })
  assert.equal(
    (await bypass.request({ method: 'GET', url: `http://${origin}/` })).text(),
    'origin'
  )
  assert.equal(tunnels.length, 1)
  await bypass.close()
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
  const { proxy, tunnels } = await connectProxy()
  for (const env of [{}, { HTTP_PROXY: `http://${proxy}` }]) {
    const client = new HttpClient({ userAgent: 't', retries: 0, env })
    const res = await client.request({
      method: 'GET',
      url: `http://${origin}/`
    })
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-big']?.length, big.length)
    await client.close()
  }
  assert.equal(tunnels.length, 1, 'the second request went through the proxy')
})
