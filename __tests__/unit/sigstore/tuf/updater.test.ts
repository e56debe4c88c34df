// The TUF client against repositories on loopback: the real public-good
// metadata (../shared/vectors/tuf, roots 1 to 15) at the clock its README
// gives, and generated repositories for a rotation and each attack the TUF
// spec names (rollback, freeze, mix-and-match, wrong hashes, too few
// signatures).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpClient } from '../../../../src/http/index.ts'
import {
  TufClient,
  TufError,
  fileStore,
  httpRemote,
  cacheDirName,
  type TufStore
} from '../../../../src/sigstore/tuf/index.ts'
import {
  TUF_VECTORS_NOW,
  TestRepo,
  ecdsaKey,
  ed25519Key,
  serveFiles,
  signDoc,
  tufVectorFiles,
  tufVectorsDir,
  type ServedRepo
} from '../../../support/tuf-repo.ts'

const http = new HttpClient({ userAgent: 'test', retries: 0, budgetMs: 5000 })
const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tmpStore(): { store: TufStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-tuf-'))
  dirs.push(dir)
  return { store: fileStore(dir), dir }
}

function client(
  served: ServedRepo,
  initialRoot: Uint8Array,
  store: TufStore,
  now: number
): TufClient {
  return new TufClient({
    remote: httpRemote(http, served.url),
    store,
    initialRoot,
    now: () => now
  })
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TufError, `not a TufError: ${String(e)}`)
    assert.equal(e.code, code, e.message)
    return true
  })
}

const vectors = tufVectorsDir()
const skipVectors = vectors
  ? false
  : 'no ../shared/vectors/tuf (real public-good TUF metadata)'

test(
  'real public-good repository: walks roots 1→15 and fetches the Sigstore targets',
  { skip: skipVectors },
  async t => {
    const files = tufVectorFiles(vectors!)
    const served = await serveFiles(files)
    t.after(() => served.stop())
    const { store, dir } = tmpStore()
    const root1 = files.get('1.root.json')!
    const c = client(served, root1, store, TUF_VECTORS_NOW)
    const got = await c.refresh(
      ['trusted_root.json'],
      ['signing_config.v0.2.json', 'absent.json']
    )
    assert.equal(got.rootVersion, 15)
    assert.equal(got.timestampVersion, 762)
    assert.deepEqual(
      Buffer.from(got.targets.get('trusted_root.json')!),
      readFileSync(join(vectors!, 'targets', 'trusted_root.json'))
    )
    assert.deepEqual(
      Buffer.from(got.targets.get('signing_config.v0.2.json')!),
      readFileSync(join(vectors!, 'targets', 'signing_config.v0.2.json'))
    )
    assert.equal(got.targets.has('absent.json'), false)
    assert.ok(served.requests.includes('15.root.json'))
    assert.ok(
      served.requests.includes('16.root.json'),
      'asked for the next root'
    )
    // The cache now answers alone, verified again, with no request.
    const before = served.requests.length
    const cached = await client(served, root1, store, TUF_VECTORS_NOW).cached(
      ['trusted_root.json'],
      ['signing_config.v0.2.json']
    )
    assert.equal(cached?.rootVersion, 15)
    assert.equal(served.requests.length, before)
    assert.deepEqual(
      readFileSync(join(dir, 'root.json')),
      Buffer.from(files.get('15.root.json')!)
    )
  }
)

test(
  "real public-good repository: rejected at today's date (freeze)",
  { skip: skipVectors },
  async t => {
    const files = tufVectorFiles(vectors!)
    const served = await serveFiles(files)
    t.after(() => served.stop())
    const { store } = tmpStore()
    const c = client(
      served,
      files.get('14.root.json')!,
      store,
      Date.parse('2026-12-02T00:00:00Z')
    )
    await rejects(c.refresh(['trusted_root.json']), 'TUF_EXPIRED')
    // and a cache written at the right time is stale later: no answer from it
    const { store: s2 } = tmpStore()
    await client(
      served,
      files.get('14.root.json')!,
      s2,
      TUF_VECTORS_NOW
    ).refresh(['trusted_root.json'])
    assert.equal(
      await client(
        served,
        files.get('14.root.json')!,
        s2,
        Date.parse('2026-09-01T00:00:00Z')
      ).cached(['trusted_root.json']),
      undefined
    )
  }
)

test(
  'real public-good repository: a root signed by too few of the previous keys is refused',
  { skip: skipVectors },
  async t => {
    const files = tufVectorFiles(vectors!)
    const doc = JSON.parse(Buffer.from(files.get('15.root.json')!).toString())
    doc.signatures = doc.signatures.slice(0, 2)
    files.set('15.root.json', Buffer.from(JSON.stringify(doc)))
    const served = await serveFiles(files)
    t.after(() => served.stop())
    const { store } = tmpStore()
    await rejects(
      client(
        served,
        files.get('14.root.json')!,
        store,
        TUF_VECTORS_NOW
      ).refresh(['trusted_root.json']),
      'TUF_SIGNATURE_THRESHOLD'
    )
  }
)

