// Nothing public before the write is known to be allowed: push permission on
// every signature repository is checked before the first Fulcio or Rekor
// request. A token-auth registry with a pull-only user refuses the run with
// REGISTRY_DENIED while Fulcio and Rekor have seen nothing; on a registry
// without auth the check sends nothing.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  createRuntime,
  signImages,
  type SignImagesOptions
} from '../../src/cosign/index.ts'
import { HttpClient } from '../../src/http/index.ts'
import { RegistryClient } from '../../src/oci/index.ts'
import { StaticIdentityProvider } from '../../src/sigstore/index.ts'
import { nullLogger } from '../../src/util/index.ts'
import {
  startHostileRegistry,
  type HostileRegistry
} from '../support/hostile-registry.ts'
import {
  pushTestImage,
  startRegistry,
  type TestRegistry
} from '../support/registry.ts'
import {
  freshImage,
  signOptions,
  startWorld,
  type World
} from '../support/world.ts'

const ADMIN = { username: 'admin', password: 'admin-password-1' }
const READER = {
  username: 'reader',
  password: 'reader-password-1',
  pullOnly: true
}

let w: World
let reg: TestRegistry
let proxy: HostileRegistry
before(async () => {
  ;[w, reg] = await Promise.all([
    startWorld({ mode: 'none' }),
    startRegistry({ mode: 'token', users: [ADMIN, READER] })
  ])
  proxy = await startHostileRegistry(w.registry.url)
})
after(async () => {
  await proxy?.stop()
  await Promise.all([reg?.stop(), w?.stop()])
})

const logger = {
  ...nullLogger,
  group: <T>(_: string, fn: () => Promise<T>) => fn()
}

const signOpts = (
  images: string[],
  extra: Partial<SignImagesOptions> = {}
): SignImagesOptions => signOptions(w, images, { format: 'bundle', ...extra })

describe('push permission before anything public', () => {
  test('a pull-only user: REGISTRY_DENIED, and Fulcio and Rekor saw nothing', async () => {
    const admin = new RegistryClient(reg.host, {
      http: new HttpClient({ userAgent: 'sigil-test-admin' }),
      credentials: ADMIN
    })
    const img = await pushTestImage(admin, 'team/app', 'v1', 'preflight')
    const runtime = createRuntime({
      userAgent: 'sigil-test',
      logger: nullLogger,
      env: {},
      registryUsername: READER.username,
      registryPassword: READER.password,
      registryHost: reg.host
    })
    const before = { ...w.stack.counts }
    for (const format of ['bundle', 'legacy'] as const) {
      await assert.rejects(
        signImages(
          signOpts([`${reg.host}/team/app@${img.digest}`], { format }),
          {
            http: runtime.http,
            logger,
            registryFor: runtime.registryFor,
            identity: new StaticIdentityProvider(w.token)
          }
        ),
        (e: unknown) => {
          assert.equal((e as { code?: string }).code, 'REGISTRY_DENIED')
          assert.match((e as Error).message, /push to/)
          return true
        }
      )
    }
    assert.equal(w.stack.counts.fulcio, before.fulcio, 'no certificate request')
    assert.equal(w.stack.counts.rekor, before.rekor, 'no log entry')
  })

  test('on a registry without auth the check sends nothing', async () => {
    const img = await freshImage(w)
    const viaProxy = img.ref.replace(w.registry.host, proxy.host)
    const seen = proxy.seen.length
    await signImages(signOpts([viaProxy]), {
      http: w.runtime.http,
      logger,
      registryFor: w.runtime.registryFor,
      identity: new StaticIdentityProvider(w.token)
    })
    const requests = proxy.seen.slice(seen)
    assert.ok(!requests.some(r => r.startsWith('DELETE ')), requests.join('\n'))
    // bundle format: the only upload POSTs are the referrer's two blobs.
    assert.ok(
      requests.filter(r => r.startsWith('POST ')).length <= 2,
      requests.join('\n')
    )
  })
})
