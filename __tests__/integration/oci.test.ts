// RegistryClient against a real docker-registry (distribution 2.8) in every
// auth mode, plus the referrers tag fallback and (through a loopback proxy)
// the referrers API branch. Needs: apt-get install -y docker-registry apache2-utils openssl
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { HttpClient } from '../../src/http/index.ts'
import {
  MEDIA_TYPES,
  EMPTY_CONFIG,
  RegistryClient,
  RegistryError,
  listReferrers,
  pushReferrer,
  referrersTag,
  type Credentials,
  type Descriptor,
  type ImageIndex,
  type ImageManifest
} from '../../src/oci/index.ts'
import { ociDigest, utf8 } from '../../src/util/index.ts'
import {
  startFakeReferrersProxy,
  type FakeReferrersProxy
} from '../support/fake-referrers-proxy.ts'
import {
  pushTestImage,
  pushTestIndex,
  startRegistry,
  trustingClient,
  type TestRegistry
} from '../support/registry.ts'

const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 1,
  budgetMs: 10_000,
  timeoutMs: 5_000
})

function clientFor(
  reg: { host: string },
  credentials?: Credentials,
  httpClient = http
): RegistryClient {
  return new RegistryClient(reg.host, {
    http: httpClient,
    ...(credentials ? { credentials } : {})
  })
}

async function roundTrip(client: RegistryClient, repo: string): Promise<void> {
  const img = await pushTestImage(client, repo, 'v1', 'hello')
  const resolved = await client.resolve(repo, 'v1')
  assert.deepEqual(resolved, {
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    size: img.size,
    digest: img.digest
  })
  const got = await client.getManifest(repo, img.digest)
  assert.equal(got.descriptor.digest, img.digest)
  assert.deepEqual(got.bytes, img.bytes)
  const m = got.manifest as ImageManifest
  assert.equal(m.layers[0]?.digest, img.layerDigest)
  const layer = await client.getBlob(repo, img.layerDigest)
  assert.equal(ociDigest(layer), img.layerDigest)
  assert.equal(await client.blobExists(repo, img.configDigest), true)

  const idx = await pushTestIndex(client, repo, 'multi', 'hello')
  const got2 = await client.getManifest(repo, 'multi')
  assert.equal(got2.descriptor.digest, idx.digest)
  assert.equal(got2.descriptor.mediaType, MEDIA_TYPES.OCI_INDEX)
  const children = (got2.manifest as ImageIndex).manifests
  assert.deepEqual(
    children.map(c => c.platform?.architecture),
    ['amd64', 'arm64']
  )
  for (const c of idx.children)
    assert.equal((await client.resolve(repo, c.digest)).digest, c.digest)
  assert.deepEqual((await client.listTags(repo)).sort(), ['multi', 'v1'])
}

