import assert from 'node:assert/strict'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { MockAgent } from 'undici'
import { HttpClient } from '../../../src/http/index.ts'
import {
  MEDIA_TYPES,
  RegistryClient,
  RegistryError,
  listReferrers,
  pushReferrer,
  type Credentials,
  type Descriptor
} from '../../../src/oci/index.ts'
import { ociDigest, utf8 } from '../../../src/util/index.ts'

const OCI_JSON = { 'content-type': MEDIA_TYPES.OCI_MANIFEST }
const INDEX_JSON = { 'content-type': MEDIA_TYPES.OCI_INDEX }

function setup(
  opts: { credentials?: Credentials; registry?: string; open?: boolean } = {}
): {
  agent: MockAgent
  reg: ReturnType<MockAgent['get']>
  client: RegistryClient
} {
  const agent = new MockAgent()
  agent.disableNetConnect()
  const http = new HttpClient({ userAgent: 't', transport: agent, retries: 0 })
  const registry = opts.registry ?? 'reg.example'
  const client = new RegistryClient(registry, {
    http,
    ...(opts.credentials ? { credentials: opts.credentials } : {})
  })
  const reg = agent.get(client.origin)
  if (opts.open !== false)
    reg.intercept({ path: '/v2/', method: 'GET' }).reply(200, '{}')
  return { agent, reg, client }
}

const manifestBytes = utf8(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: {
      mediaType: MEDIA_TYPES.OCI_CONFIG,
      size: 2,
      digest: `sha256:${'c'.repeat(64)}`
    },
    layers: []
  })
)
const manifestDigest = ociDigest(manifestBytes)
/** MockAgent matcher for a request body sent as bytes. */
const bodyIs =
  (expected: string) =>
  (b: unknown): boolean =>
    (typeof b === 'string'
      ? b
      : Buffer.from(b as Uint8Array).toString('utf8')) === expected
const errBody = (code: string, message = 'x'): string =>
  JSON.stringify({ errors: [{ code, message }] })

