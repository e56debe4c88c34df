import assert from 'node:assert/strict'
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import { after, describe, test } from 'node:test'
import { MockAgent } from 'undici'
import { HttpClient, HttpError, isJsonBody } from '../../../src/http/index.ts'
import { MemoryLogger } from '../../../src/util/index.ts'

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void

interface Loopback {
  url: string
  hits: {
    method: string
    url: string
    headers: IncomingMessage['headers']
    body: string
  }[]
  close(): Promise<void>
}

const servers: Loopback[] = []
after(() => Promise.all(servers.map(s => s.close())))

async function serve(handler: Handler): Promise<Loopback> {
  const hits: Loopback['hits'] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', c => (body += c))
    req.on('end', () => {
      hits.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body
      })
      handler(req, res, body)
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  const lb: Loopback = {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>(r => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
  servers.push(lb)
  return lb
}

/** Answers from `script` in order, then 200 "ok" forever. */
function sequence(
  ...script: ((res: ServerResponse, req: IncomingMessage) => void)[]
): Handler {
  let i = 0
  return (req, res) => {
    const step = script[i++]
    if (step) step(res, req)
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  }
}

const fast = (
  extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}
): HttpClient =>
  new HttpClient({
    userAgent: 'sigil-test/1',
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    env: {},
    ...extra
  })

describe('HttpClient retries', () => {
  test('503 then 200', async () => {
    const s = await serve(sequence(res => res.writeHead(503).end('busy')))
    const res = await fast().request({ method: 'GET', url: `${s.url}/x` })
    assert.equal(res.status, 200)
    assert.equal(res.text(), 'ok')
    assert.equal(s.hits.length, 2)
    assert.equal(s.hits[0]?.headers['user-agent'], 'sigil-test/1')
  })

  test('429 with Retry-After: 1 waits about a second', async () => {
    const s = await serve(
      sequence(res => res.writeHead(429, { 'retry-after': '1' }).end())
    )
    const started = Date.now()
    const res = await fast().request({ method: 'GET', url: s.url })
    assert.equal(res.status, 200)
    assert.ok(Date.now() - started >= 950, 'honours Retry-After')
  })

  test('Retry-After beyond the budget: the 429 is returned at once', async () => {
    const s = await serve(
      sequence(res => res.writeHead(429, { 'retry-after': '120' }).end())
    )
    const started = Date.now()
    const res = await fast({ budgetMs: 2000 }).request({
      method: 'GET',
      url: s.url
    })
    assert.equal(res.status, 429)
    assert.ok(Date.now() - started < 1000)
    assert.equal(s.hits.length, 1)
  })

  test('a reset connection then 200', async () => {
    const s = await serve(sequence((_res, req) => req.socket.destroy()))
    const res = await fast().request({
      method: 'PUT',
      url: s.url,
      body: 'data'
    })
    assert.equal(res.status, 200)
    assert.equal(s.hits.length, 2)
    assert.equal(s.hits[1]?.body, 'data')
  })

  test('final 5xx resolves once retries are spent (the caller judges)', async () => {
    const s = await serve((_req, res) => res.writeHead(502).end('bad gateway'))
    const res = await fast({ retries: 2 }).request({
      method: 'GET',
      url: s.url
    })
    assert.equal(res.status, 502)
    assert.equal(s.hits.length, 3)
  })

  test('gives up past the budget with HTTP_TIMEOUT naming method, URL and attempts', async () => {
    const s = await serve(() => {
      /* never answers */
    })
    const logger = new MemoryLogger()
    const started = Date.now()
    await assert.rejects(
      fast({ timeoutMs: 150, budgetMs: 400, retries: 10, logger }).request({
        method: 'GET',
        url: `${s.url}/slow?token=s3cret`
      }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError)
        assert.equal(e.code, 'HTTP_TIMEOUT')
        assert.equal(e.status, undefined)
        assert.match(
          e.message,
          /^GET http:\/\/127\.0\.0\.1:\d+\/slow\?token=REDACTED failed after \d+ attempts over \d+\.\d s: no complete response/
        )
        assert.doesNotMatch(e.message, /s3cret/)
        return true
      }
    )
    assert.ok(Date.now() - started < 1500)
    assert.ok(s.hits.length >= 2)
    assert.doesNotMatch(logger.text(), /s3cret/)
  })

  test('the budget, not a count, ends the retries: 20 failures then 200', async () => {
    let n = 0
    const s = await serve((_req, res) =>
      ++n <= 20 ? res.writeHead(503).end('busy') : res.writeHead(200).end('ok')
    )
    const res = await fast({ backoffBaseMs: 1, backoffMaxMs: 2 }).request({
      method: 'GET',
      url: s.url
    })
    assert.equal(res.status, 200)
    assert.equal(res.attempts, 21)
    assert.equal(s.hits.length, 21)
  })

  test('a long backoff draw is cut so the last attempt fits in the budget', async () => {
    const upAt = Date.now() + 400
    const s = await serve((_req, res) =>
      Date.now() < upAt
        ? res.writeHead(503).end()
        : res.writeHead(200).end('ok')
    )
    const res = await fast({
      budgetMs: 1500,
      backoffBaseMs: 5000,
      backoffMaxMs: 5000
    }).request({ method: 'GET', url: s.url })
    assert.equal(res.status, 200)
  })

  test('a final 5xx says how many attempts over how long', async () => {
    const s = await serve((_req, res) => res.writeHead(503).end('busy'))
    const started = Date.now()
    const res = await fast({
      budgetMs: 300,
      backoffBaseMs: 20,
      backoffMaxMs: 40
    }).request({ method: 'GET', url: s.url })
    const elapsed = Date.now() - started
    assert.equal(res.status, 503)
    assert.ok(elapsed < 1500, `stopped near the budget (${elapsed} ms)`)
    assert.ok((res.attempts ?? 0) > 3)
    assert.match(
      HttpError.fromResponse({ method: 'GET', url: s.url }, res).message,
      /returned HTTP 503 \(after \d+ attempts over 0\.\d s\)/
    )
  })

  test('a 2xx the caller finds incomplete is retried; retry: false sends once', async () => {
    const s = await serve(
      sequence(
        res =>
          res
            .writeHead(201, { 'content-type': 'application/json' })
            .end('{"a":'),
        res =>
          res
            .writeHead(201, { 'content-type': 'application/json' })
            .end('{"a":1}')
      )
    )
    const res = await fast().request({
      method: 'POST',
      url: s.url,
      retrySafe: true,
      complete: isJsonBody
    })
    assert.equal(res.status, 201)
    assert.deepEqual(res.json(), { a: 1 })
    assert.equal(s.hits.length, 2)
    const once = await serve((_req, res) => res.writeHead(503).end())
    const r2 = await fast().request({
      method: 'PUT',
      url: once.url,
      retry: false
    })
    assert.equal(r2.status, 503)
    assert.equal(once.hits.length, 1)
  })

  test('connection refused is retried then reported as HTTP_NETWORK_ERROR', async () => {
    const s = await serve(() => {})
    await s.close()
    await assert.rejects(
      fast({ retries: 2 }).request({ method: 'GET', url: s.url }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError)
        assert.equal(e.code, 'HTTP_NETWORK_ERROR')
        assert.match(
          e.message,
          /failed after 3 attempts over \d+\.\d s: .*ECONNREFUSED/
        )
        return true
      }
    )
  })

  test('POST is not retried unless retrySafe', async () => {
    const s = await serve(
      sequence(
        res => res.writeHead(503).end(),
        res => res.writeHead(503).end()
      )
    )
    const once = await fast().request({ method: 'POST', url: s.url, body: 'x' })
    assert.equal(once.status, 503)
    assert.equal(s.hits.length, 1)
    const retried = await fast().request({
      method: 'POST',
      url: s.url,
      body: 'x',
      retrySafe: true
    })
    assert.equal(retried.status, 200)
    assert.equal(s.hits.length, 3)
  })

  test('POST on a reset connection is not repeated', async () => {
    const s = await serve(sequence((_res, req) => req.socket.destroy()))
    await assert.rejects(
      fast().request({ method: 'POST', url: s.url, body: 'x' }),
      {
        code: 'HTTP_NETWORK_ERROR'
      }
    )
    assert.equal(s.hits.length, 1)
  })

  test('4xx other than 408/429 is not retried', async () => {
    const s = await serve((_req, res) => res.writeHead(404).end())
    const res = await fast().request({ method: 'GET', url: s.url })
    assert.equal(res.status, 404)
    assert.equal(s.hits.length, 1)
  })
})