describe('registry without auth', () => {
  let reg: TestRegistry
  before(async () => {
    reg = await startRegistry({ mode: 'none' })
  })
  after(() => reg?.stop())

  test('pushes and reads an image and an index', async () => {
    await roundTrip(clientFor(reg), 'demo/hello')
  })

  test('skopeo reads what we pushed', async () => {
    const client = clientFor(reg)
    const img = await pushTestImage(client, 'demo/skopeo', 'v1', 'interop')
    const out = execFileSync('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${reg.host}/demo/skopeo:v1`
    ])
    assert.equal(ociDigest(new Uint8Array(out)), img.digest)
  })

  test('findManifest: undefined for an unknown tag, getManifest: MANIFEST_UNKNOWN', async () => {
    const client = clientFor(reg)
    await pushTestImage(client, 'demo/find', 'v1', 'x')
    assert.equal(await client.findManifest('demo/find', 'nope'), undefined)
    await assert.rejects(
      client.getManifest('demo/find', 'nope'),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_MANIFEST_UNKNOWN')
        assert.equal(e.registryCode, 'MANIFEST_UNKNOWN')
        return true
      }
    )
  })

  test('uploadBlob skips existing blobs; mountBlob mounts across repositories', async () => {
    const client = clientFor(reg)
    const blob = utf8('mount me')
    const first = await client.uploadBlob('demo/a', blob)
    assert.deepEqual(await client.uploadBlob('demo/a', blob), first)
    assert.equal(await client.mountBlob('demo/b', first.digest, 'demo/a'), true)
    assert.equal(await client.blobExists('demo/b', first.digest), true)
  })

  test('referrers: no API on distribution 2.8, fallback tag index instead', async () => {
    const client = clientFor(reg)
    const repo = 'demo/referred'
    const img = await pushTestImage(client, repo, 'v1', 'subject')
    const subject: Descriptor = {
      mediaType: img.mediaType,
      size: img.size,
      digest: img.digest
    }
    assert.equal(await client.referrers(repo, img.digest), null)
    assert.deepEqual(await listReferrers(client, repo, img.digest), {
      descriptors: [],
      via: 'tag'
    })

    const first = await pushArtifact(client, repo, subject, 'one')
    assert.equal(first.via, 'tag')
    const second = await pushArtifact(client, repo, subject, 'two')
    const again = await pushArtifact(client, repo, subject, 'two')
    assert.equal(again.digest, second.digest)

    const listed = await listReferrers(client, repo, img.digest)
    assert.equal(listed.via, 'tag')
    assert.deepEqual(
      listed.descriptors.map(d => d.digest),
      [first.digest, second.digest]
    )
    assert.deepEqual(listed.descriptors[1], {
      mediaType: MEDIA_TYPES.OCI_MANIFEST,
      size: second.size,
      digest: second.digest,
      artifactType: 'application/vnd.example.sig+json',
      annotations: { 'org.example.name': 'two' }
    })
    const filtered = await listReferrers(
      client,
      repo,
      img.digest,
      'application/other'
    )
    assert.deepEqual(filtered.descriptors, [])
    const tagged = await client.getManifest(repo, referrersTag(img.digest))
    assert.equal(tagged.descriptor.mediaType, MEDIA_TYPES.OCI_INDEX)
  })

  test('a fallback tag that is not an index is an error, never overwritten', async () => {
    const client = clientFor(reg)
    const repo = 'demo/badtag'
    const img = await pushTestImage(client, repo, 'v1', 'subject')
    await pushTestImage(client, repo, referrersTag(img.digest), 'squatter')
    const subject: Descriptor = {
      mediaType: img.mediaType,
      size: img.size,
      digest: img.digest
    }
    await assert.rejects(pushArtifact(client, repo, subject, 'x'), {
      code: 'REGISTRY_REFERRERS_TAG_INVALID'
    })
    await assert.rejects(listReferrers(client, repo, img.digest), {
      code: 'REGISTRY_REFERRERS_TAG_INVALID'
    })
  })

  describe('through a proxy that implements the referrers API', () => {
    let proxy: FakeReferrersProxy
    before(async () => {
      proxy = await startFakeReferrersProxy(reg.url)
    })
    after(() => proxy?.stop())

    test('pushReferrer and listReferrers use the API', async () => {
      const client = clientFor(proxy)
      const repo = 'demo/api'
      const img = await pushTestImage(client, repo, 'v1', 'subject')
      assert.deepEqual(await client.referrers(repo, img.digest), [])
      const subject: Descriptor = {
        mediaType: img.mediaType,
        size: img.size,
        digest: img.digest
      }
      const pushed = await pushArtifact(client, repo, subject, 'api')
      assert.equal(pushed.via, 'api')
      const listed = await listReferrers(
        client,
        repo,
        img.digest,
        'application/vnd.example.sig+json'
      )
      assert.equal(listed.via, 'api')
      assert.deepEqual(
        listed.descriptors.map(d => d.digest),
        [pushed.digest]
      )
      assert.equal(
        await clientFor(reg).findManifest(repo, referrersTag(img.digest)),
        undefined
      )
      assert.ok(proxy.referrersRequests >= 2)
    })
  })
})

describe('registry with htpasswd', () => {
  let reg: TestRegistry
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd' })
  })
  after(() => reg?.stop())

  test('pushes and reads with Basic credentials', async () => {
    await roundTrip(
      clientFor(reg, { username: reg.username!, password: reg.password! }),
      'basic/hello'
    )
  })

  test('wrong password: REGISTRY_UNAUTHORIZED with a remedy, no secret in the message', async () => {
    const client = clientFor(reg, {
      username: 'testuser',
      password: 'wrong-password-123'
    })
    await assert.rejects(
      pushTestImage(client, 'basic/nope', 'v1', 'x'),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_UNAUTHORIZED')
        assert.equal(e.status, 401)
        assert.match(e.remedy ?? '', /basic\/nope/)
        assert.doesNotMatch(`${e.message} ${e.remedy}`, /wrong-password-123/)
        return true
      }
    )
  })

  test('no credentials: REGISTRY_UNAUTHORIZED', async () => {
    await assert.rejects(clientFor(reg).resolve('basic/hello', 'v1'), {
      code: 'REGISTRY_UNAUTHORIZED'
    })
  })
})

