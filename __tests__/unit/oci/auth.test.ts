import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { MockAgent } from 'undici'
import { HttpClient } from '../../../src/http/index.ts'
import { covers } from '../../../src/oci/auth.ts'
import {
  parseChallenges,
  RegistryClient,
  RegistryError,
  type Credentials
} from '../../../src/oci/index.ts'

const REG = 'https://reg.example'
const AUTH = 'https://auth.example'
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      size: 2,
      digest: `sha256:${'1'.repeat(64)}`
    },
    layers: []
  })
)
const D = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`
const basic = (u: string, p: string): string =>
  `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`

function setup(
  credentials?: Credentials,
  registry = 'reg.example'
): { agent: MockAgent; client: RegistryClient } {
  const agent = new MockAgent()
  agent.disableNetConnect()
  const http = new HttpClient({ userAgent: 't', transport: agent, retries: 0 })
  return {
    agent,
    client: new RegistryClient(registry, {
      http,
      ...(credentials ? { credentials } : {})
    })
  }
}

const bearer = (
  realm = `${AUTH}/token`,
  extra = ''
): Record<string, string> => ({
  'www-authenticate': `Bearer realm="${realm}",service="reg.example"${extra}`
})
const manifestOk = {
  'content-type': 'application/vnd.oci.image.manifest.v1+json'
}

describe('parseChallenges', () => {
  test('quoted params, commas inside quotes, escapes, several challenges', () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://a/token",service="reg",scope="repository:x/y:pull,push"'
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://a/token',
            service: 'reg',
            scope: 'repository:x/y:pull,push'
          }
        }
      ]
    )
    assert.deepEqual(parseChallenges('Basic realm="test-realm"'), [
      { scheme: 'basic', params: { realm: 'test-realm' } }
    ])
    assert.deepEqual(
      parseChallenges(
        'Basic realm="a \\"q\\" b", Bearer realm=https://t/x , error=insufficient_scope'
      ),
      [
        { scheme: 'basic', params: { realm: 'a "q" b' } },
        {
          scheme: 'bearer',
          params: { realm: 'https://t/x', error: 'insufficient_scope' }
        }
      ]
    )
    assert.deepEqual(parseChallenges('BEARER Realm = "r"'), [
      { scheme: 'bearer', params: { realm: 'r' } }
    ])
    assert.deepEqual(parseChallenges(''), [])
    assert.deepEqual(parseChallenges(undefined), [])
  })

  test('scope coverage: push,pull serves pull, not the reverse', () => {
    assert.equal(
      covers(['repository:a:push,pull'], ['repository:a:pull']),
      true
    )
    assert.equal(
      covers(['repository:a:pull'], ['repository:a:push,pull']),
      false
    )
    assert.equal(covers(['repository:a:pull'], ['repository:b:pull']), false)
    assert.equal(covers(['repository:a:*'], ['repository:a:push,pull']), true)
    assert.equal(
      covers(
        ['repository:a:push,pull', 'repository:b:pull'],
        ['repository:a:push,pull', 'repository:b:pull']
      ),
      true
    )
  })
})

describe('bearer token flow', () => {
  test('fetches a token with Basic credentials for the scope and caches it', async () => {
    const { agent, client } = setup({ username: 'u', password: 'pw-secret' })
    const reg = agent.get(REG)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
    agent
      .get(AUTH)
      .intercept({
        path: '/token?service=reg.example&scope=repository%3Aorg%2Fapp%3Apull',
        method: 'GET',
        headers: { authorization: basic('u', 'pw-secret') }
      })
      .reply(200, { token: 'tok-1', expires_in: 300 })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: 'Bearer tok-1' }
      })
      .reply(200, MANIFEST, { headers: manifestOk })
      .times(2)
    assert.equal((await client.resolve('org/app', 'v1')).digest, D)
    assert.equal((await client.resolve('org/app', 'v1')).digest, D)
    agent.assertNoPendingInterceptors()
  })

  test('anonymous token when there are no credentials; access_token accepted', async () => {
    const { agent, client } = setup()
    const reg = agent.get(REG)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
    agent
      .get(AUTH)
      .intercept({
        path: p => p.startsWith('/token?'),
        method: 'GET',
        headers: h => !('authorization' in h)
      })
      .reply(200, { access_token: 'anon' })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: 'Bearer anon' }
      })
      .reply(200, MANIFEST, { headers: manifestOk })
    await client.resolve('org/app', 'v1')
    agent.assertNoPendingInterceptors()
  })

  test('a plain-http realm on a non-loopback host is refused', async () => {
    const { agent, client } = setup({ username: 'u', password: 'p' })
    agent
      .get(REG)
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer('http://auth.example/token') })
    await assert.rejects(client.resolve('org/app', 'v1'), (e: unknown) => {
      assert.ok(e instanceof RegistryError)
      assert.equal(e.code, 'REGISTRY_INSECURE_REALM')
      return true
    })
    agent.assertNoPendingInterceptors()
  })

  test('identity tokens use the OAuth2 refresh grant, falling back to GET on 404', async () => {
    const { agent, client } = setup({ identityToken: 'refresh-abc' })
    const reg = agent.get(REG)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
      .times(1)
    const auth = agent.get(AUTH)
    auth
      .intercept({
        path: '/token',
        method: 'POST',
        body: b => {
          const f = new URLSearchParams(String(b))
          return (
            f.get('grant_type') === 'refresh_token' &&
            f.get('refresh_token') === 'refresh-abc' &&
            f.get('scope') === 'repository:org/app:pull' &&
            f.get('service') === 'reg.example'
          )
        }
      })
      .reply(404, 'no oauth')
    auth
      .intercept({
        path: p => p.startsWith('/token?') && p.includes('service=reg.example'),
        method: 'GET'
      })
      .reply(200, { token: 'fallback' })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: 'Bearer fallback' }
      })
      .reply(200, MANIFEST, { headers: manifestOk })
    await client.resolve('org/app', 'v1')
    agent.assertNoPendingInterceptors()
  })

  test('401 mid-session re-challenges once with a fresh token', async () => {
    const { agent, client } = setup({ username: 'u', password: 'p' })
    const reg = agent.get(REG)
    const auth = agent.get(AUTH)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
    auth
      .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
      .reply(200, { token: 'old' })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: 'Bearer old' }
      })
      .reply(401, '', {
        headers: bearer(`${AUTH}/token`, ',error="invalid_token"')
      })
    auth
      .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
      .reply(200, { token: 'new' })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: 'Bearer new' }
      })
      .reply(200, MANIFEST, { headers: manifestOk })
    await client.resolve('org/app', 'v1')
    agent.assertNoPendingInterceptors()
  })

  test('401 for a token that concurrent requests shared: every one of them re-challenges', async () => {
    const { agent, client } = setup({ username: 'u', password: 'p' })
    const reg = agent.get(REG)
    const auth = agent.get(AUTH)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
    auth
      .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
      .reply(200, { token: 'old' })
    auth
      .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
      .reply(200, { token: 'new' })
      .persist()
    for (const tag of ['v1', 'v2', 'v3'])
      reg
        .intercept({
          path: `/v2/org/app/manifests/${tag}`,
          method: 'GET',
          headers: { authorization: 'Bearer old' }
        })
        .reply(401, '', {
          headers: bearer(`${AUTH}/token`, ',error="invalid_token"')
        })
    for (const tag of ['v1', 'v2', 'v3'])
      reg
        .intercept({
          path: `/v2/org/app/manifests/${tag}`,
          method: 'GET',
          headers: { authorization: 'Bearer new' }
        })
        .reply(200, MANIFEST, { headers: manifestOk })
    // The three requests hold the same token; the first 401 drops it from
    // the cache before the others' 401s are read.
    await Promise.all(['v1', 'v2', 'v3'].map(t => client.resolve('org/app', t)))
  })

  test('a refused token request is REGISTRY_UNAUTHORIZED without the password', async () => {
    const { agent, client } = setup({
      username: 'u',
      password: 'hunter2-secret'
    })
    agent
      .get(REG)
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
    agent
      .get(AUTH)
      .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
      .reply(401, { details: 'bad creds' })
    await assert.rejects(client.resolve('org/app', 'v1'), (e: unknown) => {
      assert.ok(e instanceof RegistryError)
      assert.equal(e.code, 'REGISTRY_UNAUTHORIZED')
      assert.match(e.remedy ?? '', /reg\.example\/org\/app/)
      assert.doesNotMatch(`${e.message}${e.remedy}`, /hunter2/)
      return true
    })
  })

  test('a registry token ({token}) is sent as-is', async () => {
    const { agent, client } = setup({ token: 'raw-registry-token' })
    const reg = agent.get(REG)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: bearer() })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: 'Bearer raw-registry-token' }
      })
      .reply(200, MANIFEST, { headers: manifestOk })
    await client.resolve('org/app', 'v1')
    agent.assertNoPendingInterceptors()
  })
})

describe('basic auth', () => {
  test('Basic challenge: credentials on every request; none when the registry is open', async () => {
    const { agent, client } = setup({ username: 'u', password: 'p' })
    const reg = agent.get(REG)
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': 'Basic realm="r"' } })
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: { authorization: basic('u', 'p') }
      })
      .reply(200, MANIFEST, { headers: manifestOk })
    await client.resolve('org/app', 'v1')
    agent.assertNoPendingInterceptors()

    const open = setup({ username: 'u', password: 'p' })
    const r2 = open.agent.get(REG)
    r2.intercept({ path: '/v2/', method: 'GET' }).reply(200, '{}')
    r2.intercept({
      path: '/v2/org/app/manifests/v1',
      method: 'GET',
      headers: h => !('authorization' in h)
    }).reply(200, MANIFEST, { headers: manifestOk })
    await open.client.resolve('org/app', 'v1')
    open.agent.assertNoPendingInterceptors()
  })
})

test('parallel requests share one token request', async () => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  const http = new HttpClient({ userAgent: 't', transport: agent, retries: 0 })
  const client = new RegistryClient('reg.example', {
    http,
    credentials: { username: 'u', password: 'p' }
  })
  const reg = agent.get(REG)
  reg
    .intercept({ path: '/v2/', method: 'GET' })
    .reply(401, '', { headers: bearer() })
  agent
    .get(AUTH)
    .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
    .reply(200, { token: 'shared' })
  reg
    .intercept({
      path: '/v2/org/app/manifests/v1',
      method: 'GET',
      headers: { authorization: 'Bearer shared' }
    })
    .reply(200, MANIFEST, { headers: manifestOk })
    .times(3)
  await Promise.all([1, 2, 3].map(() => client.resolve('org/app', 'v1')))
  agent.assertNoPendingInterceptors()
})

test('concurrent uploads and reads: one token request per scope set, cached for later requests', async () => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  const http = new HttpClient({ userAgent: 't', transport: agent, retries: 0 })
  const client = new RegistryClient('reg.example', {
    http,
    credentials: { username: 'u', password: 'p' }
  })
  const reg = agent.get(REG)
  reg
    .intercept({ path: '/v2/', method: 'GET' })
    .reply(401, '', { headers: bearer() })
  const asked: string[] = []
  agent
    .get(AUTH)
    .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
    .reply(opts => {
      const scopes = new URL(String(opts.path), AUTH).searchParams.getAll(
        'scope'
      )
      asked.push(scopes.join(' '))
      return { statusCode: 200, data: { token: `tok-${asked.length}` } }
    })
    .persist()
  reg
    .intercept({
      path: p => p.startsWith('/v2/org/app/blobs/uploads/'),
      method: 'POST'
    })
    .reply(201, '')
    .persist()
  reg
    .intercept({ path: '/v2/org/app/manifests/v1', method: 'GET' })
    .reply(200, MANIFEST, { headers: manifestOk })
    .persist()
  const upload = (i: number): Promise<unknown> =>
    client.uploadBlob('org/app', new Uint8Array([i]))
  // A pull and three pushes at once: the pull's token request is under way
  // (it does not cover push), the three pushes share one.
  await Promise.all([client.resolve('org/app', 'v1'), ...[1, 2, 3].map(upload)])
  assert.deepEqual(asked, [
    'repository:org/app:pull',
    'repository:org/app:push,pull'
  ])
  // Both tokens were cached: later requests ask for none.
  await Promise.all([upload(4), upload(5), client.resolve('org/app', 'v1')])
  assert.equal(asked.length, 2, asked.join(' | '))
})

test('a pull waits for a push,pull token request already under way', async () => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  const http = new HttpClient({ userAgent: 't', transport: agent, retries: 0 })
  const client = new RegistryClient('reg.example', {
    http,
    credentials: { username: 'u', password: 'p' }
  })
  const reg = agent.get(REG)
  reg
    .intercept({ path: '/v2/', method: 'GET' })
    .reply(401, '', { headers: bearer() })
  let n = 0
  agent
    .get(AUTH)
    .intercept({ path: p => p.startsWith('/token?'), method: 'GET' })
    .reply(() => ({ statusCode: 200, data: { token: `tok-${++n}` } }))
    .persist()
  reg
    .intercept({
      path: p => p.startsWith('/v2/org/app/blobs/uploads/'),
      method: 'POST'
    })
    .reply(201, '')
  reg
    .intercept({
      path: '/v2/org/app/manifests/v1',
      method: 'GET',
      headers: { authorization: 'Bearer tok-1' }
    })
    .reply(200, MANIFEST, { headers: manifestOk })
  await Promise.all([
    client.uploadBlob('org/app', new Uint8Array([1])),
    client.resolve('org/app', 'v1')
  ])
  assert.equal(n, 1)
})