describe('HttpClient redirects', () => {
  test('cross-origin hop drops Authorization and Cookie; same-origin keeps them', async () => {
    const storage = await serve((_req, res) => res.writeHead(200).end('blob'))
    const registry = await serve((req, res) => {
      if (req.url === '/same') res.writeHead(307, { location: '/final' }).end()
      else if (req.url === '/final') res.writeHead(200).end('same')
      else
        res
          .writeHead(307, {
            location: `${storage.url}/bucket/blob?X-Amz-Signature=abc`
          })
          .end()
    })
    const headers = {
      authorization: 'Bearer secret-token-1',
      cookie: 'c=1',
      accept: 'x/y'
    }
    const cross = await fast().request({
      method: 'GET',
      url: `${registry.url}/v2/blob`,
      headers
    })
    assert.equal(cross.text(), 'blob')
    assert.equal(cross.url, `${storage.url}/bucket/blob?X-Amz-Signature=abc`)
    const hop = storage.hits[0]
    assert.equal(hop?.headers.authorization, undefined)
    assert.equal(hop?.headers.cookie, undefined)
    assert.equal(hop?.headers.accept, 'x/y')

    const same = await fast().request({
      method: 'GET',
      url: `${registry.url}/same`,
      headers
    })
    assert.equal(same.text(), 'same')
    assert.equal(
      registry.hits.at(-1)?.headers.authorization,
      'Bearer secret-token-1'
    )
  })

  test('303 turns a POST into a GET without body', async () => {
    const s = await serve((req, res) => {
      if (req.method === 'POST') res.writeHead(303, { location: '/done' }).end()
      else res.writeHead(200).end(req.method)
    })
    const res = await fast().request({
      method: 'POST',
      url: s.url,
      body: 'payload',
      headers: { 'content-type': 'text/plain' }
    })
    assert.equal(res.text(), 'GET')
    assert.equal(s.hits[1]?.body, '')
  })

  test('more than 5 redirects is HTTP_TOO_MANY_REDIRECTS', async () => {
    const s = await serve((_req, res) =>
      res.writeHead(302, { location: '/again' }).end()
    )
    await assert.rejects(fast().request({ method: 'GET', url: s.url }), {
      code: 'HTTP_TOO_MANY_REDIRECTS'
    })
    assert.equal(s.hits.length, 6)
  })
})

