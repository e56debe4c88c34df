// A hostile registry at the transport level, in front of a real registry
// with token authentication: a redirect to another host never carries our
// registry credentials or bearer tokens; a body far larger than any
// legitimate manifest is cut off (HTTP_BODY_TOO_LARGE), with or without a
// Content-Length; a body trickled one byte at a time is bounded by the
// per-attempt timeout and the retry budget (HTTP_TIMEOUT).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  createRuntime,
  signImages,
  verifyImages,
  type VerifyImagesOptions
} from '../../src/cosign/index.ts'
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
  signOptions,
  startWorld,
  type World
} from '../support/world.ts'

const logger = {
  ...nullLogger,
  group: <T>(_: string, fn: () => Promise<T>) => fn()
}

let w: World
let proxy: HostileRegistry
let elsewhere: HostileRegistry
before(async () => {
  w = await startWorld({ mode: 'token' })
  proxy = await startHostileRegistry(w.registry.url)
  // "Another host": a second origin in front of the same registry, which
  // records every Authorization header it receives.
  elsewhere = await startHostileRegistry(w.registry.url)
  signed = await freshIndex(w)
  await signImages(signOptions(w, [signed.ref]), {
    http: w.runtime.http,
    logger,
    registryFor: w.runtime.registryFor,
    identity: new StaticIdentityProvider(w.token)
  })
})
after(async () => {
  await proxy?.stop()
  await elsewhere?.stop()
  await w?.stop()
})

/** A runtime whose explicit credentials are bound to the proxy's host. */
function viaProxy(o: { timeoutMs?: number; retryBudgetMs?: number } = {}) {
  return createRuntime({
    userAgent: 'sigil-test',
    logger: nullLogger,
    registryUsername: w.registry.username!,
    registryPassword: w.registry.password!,
    registryHost: proxy.host,
    env: {},
    ...o
  })
}

function verifyOpts(images: string[]): VerifyImagesOptions {
  return {
    images,
    recursive: false,
    concurrency: 2,
    trust: w.trust,
    policy: {
      identity: { exact: GITHUB_SAN },
      issuer: { exact: GITHUB_ISSUER }
    },
    annotations: {}
  }
}

/** Every error code in a result or rejection, causes included. */
function codes(x: unknown): string[] {
  const out: string[] = []
  const walk = (e: unknown, depth = 0): void => {
    if (!e || typeof e !== 'object' || depth > 6) return
    const c = (e as { code?: unknown }).code
    if (typeof c === 'string') out.push(c)
    walk((e as { cause?: unknown }).cause, depth + 1)
    for (const i of (e as { images?: { error?: unknown }[] }).images ?? [])
      walk(i.error, depth + 1)
    for (const s of (e as { signatures?: { error?: unknown }[] }).signatures ??
      [])
      walk(s.error, depth + 1)
  }
  walk(x)
  return out
}

async function outcome(p: Promise<unknown>): Promise<string[]> {
  try {
    return codes(await p)
  } catch (e) {
    return codes(e)
  }
}

let signed: Awaited<ReturnType<typeof freshIndex>>

describe('a hostile registry at the transport level', () => {
  test('a redirect to another host carries neither the registry password nor its bearer token', async () => {
    proxy.behaviour = {
      redirect: { path: /\/(blobs|manifests)\//, to: elsewhere.url }
    }
    const rt = viaProxy()
    const ref = signed.ref.replace(w.registry.host, proxy.host)
    const codesSeen = await outcome(
      verifyImages(verifyOpts([ref]), { logger, registryFor: rt.registryFor })
    )
    proxy.behaviour = {}
    await rt.http.close()
    assert.ok(
      proxy.authorizations.some(a => /^Bearer /i.test(a)),
      'the proxy (the registry named) did get our token'
    )
    assert.ok(elsewhere.seen.length > 0, 'the redirect was followed')
    assert.deepEqual(
      elsewhere.authorizations,
      [],
      'no Authorization reached the other host'
    )
    // Without credentials the other host cannot serve: a coded failure.
    assert.ok(codesSeen.length > 0, 'the run failed with a coded error')
  })

  for (const contentLength of [true, false]) {
    test(`a manifest far larger than any legitimate one is cut off (${contentLength ? 'with' : 'without'} Content-Length)`, async () => {
      proxy.behaviour = {
        hugeBody: {
          path: /\/manifests\//,
          bytes: 64 * 1024 * 1024,
          contentLength
        }
      }
      const rt = viaProxy()
      const ref = signed.ref.replace(w.registry.host, proxy.host)
      const started = Date.now()
      const seen = await outcome(
        verifyImages(verifyOpts([ref]), {
          logger,
          registryFor: rt.registryFor
        })
      )
      proxy.behaviour = {}
      await rt.http.close()
      assert.ok(seen.includes('HTTP_BODY_TOO_LARGE'), seen.join(', '))
      assert.ok(Date.now() - started < 30_000, 'not buffered to the end')
    })
  }

  test('a body trickled one byte at a time is bounded by the timeout and the retry budget', async () => {
    proxy.behaviour = { trickle: { path: /\/manifests\//, everyMs: 200 } }
    const rt = viaProxy({ timeoutMs: 1000, retryBudgetMs: 3000 })
    const ref = signed.ref.replace(w.registry.host, proxy.host)
    const started = Date.now()
    const seen = await outcome(
      verifyImages(verifyOpts([ref]), { logger, registryFor: rt.registryFor })
    )
    const took = Date.now() - started
    proxy.behaviour = {}
    await rt.http.close()
    assert.ok(seen.includes('HTTP_TIMEOUT'), seen.join(', '))
    assert.ok(took < 10_000, `took ${took} ms`)
  })
})