const NOW = Date.parse('2026-01-10T00:00:00Z')

async function setup(
  t: { after: (f: () => unknown) => void },
  targets = {
    'trusted_root.json': '{"a":1}',
    'signing_config.v0.2.json': '{"b":2}'
  }
) {
  const { repo, root1 } = TestRepo.create(targets, NOW)
  const served = await serveFiles(repo.files)
  t.after(() => served.stop())
  const { store, dir } = tmpStore()
  const c = (now = NOW) => client(served, root1, store, now)
  return { repo, root1, served, store, dir, c }
}

test('generated repository: refresh, then the cache alone (no request)', async t => {
  const { served, c } = await setup(t)
  const got = await c().refresh(
    ['trusted_root.json'],
    ['signing_config.v0.2.json']
  )
  assert.equal(
    Buffer.from(got.targets.get('trusted_root.json')!).toString(),
    '{"a":1}'
  )
  assert.equal(
    Buffer.from(got.targets.get('signing_config.v0.2.json')!).toString(),
    '{"b":2}'
  )
  const n = served.requests.length
  const cached = await c().cached(
    ['trusted_root.json'],
    ['signing_config.v0.2.json']
  )
  assert.equal(
    Buffer.from(cached!.targets.get('trusted_root.json')!).toString(),
    '{"a":1}'
  )
  assert.equal(served.requests.length, n)
  // A second refresh re-uses cached snapshot, targets and target files.
  await c().refresh(['trusted_root.json'])
  assert.deepEqual(served.requests.slice(n), ['2.root.json', 'timestamp.json'])
})

test('generated repository: a required target the repository does not list', async t => {
  const { c } = await setup(t)
  await rejects(c().refresh(['nope.json']), 'TUF_TARGET_MISSING')
})

test('root rotation: new keys and threshold, signed by old and new', async t => {
  const { repo, c, dir } = await setup(t)
  await c().refresh(['trusted_root.json'])
  const old = repo.keys.root
  repo.keys.root = [ecdsaKey(), ed25519Key(), ecdsaKey()]
  repo.thresholds.root = 2
  repo.keys.timestamp = [ecdsaKey()]
  repo.publishRoot([...old, ...repo.keys.root.slice(0, 2)])
  repo.publishAll()
  const got = await c().refresh(['trusted_root.json'])
  assert.equal(got.rootVersion, 2)
  assert.equal(
    JSON.parse(readFileSync(join(dir, 'root.json'), 'utf8')).signed.version,
    2
  )
  // v3 signed by the old root keys only (not a threshold of its own): refused
  const v2keys = repo.keys.root
  repo.keys.root = [ecdsaKey(), ecdsaKey()]
  repo.publishRoot(v2keys)
  await rejects(c().refresh(['trusted_root.json']), 'TUF_SIGNATURE_THRESHOLD')
})

test('root rotation: a new root without a threshold of the old keys is refused', async t => {
  const { repo, c } = await setup(t)
  repo.keys.root = [ecdsaKey()]
  repo.publishRoot() // signed by the new key only
  await rejects(c().refresh(['trusted_root.json']), 'TUF_SIGNATURE_THRESHOLD')
})

test('root rotation: a root whose version is not the one asked for', async t => {
  const { repo, c } = await setup(t)
  const bytes = repo.publishRoot()
  repo.files.delete('2.root.json')
  repo.rootVersion = 5
  repo.files.set('2.root.json', signDoc(repo.rootSigned(), repo.keys.root))
  void bytes
  await rejects(c().refresh(['trusted_root.json']), 'TUF_VERSION_MISMATCH')
})

test('rollback: an older timestamp than the one trusted', async t => {
  const { repo, c } = await setup(t)
  const v1 = repo.files.get('timestamp.json')!
  repo.publishAll()
  await c().refresh(['trusted_root.json'])
  repo.files.set('timestamp.json', v1)
  await rejects(c().refresh(['trusted_root.json']), 'TUF_ROLLBACK')
})

test('rollback: a newer timestamp naming an older snapshot', async t => {
  const { repo, c } = await setup(t)
  repo.publishAll()
  await c().refresh(['trusted_root.json'])
  repo.snapshotVersion = 1
  repo.publishTimestamp()
  await rejects(c().refresh(['trusted_root.json']), 'TUF_ROLLBACK')
})

test('rollback: a snapshot naming an older targets version', async t => {
  const { repo, c } = await setup(t)
  repo.publishAll()
  await c().refresh(['trusted_root.json'])
  repo.targetsVersion = 1
  repo.publishSnapshot()
  repo.publishTimestamp()
  await rejects(c().refresh(['trusted_root.json']), 'TUF_ROLLBACK')
})

