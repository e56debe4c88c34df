// TUF repositories for tests: a generator that signs its own metadata
// (noble ed25519 and ECDSA P-256 keys, canonical JSON), a loopback server
// that serves any file map (consistent-snapshot layout) and can be changed
// between requests to stage attacks, and the real public-good metadata of
// ../shared/vectors/tuf laid out the way the CDN serves it.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ed25519 } from '@noble/curves/ed25519.js'
import { p256 } from '@noble/curves/nist.js'
import { canonicalJson } from '../../src/sigstore/tuf/index.ts'
import { listenLoopback, type Listening } from './loopback.ts'

export interface TestKey {
  id: string
  json: Record<string, unknown>
  sign(data: Uint8Array): string
}

export function ed25519Key(): TestKey {
  const sk = ed25519.utils.randomSecretKey()
  const pub = Buffer.from(ed25519.getPublicKey(sk)).toString('hex')
  const json = {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyval: { public: pub }
  }
  return {
    id: createHash('sha256').update(canonicalJson(json)).digest('hex'),
    json,
    sign: d => Buffer.from(ed25519.sign(d, sk)).toString('hex')
  }
}

export function ecdsaKey(): TestKey {
  const sk = p256.utils.randomSecretKey()
  const raw = p256.getPublicKey(sk, false)
  const spki = Buffer.concat([
    Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
    raw
  ])
  const pem = `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`
  const json = {
    keytype: 'ecdsa',
    scheme: 'ecdsa-sha2-nistp256',
    keyval: { public: pem }
  }
  return {
    id: createHash('sha256').update(canonicalJson(json)).digest('hex'),
    json,
    sign: d => Buffer.from(p256.sign(d, sk, { format: 'der' })).toString('hex')
  }
}

export function signDoc(
  signed: Record<string, unknown>,
  keys: readonly TestKey[]
): Uint8Array {
  const data = Buffer.from(canonicalJson(signed), 'utf8')
  const doc = {
    signed,
    signatures: keys.map(k => ({ keyid: k.id, sig: k.sign(data) }))
  }
  return Buffer.from(JSON.stringify(doc, null, 1))
}

const DAY = 86_400_000
export const iso = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')

export interface RoleKeys {
  root: TestKey[]
  timestamp: TestKey[]
  snapshot: TestKey[]
  targets: TestKey[]
}

/**
 * A consistent-snapshot repository with top-level roles only. Each publish
 * step writes files into `files` (paths as the mirror serves them).
 */
export class TestRepo {
  files = new Map<string, Uint8Array>()
  keys: RoleKeys
  thresholds = { root: 1, timestamp: 1, snapshot: 1, targets: 1 }
  rootVersion = 0
  timestampVersion = 0
  snapshotVersion = 0
  targetsVersion = 0
  targets = new Map<string, Uint8Array>()
  /** false: snapshot/timestamp meta give versions only (no length/hash). */
  metaHashes = true
  now: number

  constructor(now = Date.now()) {
    this.now = now
    this.keys = {
      root: [ecdsaKey()],
      timestamp: [ed25519Key()],
      snapshot: [ecdsaKey()],
      targets: [ed25519Key()]
    }
  }

  rootSigned(expires = this.now + 365 * DAY): Record<string, unknown> {
    const all = [
      ...this.keys.root,
      ...this.keys.timestamp,
      ...this.keys.snapshot,
      ...this.keys.targets
    ]
    const role = (r: keyof RoleKeys) => ({
      keyids: this.keys[r].map(k => k.id),
      threshold: this.thresholds[r]
    })
    return {
      _type: 'root',
      spec_version: '1.0.31',
      version: this.rootVersion,
      expires: iso(expires),
      consistent_snapshot: true,
      keys: Object.fromEntries(all.map(k => [k.id, k.json])),
      roles: {
        root: role('root'),
        timestamp: role('timestamp'),
        snapshot: role('snapshot'),
        targets: role('targets')
      }
    }
  }

  /** Publishes the next root version, signed by `signers` (default: the
   * current root keys), and returns its bytes. */
  publishRoot(signers?: TestKey[], expires?: number): Uint8Array {
    this.rootVersion++
    const bytes = signDoc(this.rootSigned(expires), signers ?? this.keys.root)
    this.files.set(`${this.rootVersion}.root.json`, bytes)
    return bytes
  }