describe('manifests', () => {
  test('resolve: one GET, the digest hashed from the bytes, no HEAD', async () => {
    const { agent, reg, client } = setup()
    reg
      .intercept({
        path: '/v2/org/app/manifests/v1',
        method: 'GET',
        headers: h => String(h.accept).includes(MEDIA_TYPES.OCI_INDEX)
      })
      .reply(200, Buffer.from(manifestBytes), { headers: OCI_JSON })
    assert.deepEqual(await client.resolve('org/app', 'v1'), {
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      size: manifestBytes.length,
      digest: manifestDigest
    })
    agent.assertNoPendingInterceptors()
  })

  test('index or manifest is decided by the body, whatever Content-Type says', async () => {
    const child = {
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      size: manifestBytes.length,
      digest: manifestDigest
    }
    const withType = utf8(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_INDEX,
        manifests: [child]
      })
    )
    const noType = utf8(
      JSON.stringify({ schemaVersion: 2, manifests: [child] })
    )
    const lies = [
      MEDIA_TYPES.OCI_MANIFEST,
      MEDIA_TYPES.DOCKER_MANIFEST,
      'application/octet-stream',
      ''
    ]
    for (const bytes of [withType, noType]) {
      for (const lie of lies) {
        const { reg, client } = setup()
        const digest = ociDigest(bytes)
        reg
          .intercept({ path: `/v2/org/app/manifests/${digest}`, method: 'GET' })
          .reply(200, Buffer.from(bytes), {
            headers: lie ? { 'content-type': lie } : {}
          })
        assert.deepEqual(
          await client.resolve('org/app', digest),
          { mediaType: MEDIA_TYPES.OCI_INDEX, size: bytes.length, digest },
          `content type ${lie || '(none)'}`
        )
      }
    }
    // An image manifest served as an index stays an image manifest.
    const { reg, client } = setup()
    reg
      .intercept({
        path: `/v2/org/app/manifests/${manifestDigest}`,
        method: 'GET'
      })
      .reply(200, Buffer.from(manifestBytes), { headers: INDEX_JSON })
    assert.equal(
      (await client.resolve('org/app', manifestDigest)).mediaType,
      MEDIA_TYPES.OCI_MANIFEST
    )
  })

  test('a body whose mediaType contradicts its shape, or that is both kinds, is invalid', async () => {
    const config = {
      mediaType: MEDIA_TYPES.OCI_CONFIG,
      size: 2,
      digest: `sha256:${'c'.repeat(64)}`
    }
    const bodies = [
      // index shape, image media type
      { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_MANIFEST, manifests: [] },
      // image shape, index media type
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.DOCKER_MANIFEST_LIST,
        config,
        layers: []
      },
      // both shapes
      { schemaVersion: 2, config, layers: [], manifests: [] },
      // neither
      { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_MANIFEST },
      // wrong schema version
      { schemaVersion: 1, manifests: [] }
    ]
    for (const body of bodies) {
      const { reg, client } = setup()
      const bytes = utf8(JSON.stringify(body))
      const digest = ociDigest(bytes)
      reg
        .intercept({ path: `/v2/org/app/manifests/${digest}`, method: 'GET' })
        .reply(200, Buffer.from(bytes), { headers: INDEX_JSON })
      await assert.rejects(
        client.getManifest('org/app', digest),
        (e: unknown) => {
          assert.ok(e instanceof RegistryError)
          assert.equal(e.code, 'REGISTRY_INVALID_RESPONSE')
          return true
        },
        JSON.stringify(body)
      )
    }
  })

  test('getManifest by digest verifies the bytes', async () => {
    const { reg, client } = setup()
    const other = `sha256:${'9'.repeat(64)}`
    reg
      .intercept({ path: `/v2/org/app/manifests/${other}`, method: 'GET' })
      .reply(200, Buffer.from(manifestBytes), { headers: OCI_JSON })
    await assert.rejects(client.getManifest('org/app', other), {
      code: 'REGISTRY_DIGEST_MISMATCH'
    })
  })

  test('getManifest: 404 MANIFEST_UNKNOWN; non-manifest JSON is REGISTRY_INVALID_RESPONSE', async () => {
    const { reg, client } = setup()
    reg
      .intercept({ path: '/v2/org/app/manifests/nope', method: 'GET' })
      .reply(404, errBody('MANIFEST_UNKNOWN', 'manifest unknown'))
    await assert.rejects(
      client.getManifest('org/app', 'nope'),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_MANIFEST_UNKNOWN')
        assert.equal(e.registryCode, 'MANIFEST_UNKNOWN')
        assert.equal(
          e.message,
          'cannot get manifest reg.example/org/app:nope: HTTP 404: MANIFEST_UNKNOWN manifest unknown'
        )
        return true
      }
    )
    reg
      .intercept({ path: '/v2/org/app/manifests/weird', method: 'GET' })
      .reply(200, '{"schemaVersion":1}', { headers: OCI_JSON })
    await assert.rejects(client.getManifest('org/app', 'weird'), {
      code: 'REGISTRY_INVALID_RESPONSE'
    })
    reg
      .intercept({ path: '/v2/org/app/manifests/html', method: 'GET' })
      .reply(200, '<html>', { headers: OCI_JSON })
    await assert.rejects(client.getManifest('org/app', 'html'), {
      code: 'REGISTRY_INVALID_RESPONSE'
    })
  })

  test('findManifest: undefined only on 404; 401/403/500 fail closed', async () => {
    const { reg, client } = setup()
    reg
      .intercept({ path: '/v2/org/app/manifests/a', method: 'GET' })
      .reply(404, errBody('MANIFEST_UNKNOWN'))
    assert.equal(await client.findManifest('org/app', 'a'), undefined)
    reg
      .intercept({ path: '/v2/org/app/manifests/b', method: 'GET' })
      .reply(403, errBody('DENIED'))
    await assert.rejects(client.findManifest('org/app', 'b'), {
      code: 'REGISTRY_DENIED'
    })
    reg
      .intercept({ path: '/v2/org/app/manifests/c', method: 'GET' })
      .reply(401, errBody('UNAUTHORIZED'))
    await assert.rejects(client.findManifest('org/app', 'c'), {
      code: 'REGISTRY_UNAUTHORIZED'
    })
    reg
      .intercept({ path: '/v2/org/app/manifests/d', method: 'GET' })
      .reply(500, 'boom')
    await assert.rejects(client.findManifest('org/app', 'd'), {
      code: 'REGISTRY_ERROR'
    })
  })

  test('retryUnknown: a manifest that appears after a moment is found', async () => {
    const { agent, reg, client } = setup()
    reg
      .intercept({
        path: `/v2/org/app/manifests/${manifestDigest}`,
        method: 'GET'
      })
      .reply(404, errBody('MANIFEST_UNKNOWN'))
      .times(2)
    reg
      .intercept({
        path: `/v2/org/app/manifests/${manifestDigest}`,
        method: 'GET'
      })
      .reply(200, Buffer.from(manifestBytes), {
        headers: { ...OCI_JSON, etag: '"e1"' }
      })
    const got = await client.findManifest('org/app', manifestDigest, {
      retryUnknown: true
    })
    assert.equal(got?.descriptor.digest, manifestDigest)
    assert.equal(got?.etag, '"e1"')
    agent.assertNoPendingInterceptors()
  })

  test('putManifest returns the digest and OCI-Subject; 403 on ghcr.io names the workflow permission', async () => {
    const { reg, client } = setup()
    reg
      .intercept({
        path: `/v2/org/app/manifests/${manifestDigest}`,
        method: 'PUT',
        headers: { 'content-type': MEDIA_TYPES.OCI_MANIFEST }
      })
      .reply(201, '', {
        headers: {
          'docker-content-digest': manifestDigest,
          'oci-subject': 'sha256:abc'
        }
      })
    assert.deepEqual(
      await client.putManifest(
        'org/app',
        manifestDigest,
        manifestBytes,
        MEDIA_TYPES.OCI_MANIFEST
      ),
      { digest: manifestDigest, subject: 'sha256:abc' }
    )
    await assert.rejects(
      client.putManifest(
        'org/app',
        `sha256:${'0'.repeat(64)}`,
        manifestBytes,
        MEDIA_TYPES.OCI_MANIFEST
      ),
      TypeError
    )

    const gh = setup({
      registry: 'ghcr.io',
      credentials: { username: 'u', password: 'p' }
    })
    gh.reg
      .intercept({ path: '/v2/org/app/manifests/v1', method: 'PUT' })
      .reply(403, errBody('DENIED', 'permission_denied: write_package'))
    await assert.rejects(
      gh.client.putManifest(
        'org/app',
        'v1',
        manifestBytes,
        MEDIA_TYPES.OCI_MANIFEST
      ),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_DENIED')
        assert.equal(e.registryCode, 'DENIED')
        assert.match(e.remedy ?? '', /permissions: packages: write/)
        assert.match(e.remedy ?? '', /ghcr\.io\/org\/app/)
        return true
      }
    )
  })

  test('invalid repository or reference is a programmer error', async () => {
    const { client } = setup({ open: false })
    await assert.rejects(client.getManifest('Org/App', 'v1'), TypeError)
    await assert.rejects(client.getManifest('org/app', '../x'), TypeError)
  })
})

