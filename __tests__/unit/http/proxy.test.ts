// The proxy transport (src/http/proxy.ts) against a loopback forward proxy,
// plain and TLS, and loopback targets with names the client never resolves
// (the proxy sends them to 127.0.0.1): CONNECT tunnels with Proxy-
// Authorization and TLS to the target inside, forwarding of plain-http
// targets, refusals and stalls, and where credentials go.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { HttpClient, HttpError } from '../../../src/http/index.ts'
import { AppError } from '../../../src/util/index.ts'
import {
  startForwardProxy,
  type ForwardProxy,
  type ForwardProxyOptions
} from '../../support/forward-proxy.ts'
import { listenLoopback } from '../../support/loopback.ts'

const PASSWORD = 'p@ss w0rd:proxy-secret'
const USER_URL = `user:${encodeURIComponent(PASSWORD)}`
const BASIC = `Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`

let tlsKey: string
let tlsCert: string
const stops: (() => Promise<void>)[] = []

interface Seen {
  servername: string | false | undefined
  host: string | undefined
  path: string | undefined
  headers: IncomingHttpHeaders
}

/** An https target (registry.test and other.test, one certificate) and a
 * plain-http one; both record every request. /hop redirects to other.test. */
let httpsPort: string
let httpPort: string
const seen: Seen[] = []

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-proxy-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'tls.key'),
        '-out',
        join(dir, 'tls.crt'),
        '-days',
        '2',
        '-subj',
        '/CN=registry.test',
        '-addext',
        'subjectAltName=DNS:registry.test,DNS:other.test,IP:127.0.0.1'
      ],
      { stdio: 'pipe' }
    )
    tlsKey = readFileSync(join(dir, 'tls.key'), 'utf8')
    tlsCert = readFileSync(join(dir, 'tls.crt'), 'utf8')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push({
      servername: (req.socket as Partial<TLSSocket>).servername ?? undefined,
      host: req.headers.host,
      path: req.url,
      headers: req.headers
    })
    req.resume()
    req.on('end', () => {
      if (req.url === '/hop') {
        res
          .writeHead(307, {
            location: `https://other.test:${httpsPort}/landed`
          })
          .end()
      } else res.writeHead(200).end(`hello ${req.url}`)
    })
  }
  const secure = await listenLoopback(
    createHttpsServer({ key: tlsKey, cert: tlsCert }, handler)
  )
  const plain = await listenLoopback(createServer(handler))
  httpsPort = secure.host.split(':')[1]!
  httpPort = plain.host.split(':')[1]!
  stops.push(secure.stop, plain.stop)
})
after(() => Promise.all(stops.map(s => s())))

async function proxy(o: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const p = await startForwardProxy(o)
  stops.push(p.stop)
  return p
}

function client(env: Record<string, string>, timeoutMs?: number): HttpClient {
  return new HttpClient({
    userAgent: 't',
    env,
    caCerts: tlsCert,
    retries: 3,
    backoffBaseMs: 1,
    ...(timeoutMs ? { timeoutMs } : {})
  })
}

test('an https target through an http proxy: CONNECT with Proxy-Authorization, TLS with SNI inside, the tunnel kept alive', async () => {
  const p = await proxy({ requireAuth: BASIC })
  const c = client({ HTTPS_PROXY: `http://${USER_URL}@${p.host}` })
  const from = seen.length
  for (const path of ['/v2/', '/v2/x?n=1']) {
    const res = await c.request({
      method: 'GET',
      url: `https://registry.test:${httpsPort}${path}`
    })
    assert.equal(res.text(), `hello ${path}`)
  }
  await c.close()
  assert.deepEqual(p.tunnels, [`registry.test:${httpsPort}`], 'one tunnel')
  assert.deepEqual(p.auths, [BASIC])
  assert.deepEqual(p.forwarded, [])
  const at = seen.slice(from)
  assert.deepEqual(
    at.map(s => [s.servername, s.host, s.path]),
    [
      ['registry.test', `registry.test:${httpsPort}`, '/v2/'],
      ['registry.test', `registry.test:${httpsPort}`, '/v2/x?n=1']
    ]
  )
})

test('through an https proxy: its certificate checked with the same CA list, tunnels and forwarding alike', async () => {
  const p = await proxy({
    tls: { key: tlsKey, cert: tlsCert },
    requireAuth: BASIC
  })
  const proxyUrl = `https://${USER_URL}@${p.host}`
  const c = client({ HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl })
  const from = seen.length
  const secure = await c.request({
    method: 'GET',
    url: `https://registry.test:${httpsPort}/s`
  })
  const plain = await c.request({
    method: 'GET',
    url: `http://registry.test:${httpPort}/p`
  })
  await c.close()
  assert.deepEqual([secure.text(), plain.text()], ['hello /s', 'hello /p'])
  assert.deepEqual(p.tunnels, [`registry.test:${httpsPort}`])
  assert.deepEqual(p.forwarded, [`GET http://registry.test:${httpPort}/p`])
  assert.deepEqual(p.auths, [BASIC, BASIC])
  assert.equal(seen.at(from)?.servername, 'registry.test')

  // Without our CA the proxy's certificate does not verify: a TLS problem.
  const untrusted = new HttpClient({
    userAgent: 't',
    env: { HTTPS_PROXY: proxyUrl },
    retries: 0
  })
  await assert.rejects(
    untrusted.request({ method: 'GET', url: `https://registry.test/` }),
    (e: unknown) => {
      assert.ok(e instanceof HttpError)
      assert.equal(e.code, 'HTTP_NETWORK_ERROR')
      assert.match(e.remedy ?? '', /SSL_CERT_FILE/)
      return true
    }
  )
  await untrusted.close()
})