test('freeze: expired timestamp, snapshot, targets and root are refused', async t => {
  const later = NOW + 8 * 86_400_000 // timestamp lives 7 days
  const { c } = await setup(t)
  await rejects(c(later).refresh(['trusted_root.json']), 'TUF_EXPIRED')
  const s2 = await setup(t)
  s2.repo.publishTargets()
  s2.repo.publishSnapshot(NOW - 1000)
  s2.repo.publishTimestamp()
  await rejects(s2.c().refresh(['trusted_root.json']), 'TUF_EXPIRED')
  const s3 = await setup(t)
  s3.repo.publishTargets(NOW - 1000)
  s3.repo.publishSnapshot()
  s3.repo.publishTimestamp()
  await rejects(s3.c().refresh(['trusted_root.json']), 'TUF_EXPIRED')
  const s4 = await setup(t)
  s4.repo.publishRoot(undefined, NOW - 1000)
  await rejects(s4.c().refresh(['trusted_root.json']), 'TUF_EXPIRED')
})

test('mix-and-match: targets of another version than the snapshot names', async t => {
  const { repo, c } = await setup(t)
  repo.metaHashes = false
  const t1 = repo.files.get('1.targets.json')!
  repo.publishAll()
  repo.files.set('2.targets.json', t1)
  await rejects(c().refresh(['trusted_root.json']), 'TUF_VERSION_MISMATCH')
})

test('mix-and-match: a snapshot of another version than the timestamp names', async t => {
  const { repo, c } = await setup(t)
  repo.metaHashes = false
  const s1 = repo.files.get('1.snapshot.json')!
  repo.publishAll()
  repo.files.set('2.snapshot.json', s1)
  await rejects(c().refresh(['trusted_root.json']), 'TUF_VERSION_MISMATCH')
})

test('wrong hashes: target, snapshot and targets bytes that differ from the signed hashes', async t => {
  const a = await setup(t)
  const path = [...a.repo.files.keys()].find(k =>
    k.endsWith('.trusted_root.json')
  )!
  a.repo.files.set(path, Buffer.from('{"a":2}'))
  await rejects(a.c().refresh(['trusted_root.json']), 'TUF_HASH_MISMATCH')
  const b = await setup(t)
  b.repo.files.set(
    '1.snapshot.json',
    Buffer.concat([b.repo.files.get('1.snapshot.json')!, Buffer.from(' ')])
  )
  await rejects(b.c().refresh(['trusted_root.json']), 'TUF_HASH_MISMATCH')
  const c2 = await setup(t)
  const tj = JSON.parse(
    Buffer.from(c2.repo.files.get('1.targets.json')!).toString()
  )
  c2.repo.files.set('1.targets.json', Buffer.from(JSON.stringify(tj)))
  await rejects(c2.c().refresh(['trusted_root.json']), 'TUF_HASH_MISMATCH')
  // a tampered cached target is not used: fetched again
  const d = await setup(t)
  await d.c().refresh(['trusted_root.json'])
  await d.store.write('targets/trusted_root.json', Buffer.from('{"evil":1}'))
  assert.equal(await d.c().cached(['trusted_root.json']), undefined)
  const again = await d.c().refresh(['trusted_root.json'])
  assert.equal(
    Buffer.from(again.targets.get('trusted_root.json')!).toString(),
    '{"a":1}'
  )
})

test('signatures: a timestamp signed by a key the root does not name', async t => {
  const { repo, c } = await setup(t)
  repo.keys.timestamp = [ed25519Key()]
  repo.publishTimestamp() // root still names the old key
  await rejects(c().refresh(['trusted_root.json']), 'TUF_SIGNATURE_THRESHOLD')
})

test('signatures: one key signing twice does not make a threshold of two', async t => {
  const { repo, c } = await setup(t)
  repo.thresholds.targets = 2
  const extra = ecdsaKey()
  const k = repo.keys.targets[0]!
  repo.keys.targets = [k, extra]
  repo.publishRoot()
  repo.keys.targets = [k, k]
  repo.publishAll()
  await rejects(c().refresh(['trusted_root.json']), 'TUF_SIGNATURE_THRESHOLD')
})

test('cache folder names follow sigstore-go', () => {
  assert.equal(
    cacheDirName('https://tuf-repo-cdn.sigstore.dev'),
    'tuf-repo-cdn.sigstore.dev'
  )
  assert.equal(
    cacheDirName('https://example.com/prod/tuf/'),
    'example.com-prod-tuf'
  )
  assert.equal(cacheDirName('http://127.0.0.1:8080'), 'http:--127.0.0.1:8080')
})