describe('blobs', () => {
  test('uploadBlob: a small blob is one monolithic POST when the registry answers 201', async () => {
    const { agent, reg, client } = setup()
    const blob = utf8('hello blob')
    const d = ociDigest(blob)
    reg
      .intercept({
        path: `/v2/org/app/blobs/uploads/?digest=${encodeURIComponent(d)}`,
        method: 'POST',
        body: bodyIs('hello blob')
      })
      .reply(201, '')
    assert.deepEqual(await client.uploadBlob('org/app', blob), {
      digest: d,
      size: blob.length
    })
    agent.assertNoPendingInterceptors()
  })

  test('uploadBlob: a 202 session is completed with PUT to a relative Location keeping its query', async () => {
    const { agent, reg, client } = setup()
    const blob = utf8('hello blob')
    const d = ociDigest(blob)
    reg
      .intercept({
        path: `/v2/org/app/blobs/uploads/?digest=${encodeURIComponent(d)}`,
        method: 'POST'
      })
      .reply(202, '', {
        headers: { location: '/v2/org/app/blobs/uploads/uuid-1?_state=abc%3D' }
      })
    reg
      .intercept({
        path: `/v2/org/app/blobs/uploads/uuid-1?_state=abc%3D&digest=${encodeURIComponent(d)}`,
        method: 'PUT',
        body: bodyIs('hello blob'),
        headers: { 'content-type': 'application/octet-stream' }
      })
      .reply(201, '')
    assert.deepEqual(await client.uploadBlob('org/app', blob), {
      digest: d,
      size: blob.length
    })
    agent.assertNoPendingInterceptors()
  })

  test('uploadBlob skips a large blob that exists; a plain-http Location from https is refused', async () => {
    const { reg, client } = setup()
    const blob = new Uint8Array(100 * 1024).fill(7)
    const d = ociDigest(blob)
    reg
      .intercept({ path: `/v2/org/app/blobs/${d}`, method: 'HEAD' })
      .reply(200, '')
    assert.deepEqual(await client.uploadBlob('org/app', blob), {
      digest: d,
      size: blob.length
    })
    const blob2 = utf8('y')
    reg
      .intercept({
        path: `/v2/org/app/blobs/uploads/?digest=${encodeURIComponent(ociDigest(blob2))}`,
        method: 'POST'
      })
      .reply(202, '', { headers: { location: 'http://evil.example/upload' } })
    await assert.rejects(client.uploadBlob('org/app', blob2), {
      code: 'REGISTRY_INSECURE'
    })
  })

  test('getBlob follows a storage redirect without credentials and verifies the digest', async () => {
    const { agent, reg, client } = setup({
      open: false,
      credentials: { username: 'u', password: 'p' }
    })
    reg
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '', { headers: { 'www-authenticate': 'Basic realm="r"' } })
    const blob = utf8('layer bytes')
    const d = ociDigest(blob)
    reg
      .intercept({
        path: `/v2/org/app/blobs/${d}`,
        method: 'GET',
        headers: h => 'authorization' in h
      })
      .reply(307, '', {
        headers: { location: 'https://storage.example/b?sig=1' }
      })
    agent
      .get('https://storage.example')
      .intercept({
        path: '/b?sig=1',
        method: 'GET',
        headers: h => !('authorization' in h)
      })
      .reply(200, Buffer.from(blob))
    assert.deepEqual(await client.getBlob('org/app', d), blob)
    agent.assertNoPendingInterceptors()

    reg
      .intercept({ path: `/v2/org/app/blobs/${d}`, method: 'GET' })
      .reply(200, 'tampered')
    await assert.rejects(client.getBlob('org/app', d), {
      code: 'REGISTRY_DIGEST_MISMATCH'
    })
    reg
      .intercept({ path: `/v2/org/app/blobs/${d}`, method: 'GET' })
      .reply(200, 'x'.repeat(100))
    await assert.rejects(client.getBlob('org/app', d, 10), {
      code: 'REGISTRY_INVALID_RESPONSE'
    })
  })

  test('mountBlob: 201 mounted, 202 not', async () => {
    const { reg, client } = setup()
    const d = `sha256:${'e'.repeat(64)}`
    reg
      .intercept({
        path: `/v2/org/app/blobs/uploads/?mount=${encodeURIComponent(d)}&from=org%2Fbase`,
        method: 'POST'
      })
      .reply(201, '')
    assert.equal(await client.mountBlob('org/app', d, 'org/base'), true)
    reg
      .intercept({
        path: `/v2/org/app/blobs/uploads/?mount=${encodeURIComponent(d)}&from=org%2Fother`,
        method: 'POST'
      })
      .reply(202, '', { headers: { location: '/v2/org/app/blobs/uploads/u' } })
    assert.equal(await client.mountBlob('org/app', d, 'org/other'), false)
  })
})