test('a proxy that refuses CONNECT (407, 403): HTTP_NETWORK_ERROR saying so and what to change, not retried', async () => {
  const cases: [ForwardProxyOptions, string, number, RegExp][] = [
    [{ requireAuth: BASIC }, '', 407, /asks for credentials/],
    [
      { requireAuth: BASIC },
      'user:wrong-password@',
      407,
      /refused the credentials/
    ],
    [{ refuseConnect: true }, `${USER_URL}@`, 403, /NO_PROXY/]
  ]
  for (const [options, userinfo, status, remedy] of cases) {
    const p = await proxy(options)
    const c = client({ HTTPS_PROXY: `http://${userinfo}${p.host}` })
    await assert.rejects(
      c.request({ method: 'GET', url: 'https://registry.test/v2/' }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError)
        assert.equal(e.code, 'HTTP_NETWORK_ERROR')
        assert.match(
          e.message,
          new RegExp(
            `proxy http://${p.host} answered CONNECT registry.test:443 with HTTP ${status}`
          )
        )
        assert.match(e.remedy ?? '', remedy)
        assert.doesNotMatch(e.message, /wrong-password|p@ss/)
        return true
      }
    )
    await c.close()
    assert.equal(p.tunnels.length, 1, 'asked once: a refusal is an answer')
  }
})

test('proxy credentials never reach a target; target credentials do not follow a redirect to another host', async () => {
  const p = await proxy({ requireAuth: BASIC })
  const proxyUrl = `http://${USER_URL}@${p.host}`
  const c = client({ HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl })
  const from = seen.length
  const res = await c.request({
    method: 'GET',
    url: `https://registry.test:${httpsPort}/hop`,
    headers: { authorization: 'Bearer registry-token' }
  })
  assert.equal(res.text(), 'hello /landed')
  await c.request({ method: 'GET', url: `http://registry.test:${httpPort}/f` })
  await c.close()
  assert.deepEqual(p.tunnels, [
    `registry.test:${httpsPort}`,
    `other.test:${httpsPort}`
  ])
  // Every exchange with the proxy carried its credentials…
  assert.deepEqual(p.auths, [BASIC, BASIC, BASIC])
  const at = seen.slice(from)
  assert.deepEqual(
    at.map(s => [s.servername, s.path, s.headers.authorization]),
    [
      ['registry.test', '/hop', 'Bearer registry-token'],
      ['other.test', '/landed', undefined],
      [undefined, '/f', undefined]
    ]
  )
  // …and no target saw them, in a tunnel or forwarded.
  for (const s of at) {
    assert.equal(s.headers['proxy-authorization'], undefined)
    assert.doesNotMatch(JSON.stringify(s.headers), /proxy-secret/)
    assert.ok(!JSON.stringify(s.headers).includes(BASIC.slice(6)))
  }
})

test('a proxy that never answers CONNECT: HTTP_TIMEOUT within the attempt timeout', async () => {
  const p = await proxy({ stallConnect: true })
  const c = new HttpClient({
    userAgent: 't',
    env: { HTTPS_PROXY: `http://${p.host}` },
    retries: 0,
    timeoutMs: 200
  })
  const started = Date.now()
  await assert.rejects(
    c.request({ method: 'GET', url: 'https://registry.test/v2/' }),
    { code: 'HTTP_TIMEOUT' }
  )
  assert.ok(Date.now() - started < 5000)
  await c.close()
})

test('a proxy value without a scheme is http:// (as curl and Go read it); other schemes are HTTP_PROXY_INVALID', async () => {
  const p = await proxy()
  const c = client({ http_proxy: p.host })
  const res = await c.request({
    method: 'GET',
    url: `http://registry.test:${httpPort}/bare`
  })
  assert.equal(res.text(), 'hello /bare')
  assert.deepEqual(p.forwarded, [`GET http://registry.test:${httpPort}/bare`])
  await c.close()

  const socks = client({
    HTTPS_PROXY: 'socks5://user:secret-pw@127.0.0.1:1080'
  })
  await assert.rejects(
    socks.request({ method: 'GET', url: 'https://registry.test/' }),
    (e: unknown) => {
      assert.ok(e instanceof AppError)
      assert.equal(e.code, 'HTTP_PROXY_INVALID')
      assert.match(e.message, /scheme socks5/)
      assert.doesNotMatch(e.message, /secret-pw/)
      return true
    }
  )
  await socks.close()
})
