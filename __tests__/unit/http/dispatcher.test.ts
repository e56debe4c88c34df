import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { after, test } from 'node:test'
import {
  bypassesProxy,
  caList,
  parseNoProxy
} from '../../../src/http/dispatcher.ts'
import { HttpClient } from '../../../src/http/index.ts'

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