describe('tags and referrers', () => {
  test('listTags follows Link pagination', async () => {
    const { agent, reg, client } = setup()
    reg
      .intercept({ path: '/v2/org/app/tags/list?n=1000', method: 'GET' })
      .reply(
        200,
        { name: 'org/app', tags: ['a', 'b'] },
        {
          headers: { link: '</v2/org/app/tags/list?last=b&n=1000>; rel="next"' }
        }
      )
    reg
      .intercept({ path: '/v2/org/app/tags/list?last=b&n=1000', method: 'GET' })
      .reply(200, { name: 'org/app', tags: ['c'] })
    assert.deepEqual(await client.listTags('org/app'), ['a', 'b', 'c'])
    agent.assertNoPendingInterceptors()
  })

  const subject = `sha256:${'5'.repeat(64)}`
  const refA: Descriptor = {
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    size: 10,
    digest: `sha256:${'a'.repeat(64)}`,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json'
  }
  const refB: Descriptor = {
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    size: 11,
    digest: `sha256:${'b'.repeat(64)}`,
    artifactType: 'application/other'
  }

  test('referrers: null when unsupported (404, 400, 406, non-index content type)', async () => {
    const { reg, client } = setup()
    for (const [status, headers] of [
      [404, {}],
      [400, {}],
      [406, {}],
      [200, { 'content-type': 'text/html' }]
    ] as const) {
      reg
        .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
        .reply(status, 'x', { headers })
      assert.equal(
        await client.referrers('org/app', subject),
        null,
        String(status)
      )
    }
    reg
      .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
      .reply(403, errBody('DENIED'))
    await assert.rejects(client.referrers('org/app', subject), {
      code: 'REGISTRY_DENIED'
    })
  })

  test('referrers: [] when supported and empty; pages and client-side filter', async () => {
    const { agent, reg, client } = setup()
    const index = (manifests: Descriptor[]): string =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_INDEX,
        manifests
      })
    reg
      .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
      .reply(200, index([]), { headers: INDEX_JSON })
    assert.deepEqual(await client.referrers('org/app', subject), [])
    reg
      .intercept({
        path: `/v2/org/app/referrers/${subject}?artifactType=application%2Fother`,
        method: 'GET'
      })
      .reply(200, index([refA]), {
        headers: {
          ...INDEX_JSON,
          link: `</v2/org/app/referrers/${subject}?artifactType=application%2Fother&page=2>; rel="next"`
        }
      })
    reg
      .intercept({
        path: `/v2/org/app/referrers/${subject}?artifactType=application%2Fother&page=2`,
        method: 'GET'
      })
      .reply(200, index([refB]), { headers: INDEX_JSON })
    assert.deepEqual(
      await client.referrers('org/app', subject, 'application/other'),
      [refB]
    )
    agent.assertNoPendingInterceptors()
  })

  test('listReferrers falls back to the sha256-<hex> tag; 404 there is []', async () => {
    const { reg, client } = setup()
    const tag = `sha256-${'5'.repeat(64)}`
    reg
      .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
      .reply(404, '404 page not found')
    reg
      .intercept({ path: `/v2/org/app/manifests/${tag}`, method: 'GET' })
      .reply(404, errBody('MANIFEST_UNKNOWN'))
    assert.deepEqual(await listReferrers(client, 'org/app', subject), {
      descriptors: [],
      via: 'tag'
    })
    reg
      .intercept({
        path: p =>
          p.startsWith(`/v2/org/app/referrers/${subject}?artifactType=`),
        method: 'GET'
      })
      .reply(404, '404 page not found')
    reg
      .intercept({ path: `/v2/org/app/manifests/${tag}`, method: 'GET' })
      .reply(
        200,
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.OCI_INDEX,
          manifests: [refA, refB]
        }),
        { headers: INDEX_JSON }
      )
    assert.deepEqual(
      await listReferrers(client, 'org/app', subject, refA.artifactType),
      { descriptors: [refA], via: 'tag' }
    )
  })

  test('pushReferrer: fallback tag update uses If-Match and merges again after a 412', async () => {
    const { agent, reg, client } = setup()
    const subjectDesc: Descriptor = {
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      size: 100,
      digest: subject
    }
    const artifact = utf8(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        artifactType: 'application/vnd.example+json',
        config: {
          mediaType: MEDIA_TYPES.OCI_EMPTY,
          size: 2,
          digest: `sha256:${'4'.repeat(64)}`
        },
        layers: [],
        subject: subjectDesc,
        annotations: { k: 'v' }
      })
    )
    const d = ociDigest(artifact)
    const tag = `sha256-${'5'.repeat(64)}`
    const idx = (manifests: Descriptor[]): string =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_INDEX,
        manifests
      })
    reg
      .intercept({ path: `/v2/org/app/manifests/${d}`, method: 'PUT' })
      .reply(201, '')
    reg
      .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
      .reply(404, '')
    reg
      .intercept({ path: `/v2/org/app/manifests/${tag}`, method: 'GET' })
      .reply(200, idx([refA]), { headers: { ...INDEX_JSON, etag: '"v1"' } })
    reg
      .intercept({
        path: `/v2/org/app/manifests/${tag}`,
        method: 'PUT',
        headers: { 'if-match': '"v1"' }
      })
      .reply(412, '')
    reg
      .intercept({ path: `/v2/org/app/manifests/${tag}`, method: 'GET' })
      .reply(200, idx([refA, refB]), {
        headers: { ...INDEX_JSON, etag: '"v2"' }
      })
    const expected = idx([
      refA,
      refB,
      {
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        size: artifact.length,
        digest: d,
        artifactType: 'application/vnd.example+json',
        annotations: { k: 'v' }
      }
    ])
    reg
      .intercept({
        path: `/v2/org/app/manifests/${tag}`,
        method: 'PUT',
        headers: { 'if-match': '"v2"' },
        body: bodyIs(expected)
      })
      .reply(201, '')
    // The confirming read after the write finds every entry.
    reg
      .intercept({ path: `/v2/org/app/manifests/${tag}`, method: 'GET' })
      .reply(200, expected, { headers: { ...INDEX_JSON, etag: '"v3"' } })
    assert.deepEqual(
      await pushReferrer(
        client,
        'org/app',
        { manifestBytes: artifact, mediaType: MEDIA_TYPES.OCI_MANIFEST },
        subjectDesc,
        { deadline: Date.now() + 10_000 }
      ),
      { digest: d, via: 'tag' }
    )
    agent.assertNoPendingInterceptors()
  })

  test('pushReferrer: OCI-Subject on the PUT means the registry indexes it', async () => {
    const { agent, reg, client } = setup()
    const subjectDesc: Descriptor = {
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      size: 100,
      digest: subject
    }
    const artifact = utf8(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        config: {
          mediaType: MEDIA_TYPES.OCI_EMPTY,
          size: 2,
          digest: `sha256:${'4'.repeat(64)}`
        },
        layers: [],
        subject: subjectDesc
      })
    )
    reg
      .intercept({
        path: `/v2/org/app/manifests/${ociDigest(artifact)}`,
        method: 'PUT'
      })
      .reply(201, '', { headers: { 'oci-subject': subject } })
    // Confirmed by listing: not there on the first read, there on the second.
    const listing = (manifests: Descriptor[]): string =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_INDEX,
        manifests
      })
    reg
      .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
      .reply(200, listing([]), { headers: INDEX_JSON })
    reg
      .intercept({ path: `/v2/org/app/referrers/${subject}`, method: 'GET' })
      .reply(
        200,
        listing([
          {
            mediaType: MEDIA_TYPES.OCI_MANIFEST,
            size: artifact.length,
            digest: ociDigest(artifact)
          }
        ]),
        { headers: INDEX_JSON }
      )
    assert.equal(
      (
        await pushReferrer(
          client,
          'org/app',
          { manifestBytes: artifact, mediaType: MEDIA_TYPES.OCI_MANIFEST },
          subjectDesc,
          { deadline: Date.now() + 10_000 }
        )
      ).via,
      'api'
    )
    agent.assertNoPendingInterceptors()
    await assert.rejects(
      pushReferrer(
        client,
        'org/app',
        { manifestBytes: artifact, mediaType: MEDIA_TYPES.OCI_MANIFEST },
        { ...subjectDesc, digest: `sha256:${'6'.repeat(64)}` },
        { deadline: Date.now() + 10_000 }
      ),
      TypeError
    )
  })
})