  publishTargets(expires = this.now + 30 * DAY): void {
    this.targetsVersion++
    const entries = Object.fromEntries(
      [...this.targets].map(([name, b]) => [
        name,
        {
          length: b.length,
          hashes: {
            sha256: createHash('sha256').update(b).digest('hex'),
            sha512: createHash('sha512').update(b).digest('hex')
          }
        }
      ])
    )
    for (const [name, b] of this.targets) {
      const h = createHash('sha256').update(b).digest('hex')
      this.files.set(`targets/${h}.${name}`, b)
    }
    const bytes = signDoc(
      {
        _type: 'targets',
        spec_version: '1.0.31',
        version: this.targetsVersion,
        expires: iso(expires),
        targets: entries
      },
      this.keys.targets
    )
    this.files.set(`${this.targetsVersion}.targets.json`, bytes)
  }

  publishSnapshot(expires = this.now + 14 * DAY): void {
    this.snapshotVersion++
    const t = this.files.get(`${this.targetsVersion}.targets.json`)!
    const bytes = signDoc(
      {
        _type: 'snapshot',
        spec_version: '1.0.31',
        version: this.snapshotVersion,
        expires: iso(expires),
        meta: {
          'targets.json': {
            version: this.targetsVersion,
            ...(this.metaHashes
              ? {
                  length: t.length,
                  hashes: {
                    sha256: createHash('sha256').update(t).digest('hex')
                  }
                }
              : {})
          }
        }
      },
      this.keys.snapshot
    )
    this.files.set(`${this.snapshotVersion}.snapshot.json`, bytes)
  }

  publishTimestamp(expires = this.now + 7 * DAY): void {
    this.timestampVersion++
    const s = this.files.get(`${this.snapshotVersion}.snapshot.json`)!
    this.files.set(
      'timestamp.json',
      signDoc(
        {
          _type: 'timestamp',
          spec_version: '1.0.31',
          version: this.timestampVersion,
          expires: iso(expires),
          meta: {
            'snapshot.json': {
              version: this.snapshotVersion,
              ...(this.metaHashes
                ? {
                    length: s.length,
                    hashes: {
                      sha256: createHash('sha256').update(s).digest('hex')
                    }
                  }
                : {})
            }
          }
        },
        this.keys.timestamp
      )
    )
  }

  /** Targets, snapshot and timestamp, each one version up. */
  publishAll(): void {
    this.publishTargets()
    this.publishSnapshot()
    this.publishTimestamp()
  }

  /** A fresh repository: root 1 and the three other roles. */
  static create(
    targets: Record<string, string>,
    now = Date.now()
  ): { repo: TestRepo; root1: Uint8Array } {
    const repo = new TestRepo(now)
    for (const [k, v] of Object.entries(targets)) {
      repo.targets.set(k, Buffer.from(v))
    }
    const root1 = repo.publishRoot()
    repo.publishAll()
    return { repo, root1 }
  }
}

export interface ServedRepo extends Listening {
  /** Paths requested, in order. */
  requests: string[]
}

/** Serves `files` (read at each request, so tests may change it) on loopback. */
export async function serveFiles(
  files: Map<string, Uint8Array>
): Promise<ServedRepo> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').slice(1))
    requests.push(path)
    const body = files.get(path)
    if (!body) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-length': body.length }).end(body)
  })
  const l = await listenLoopback(server)
  return { ...l, requests }
}

const here = dirname(fileURLToPath(import.meta.url))

/** ../shared/vectors/tuf, or undefined when absent. */
export function tufVectorsDir(): string | undefined {
  const base =
    process.env['SIGIL_VECTORS'] ?? resolve(here, '../../../shared/vectors')
  const dir = join(base, 'tuf')
  return existsSync(join(dir, 'metadata', 'timestamp.json')) ? dir : undefined
}

/** The README's clock: inside every file's validity window (root 15,
 * timestamp 762 expires 2026-08-28T19:25:56Z). */
export const TUF_VECTORS_NOW = Date.parse('2026-08-25T00:00:00Z')

/** The real repository in the CDN's consistent-snapshot layout. */
export function tufVectorFiles(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>()
  const md = join(dir, 'metadata')
  for (const f of readdirSync(join(md, 'root_history'))) {
    files.set(f, readFileSync(join(md, 'root_history', f)))
  }
  const versioned = (name: string): void => {
    const b = readFileSync(join(md, name))
    const v = (JSON.parse(b.toString()) as { signed: { version: number } })
      .signed.version
    files.set(`${v}.${name}`, b)
  }
  files.set('timestamp.json', readFileSync(join(md, 'timestamp.json')))
  versioned('snapshot.json')
  versioned('targets.json')
  for (const f of readdirSync(join(dir, 'targets'))) {
    const b = readFileSync(join(dir, 'targets', f))
    files.set(`targets/${createHash('sha256').update(b).digest('hex')}.${f}`, b)
  }
  return files
}
