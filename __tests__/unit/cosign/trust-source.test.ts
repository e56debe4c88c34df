// Where the trusted root comes from: an explicit file, a TUF repository on
// loopback (refresh, then the cache alone without a request for a day), and
// the fallbacks when the mirror is unreachable (verify: cached or embedded
// with a warning; sign: a clear failure). Attacks never fall back.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  resolveTrust,
  type TrustPurpose
} from '../../../src/cosign/trust-source.ts'
import { cacheDirName } from '../../../src/sigstore/tuf/index.ts'
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../../../src/sigstore/trust/public-good.generated.ts'
import { MemoryLogger } from '../../../src/util/index.ts'
import { TestRepo, serveFiles } from '../../support/tuf-repo.ts'
import { vectorsDir } from '../../support/vectors.ts'
import { runCliWith } from '../../../src/cli/main.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'sigil-trust-'))
  dirs.push(d)
  return d
}

const TRUSTED_ROOT = JSON.stringify(PUBLIC_GOOD_TRUSTED_ROOT)
const SIGNING_CONFIG = JSON.stringify({
  mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json'
})

async function world(t: { after: (f: () => unknown) => void }) {
  const { repo, root1 } = TestRepo.create({
    'trusted_root.json': TRUSTED_ROOT,
    'signing_config.v0.2.json': SIGNING_CONFIG
  })
  const served = await serveFiles(repo.files)
  t.after(() => served.stop())
  const dir = tmp()
  const rootPath = join(dir, 'root.json')
  writeFileSync(rootPath, root1)
  const cache = join(dir, 'cache')
  const run = (purpose: TrustPurpose, env: NodeJS.ProcessEnv = {}) => {
    const logger = new MemoryLogger()
    return resolveTrust({
      purpose,
      tufMirror: served.url,
      tufRootPath: rootPath,
      env: { TUF_ROOT: cache, ...env },
      logger,
      userAgent: 'test',
      tufBudgetMs: 300
    }).then(r => ({ ...r, logger }))
  }
  const timestampFile = join(cache, cacheDirName(served.url), 'timestamp.json')
  return { repo, served, run, cache, timestampFile, rootPath }
}

test('TUF: refresh once, then the cache alone for a day (no request)', async t => {
  const w = await world(t)
  const first = await w.run('verify')
  assert.match(first.source, /refreshed from the mirror/)
  assert.equal(first.trust.tlogs.length > 0, true)
  assert.deepEqual(first.signingConfig, JSON.parse(SIGNING_CONFIG))
  const n = w.served.requests.length
  assert.ok(n >= 4)
  const second = await w.run('sign')
  assert.match(second.source, /cache .*refreshed 0 min ago/)
  assert.equal(w.served.requests.length, n, 'a fresh cache adds no request')
  // a day later: refreshed again (timestamp only; the rest is unchanged)
  const old = new Date(Date.now() - 25 * 3600_000)
  utimesSync(w.timestampFile, old, old)
  const third = await w.run('verify')
  assert.match(third.source, /refreshed from the mirror/)
  assert.deepEqual(w.served.requests.slice(n), [
    '2.root.json',
    'timestamp.json'
  ])
})

test('TUF unreachable: verify falls back to the stale cache with its age; sign fails', async t => {
  const w = await world(t)
  await w.run('verify')
  const old = new Date(Date.now() - 3 * 86_400_000)
  utimesSync(w.timestampFile, old, old)
  await w.served.stop()
  const v = await w.run('verify')
  assert.match(v.source, /3 days old, mirror unreachable/)
  assert.match(
    v.logger.text(),
    /warn: The TUF mirror .* is unreachable .*cached trusted root \(3 days old/
  )
  await assert.rejects(
    w.run('sign'),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'TUF_UNREACHABLE')
      assert.match(e.remedy ?? '', /trusted-root/)
      return true
    }
  )
  // a key pair without log needs no trust at all
  assert.match((await w.run('none')).source, /none needed/)
})

test('TUF unreachable with nothing cached, private mirror: verify fails too', async t => {
  const w = await world(t)
  await w.served.stop()
  await assert.rejects(w.run('verify'), { code: 'TUF_FETCH_FAILED' })
})

test('an attack is never answered with a fallback', async t => {
  const w = await world(t)
  await w.run('verify')
  const old = new Date(Date.now() - 2 * 86_400_000)
  utimesSync(w.timestampFile, old, old)
  const v1 = w.repo.files.get('timestamp.json')!
  w.repo.publishAll()
  await w.run('verify')
  utimesSync(w.timestampFile, old, old)
  w.repo.files.set('timestamp.json', v1) // rollback
  await assert.rejects(w.run('verify'), { code: 'TUF_ROLLBACK' })
})