describe('scheme', () => {
  test('https by default, http for loopback, http elsewhere only when allowed', () => {
    const http = new HttpClient({ userAgent: 't', env: {} })
    assert.equal(
      new RegistryClient('ghcr.io', { http }).origin,
      'https://ghcr.io'
    )
    assert.equal(
      new RegistryClient('docker.io', { http }).origin,
      'https://registry-1.docker.io'
    )
    assert.equal(
      new RegistryClient('docker.io', { http }).registry,
      'index.docker.io'
    )
    assert.equal(
      new RegistryClient('localhost:5000', { http }).origin,
      'http://localhost:5000'
    )
    assert.equal(
      new RegistryClient('127.0.0.1:5000', { http, scheme: 'https' }).origin,
      'https://127.0.0.1:5000'
    )
    assert.equal(
      new RegistryClient('reg.internal:5000', { http, allowHttp: true }).origin,
      'http://reg.internal:5000'
    )
    assert.throws(
      () => new RegistryClient('reg.internal', { http, scheme: 'http' }),
      { code: 'REGISTRY_INSECURE' }
    )
  })

  test('a loopback registry that answers the http ping with a TLS alert is tried over https', async () => {
    // Answers anything with a TLS "handshake failure" alert: not HTTP, and
    // no TLS handshake either.
    const server = createNetServer(socket => {
      socket.on('error', () => {})
      socket.once('data', () =>
        socket.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]))
      )
    })
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const http = new HttpClient({ userAgent: 't', retries: 0, env: {} })
    const client = new RegistryClient(`127.0.0.1:${port}`, { http })
    try {
      await assert.rejects(client.resolve('a/b', 'v1'), (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_UNREACHABLE')
        assert.match(e.message, new RegExp(`https://127\\.0\\.0\\.1:${port}`))
        return true
      })
      assert.equal(client.origin, `https://127.0.0.1:${port}`)
    } finally {
      await http.close()
      server.close()
    }
  })
})