describe('registry with token auth', () => {
  let reg: TestRegistry
  before(async () => {
    reg = await startRegistry({
      mode: 'token',
      users: [
        { username: 'writer', password: 'writer-pass' },
        { username: 'reader', password: 'reader-pass', pullOnly: true }
      ]
    })
  })
  after(() => reg?.stop())

  test('pushes and reads with bearer tokens, caching them per scope', async () => {
    const client = clientFor(reg, {
      username: 'writer',
      password: 'writer-pass'
    })
    await roundTrip(client, 'token/hello')
    // One push,pull token serves the whole round trip.
    assert.equal(reg.tokenRequests, 1, `token requests: ${reg.tokenRequests}`)
  })

  test('pull-only credentials on push: REGISTRY_DENIED', async () => {
    const writer = clientFor(reg, {
      username: 'writer',
      password: 'writer-pass'
    })
    await pushTestImage(writer, 'token/ro', 'v1', 'x')
    const reader = clientFor(reg, {
      username: 'reader',
      password: 'reader-pass'
    })
    assert.equal(
      (await reader.getManifest('token/ro', 'v1')).descriptor.mediaType,
      MEDIA_TYPES.OCI_MANIFEST
    )
    await assert.rejects(
      reader.uploadBlob('token/ro', utf8('nope')),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_DENIED')
        assert.match(e.remedy ?? '', /push to 127\.0\.0\.1:\d+\/token\/ro/)
        return true
      }
    )
  })

  test('wrong password at the token service: REGISTRY_UNAUTHORIZED', async () => {
    const client = clientFor(reg, { username: 'writer', password: 'nope-nope' })
    await assert.rejects(client.resolve('token/hello', 'v1'), {
      code: 'REGISTRY_UNAUTHORIZED'
    })
  })
})

describe('registry over TLS', () => {
  let reg: TestRegistry
  before(async () => {
    reg = await startRegistry({ mode: 'htpasswd', tls: true })
  })
  after(() => reg?.stop())

  test('trusts the registry through caCerts', async () => {
    const { http: tlsHttp, client } = trustingClient(reg, { scheme: 'https' })
    assert.equal(client.origin, `https://${reg.host}`)
    await roundTrip(client, 'tls/hello')
    await tlsHttp.close()
  })

  test('a loopback registry that answers over TLS is found without a scheme (as ggcr does)', async () => {
    const { http: tlsHttp, client } = trustingClient(reg)
    assert.equal(client.origin, `http://${reg.host}`, 'http until asked')
    await roundTrip(client, 'tls/auto')
    assert.equal(client.origin, `https://${reg.host}`)
    await tlsHttp.close()
    // By name: SNI and the certificate's DNS name are checked too.
    const byName = `localhost:${reg.host.split(':')[1]}`
    const named = trustingClient(reg, { host: byName })
    await roundTrip(named.client, 'tls/named')
    assert.equal(named.client.origin, `https://${byName}`)
    await named.http.close()
  })

  test('an untrusted certificate fails with a remedy naming the CA option', async () => {
    for (const scheme of ['https', undefined] as const) {
      const client = new RegistryClient(reg.host, {
        http,
        ...(scheme ? { scheme } : {})
      })
      await assert.rejects(client.resolve('tls/hello', 'v1'), (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_UNREACHABLE')
        assert.match(e.remedy ?? '', /CA/)
        return true
      })
    }
  })
})

async function pushArtifact(
  client: RegistryClient,
  repo: string,
  subject: Descriptor,
  name: string
): Promise<{ digest: string; via: 'api' | 'tag'; size: number }> {
  const payload = utf8(JSON.stringify({ name }))
  await client.uploadBlob(repo, EMPTY_CONFIG)
  await client.uploadBlob(repo, payload)
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    artifactType: 'application/vnd.example.sig+json',
    config: {
      mediaType: MEDIA_TYPES.OCI_EMPTY,
      size: 2,
      digest: ociDigest(EMPTY_CONFIG)
    },
    layers: [
      {
        mediaType: 'application/vnd.example.sig+json',
        size: payload.length,
        digest: ociDigest(payload)
      }
    ],
    subject,
    annotations: { 'org.example.name': name }
  }
  const bytes = utf8(JSON.stringify(manifest))
  const r = await pushReferrer(
    client,
    repo,
    { manifestBytes: bytes, mediaType: MEDIA_TYPES.OCI_MANIFEST },
    subject,
    { deadline: Date.now() + 30_000 }
  )
  return { ...r, size: bytes.length }
}