describe('HttpClient bodies and errors', () => {
  test('body cap: HTTP_BODY_TOO_LARGE, not retried', async () => {
    const s = await serve((_req, res) =>
      res.writeHead(200).end('x'.repeat(2048))
    )
    await assert.rejects(
      fast().request({ method: 'GET', url: s.url, maxBodyBytes: 1024 }),
      {
        code: 'HTTP_BODY_TOO_LARGE'
      }
    )
    assert.equal(s.hits.length, 1)
  })

  test('headers are lower-case and json() parses', async () => {
    const s = await serve((_req, res) =>
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'X-Thing': 'A' })
        .end('{"a":1}')
    )
    const res = await fast().request({ method: 'GET', url: s.url })
    assert.equal(res.headers['x-thing'], 'A')
    assert.deepEqual(res.json(), { a: 1 })
  })

  test('HttpError.fromResponse: redacted URL, parsed body, registry error summary', () => {
    const body = new TextEncoder().encode(
      '{"errors":[{"code":"DENIED","message":"no push"}]}'
    )
    const res = {
      status: 403,
      url: 'https://user:pw@reg.example/v2/x?access_token=abc&n=1',
      headers: {},
      body,
      text: () => '',
      json: <T>() => ({}) as T
    }
    const e = HttpError.fromResponse({ method: 'PUT', url: res.url }, res)
    assert.equal(e.code, 'HTTP_STATUS')
    assert.equal(e.status, 403)
    assert.equal(
      e.url,
      'https://REDACTED@reg.example/v2/x?access_token=REDACTED&n=1'
    )
    assert.deepEqual(e.body, {
      errors: [{ code: 'DENIED', message: 'no push' }]
    })
    assert.equal(
      e.message,
      'PUT https://REDACTED@reg.example/v2/x?access_token=REDACTED&n=1 returned HTTP 403: DENIED no push'
    )
    assert.doesNotMatch(e.message, /pw|abc/)
  })

  test('non-JSON error bodies are kept as capped text', () => {
    const big = new TextEncoder().encode('<html>'.padEnd(100_000, 'x'))
    const res = {
      status: 500,
      url: 'https://h/x',
      headers: {},
      body: big,
      text: () => '',
      json: <T>() => ({}) as T
    }
    const e = HttpError.fromResponse({ method: 'GET', url: res.url }, res)
    assert.equal(typeof e.body, 'string')
    assert.equal((e.body as string).length, 64 * 1024)
  })
})

describe('HttpClient with MockAgent', () => {
  test('uses the injected transport and logs redacted attempts', async () => {
    const agent = new MockAgent()
    agent.disableNetConnect()
    const pool = agent.get('https://fulcio.example')
    pool
      .intercept({ path: '/api/v2/x?token=abc', method: 'POST' })
      .reply(500, 'oops')
    pool
      .intercept({ path: '/api/v2/x?token=abc', method: 'POST' })
      .reply(201, { ok: true })
    const logger = new MemoryLogger()
    const client = fast({ transport: agent, logger })
    const res = await client.request({
      method: 'POST',
      url: 'https://fulcio.example/api/v2/x?token=abc',
      body: '{}',
      retrySafe: true,
      headers: { Authorization: 'Bearer very-secret-value' }
    })
    assert.equal(res.status, 201)
    assert.deepEqual(res.json(), { ok: true })
    agent.assertNoPendingInterceptors()
    assert.match(
      logger.text(),
      /POST https:\/\/fulcio\.example\/api\/v2\/x\?token=REDACTED \(attempt 2\)/
    )
    assert.doesNotMatch(logger.text(), /abc|very-secret/)
    await agent.close()
  })

  test('an unmatched request (net connect disabled) fails fast, unretried', async () => {
    const agent = new MockAgent()
    agent.disableNetConnect()
    await assert.rejects(
      fast({ transport: agent }).request({
        method: 'GET',
        url: 'https://nowhere.example/'
      }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError)
        assert.equal(e.code, 'HTTP_NETWORK_ERROR')
        assert.match(e.message, /after 1 attempt:/)
        return true
      }
    )
    await agent.close()
  })
})