test('SIGIL_TUF_OFFLINE: never a request; the cache, else the embedded root', async t => {
  const w = await world(t)
  await assert.rejects(w.run('verify', { SIGIL_TUF_OFFLINE: '1' }), {
    code: 'TUF_UNREACHABLE'
  })
  assert.equal(w.served.requests.length, 0)
  await w.run('verify')
  const n = w.served.requests.length
  const old = new Date(Date.now() - 9 * 86_400_000)
  utimesSync(w.timestampFile, old, old)
  const r = await w.run('sign', { SIGIL_TUF_OFFLINE: 'true' })
  assert.match(r.source, /SIGIL_TUF_OFFLINE|refreshed 9 days ago/)
  assert.equal(w.served.requests.length, n)
  // public good, nothing cached: the embedded root, no request anywhere
  const pg = await resolveTrust({
    purpose: 'verify',
    env: { TUF_ROOT: join(tmp(), 'none'), SIGIL_TUF_OFFLINE: '1' },
    logger: new MemoryLogger(),
    userAgent: 'test'
  })
  assert.match(pg.source, /embedded in this build \(@sigstore\/tuf@/)
})

test('a private mirror needs its initial root', async () => {
  await assert.rejects(
    resolveTrust({
      purpose: 'verify',
      tufMirror: 'http://127.0.0.1:9',
      env: { TUF_ROOT: tmp() },
      logger: new MemoryLogger(),
      userAgent: 'test'
    }),
    { code: 'INPUT_TUF_ROOT_REQUIRED' }
  )
})

test('an explicit trusted root: no TUF', async () => {
  const f = join(tmp(), 'trusted_root.json')
  writeFileSync(f, TRUSTED_ROOT)
  const r = await resolveTrust({
    purpose: 'sign',
    trustedRootPath: f,
    env: {},
    logger: new MemoryLogger(),
    userAgent: 'test'
  })
  assert.match(r.source, /explicit; no TUF/)
})

test("cosign's per-kind trust variables: a file that cannot be read fails before any network, naming the variable", async () => {
  for (const v of [
    'SIGSTORE_ROOT_FILE',
    'SIGSTORE_REKOR_PUBLIC_KEY',
    'SIGSTORE_CT_LOG_PUBLIC_KEY_FILE',
    'SIGSTORE_TSA_CERTIFICATE_FILE'
  ]) {
    await assert.rejects(
      resolveTrust({
        purpose: 'verify',
        env: { [v]: '/some/file.pem', SIGIL_TUF_OFFLINE: '1' },
        logger: new MemoryLogger(),
        userAgent: 'test'
      }),
      (e: Error & { code?: string; remedy?: string }) => {
        assert.equal(e.code, 'INPUT_TRUST_VARIABLE_INVALID')
        assert.match(
          e.message,
          new RegExp(`${v}="/some/file.pem": cannot be read`)
        )
        assert.match(e.remedy ?? '', new RegExp(`Point ${v} at`))
        return true
      }
    )
  }
  const logger = new MemoryLogger()
  await resolveTrust({
    purpose: 'verify',
    env: { COSIGN_EXPERIMENTAL: '1', SIGIL_TUF_OFFLINE: '1', TUF_ROOT: tmp() },
    logger,
    userAgent: 'test'
  })
  assert.match(logger.text(), /COSIGN_EXPERIMENTAL is set: accepted/)
})

const vdir = vectorsDir()
test(
  'air-gapped: sigil verify-blob with the trusted root from a TUF cache, the mirror gone',
  { skip: vdir ? false : 'no ../shared/vectors' },
  async t => {
    const w = await world(t)
    const bundle = join(vdir!, 'sigstore-python/bundle_v3_github.whl.sigstore')
    const artifact = join(vdir!, 'sigstore-python/bundle_v3_github.whl')
    const args = [
      'verify-blob',
      '--bundle',
      bundle,
      '--certificate-identity',
      'https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2',
      '--certificate-oidc-issuer',
      'https://token.actions.githubusercontent.com',
      '--tuf-mirror',
      w.served.url,
      '--tuf-root',
      w.rootPath,
      artifact
    ]
    const cli = async () => {
      let stderr = ''
      const code = await runCliWith(args, {
        stdout: () => {},
        stderr: s => {
          stderr += s
        },
        env: { TUF_ROOT: w.cache, HOME: w.cache }
      })
      return { code, stderr }
    }
    const first = await cli()
    assert.equal(first.code, 0, first.stderr)
    await w.served.stop() // no network from here on
    const n = w.served.requests.length
    assert.ok(n >= 4, 'the first run refreshed from the mirror')
    const second = await cli()
    assert.equal(second.code, 0, second.stderr)
    assert.doesNotMatch(second.stderr, /warning/)
    assert.equal(w.served.requests.length, n)
  }
)
