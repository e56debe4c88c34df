// A registry (or proxy) in front of the real one that lies: the verdicts must
// not depend on anything it could forge. Index-or-manifest comes from the
// manifest body fetched by digest, never from a Content-Type.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  signImages,
  verifyImages,
  type SignImagesOptions,
  type VerifyImagesOptions
} from '../../src/cosign/index.ts'
import { MEDIA_TYPES } from '../../src/oci/index.ts'
import { StaticIdentityProvider } from '../../src/sigstore/index.ts'
import { nullLogger } from '../../src/util/index.ts'
import {
  startHostileRegistry,
  type HostileRegistry
} from '../support/hostile-registry.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshIndex,
  startWorld,
  signOptions,
  type World
} from '../support/world.ts'

let w: World
let proxy: HostileRegistry
before(async () => {
  w = await startWorld({ mode: 'none' })
  proxy = await startHostileRegistry(w.registry.url)
})
after(async () => {
  await proxy?.stop()
  await w?.stop()
})

const logger = {
  ...nullLogger,
  group: <T>(_: string, fn: () => Promise<T>) => fn()
}

const signOpts = (
  images: string[],
  extra: Partial<SignImagesOptions> = {}
): SignImagesOptions => signOptions(w, images, extra)

function verifyOpts(images: string[]): VerifyImagesOptions {
  return {
    images,
    recursive: true,
    concurrency: 4,
    trust: w.trust,
    policy: {
      identity: { exact: GITHUB_SAN },
      issuer: { exact: GITHUB_ISSUER }
    },
    annotations: {}
  }
}

const signDeps = () => ({
  http: w.runtime.http,
  logger,
  registryFor: w.runtime.registryFor,
  identity: new StaticIdentityProvider(w.token)
})
const verifyDeps = () => ({ logger, registryFor: w.runtime.registryFor })

const LIES: (string | null)[] = [
  MEDIA_TYPES.OCI_MANIFEST,
  MEDIA_TYPES.DOCKER_MANIFEST,
  'application/octet-stream',
  null
]

describe('a registry that lies about media types', () => {
  test('recursive verify of an index with unsigned platforms fails however HEAD and GET answer', async () => {
    const idx = await freshIndex(w)
    await signImages(signOpts([idx.ref]), signDeps()) // the index only
    const viaProxy = idx.ref.replace(w.registry.host, proxy.host)
    for (const head of LIES) {
      for (const get of LIES) {
        proxy.behaviour = { headContentType: head, getContentType: get }
        const res = await fetch(
          `${proxy.url}/v2/${idx.repo}/manifests/${idx.digest}`,
          {
            method: 'HEAD',
            headers: { accept: MEDIA_TYPES.OCI_INDEX }
          }
        )
        assert.equal(res.headers.get('content-type'), head, 'the proxy lies')
        const v = await verifyImages(verifyOpts([viaProxy]), verifyDeps())
        const label = `HEAD ${head}, GET ${get}`
        assert.equal(v.ok, false, label)
        assert.deepEqual(
          v.images
            .filter(i => !i.verified)
            .map(i => i.digest)
            .sort(),
          [...idx.children].sort(),
          label
        )
        assert.equal(
          v.images.find(i => !i.verified)?.error?.code,
          'NO_SIGNATURES_FOUND',
          label
        )
      }
    }
    proxy.behaviour = {}
  })

  test('recursive sign through a lying proxy signs every platform', async () => {
    const idx = await freshIndex(w)
    proxy.behaviour = {
      headContentType: 'application/octet-stream',
      getContentType: MEDIA_TYPES.OCI_MANIFEST
    }
    const viaProxy = idx.ref.replace(w.registry.host, proxy.host)
    const r = await signImages(
      signOpts([viaProxy], { recursive: true }),
      signDeps()
    )
    proxy.behaviour = {}
    assert.deepEqual(
      r.images.map(i => i.digest).sort(),
      [idx.digest, ...idx.children].sort()
    )
    const v = await verifyImages(verifyOpts([idx.ref]), verifyDeps())
    assert.equal(v.ok, true)
  })

  test('a manifest whose bytes do not match the digest asked for is refused', async () => {
    const idx = await freshIndex(w)
    const other = await freshIndex(w)
    const otherBytes = (await w.client.getManifest(other.repo, other.digest))
      .bytes
    proxy.behaviour = {
      swapManifest: path =>
        path.endsWith(idx.digest) ? Buffer.from(otherBytes) : undefined
    }
    const viaProxy = idx.ref.replace(w.registry.host, proxy.host)
    await assert.rejects(verifyImages(verifyOpts([viaProxy]), verifyDeps()), {
      name: 'RegistryError',
      code: 'REGISTRY_DIGEST_MISMATCH'
    })
    proxy.behaviour = {}
  })
})
