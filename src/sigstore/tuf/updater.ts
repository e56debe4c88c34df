// A small, strict TUF client (spec v1.0 "detailed client workflow") for the
// Sigstore repositories: top-level roles only (the targets Sigstore clients
// need are listed by the top-level targets role; delegations are not
// followed). I/O comes in through two small interfaces so that the update
// logic can be tested against generated repositories: `TufRemote` (the
// mirror) and `TufStore` (the local cache).
//
// Every piece of cached metadata is verified again when it is read, so a
// cache is only ever a copy of what the repository signed.

import {
  checkHashes,
  checkNotExpired,
  checkSignatures,
  parseMetadata,
  type MetaFile,
  type RootMetadata,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata
} from './metadata.ts'
import { TufError } from './errors.ts'

/** The mirror: `undefined` for 404/403 (a file that is not there). */
export interface TufRemote {
  /** `path` relative to the mirror root, e.g. `2.root.json`, `targets/<h>.x`. */
  fetch(path: string, maxBytes: number): Promise<Uint8Array | undefined>
}

/** The local cache for one repository; names like `root.json`, `targets/x`. */
export interface TufStore {
  read(name: string): Promise<Uint8Array | undefined>
  write(name: string, bytes: Uint8Array): Promise<void>
  remove(name: string): Promise<void>
}

export interface TufClientOptions {
  remote: TufRemote
  store: TufStore
  /** The trust anchor: a root.json this client trusts without question. */
  initialRoot: Uint8Array
  /** Epoch ms; tests fix it to a repository's validity window. */
  now?: () => number
}

export interface TufTargets {
  /** Target name → verified bytes (optional targets absent when unlisted). */
  targets: Map<string, Uint8Array>
  rootVersion: number
  timestampVersion: number
  /** When the timestamp (the freshest metadata) expires, epoch ms. */
  expires: number
}

/** Files larger than this are refused when no signed length bounds them. */
const MAX_ROOT_BYTES = 512 * 1024
const MAX_TIMESTAMP_BYTES = 16 * 1024
const MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024
const MAX_TARGETS_BYTES = 5 * 1024 * 1024
/** Root rotations walked in one update (python-tuf's bound). */
const MAX_ROOT_ROTATIONS = 32

export class TufClient {
  readonly #remote: TufRemote
  readonly #store: TufStore
  readonly #initialRoot: Uint8Array
  readonly #now: () => number

  constructor(o: TufClientOptions) {
    this.#remote = o.remote
    this.#store = o.store
    this.#initialRoot = o.initialRoot
    this.#now = o.now ?? Date.now
  }

  /**
   * The targets from the cache alone, every file verified as in an update
   * (signatures, versions, hashes, expiry); undefined when the cache is
   * missing a piece, does not verify, or has expired. No network.
   */
  async cached(
    required: readonly string[],
    optional: readonly string[] = [],
    o: { ignoreExpiry?: boolean } = {}
  ): Promise<TufTargets | undefined> {
    // ignoreExpiry: for a verifier's fallback when the mirror is down; the
    // caller says how old the material is.
    const now = o.ignoreExpiry ? -Infinity : this.#now()
    try {
      const root = await this.#trustedRoot()
      checkNotExpired(root, now, 'root.json')
      const ts = await this.#cachedTimestamp(root)
      if (!ts) return undefined
      checkNotExpired(ts, now, 'timestamp.json')
      const snap = await this.#cachedSnapshot(root, ts.snapshot)
      if (!snap) return undefined
      checkNotExpired(snap, now, 'snapshot.json')
      const targetsMeta = snap.meta.get('targets.json')
      if (!targetsMeta) return undefined
      const targets = await this.#cachedTargets(root, targetsMeta)
      if (!targets) return undefined
      checkNotExpired(targets, now, 'targets.json')
      const out = new Map<string, Uint8Array>()
      for (const name of [...required, ...optional]) {
        const info = targets.targets.get(name)
        if (!info) {
          if (required.includes(name)) return undefined
          continue
        }
        const bytes = await this.#store.read(`targets/${name}`)
        if (!bytes) return undefined
        checkHashes(bytes, info, `cached target ${name}`)
        out.set(name, bytes)
      }
      return {
        targets: out,
        rootVersion: root.version,
        timestampVersion: ts.version,
        expires: ts.expires
      }
    } catch (e) {
      if (e instanceof TufError) return undefined
      throw e
    }
  }

  /**
   * A full update from the mirror: root rotations, timestamp, snapshot,
   * targets, then the named targets (re-used from the cache when their
   * hashes still match). Throws TufError on any attack or failure.
   */
  async refresh(
    required: readonly string[],
    optional: readonly string[] = []
  ): Promise<TufTargets> {
    const now = this.#now()
    const root = await this.#updateRoot()
    checkNotExpired(root, now, 'root.json')
    const ts = await this.#updateTimestamp(root, now)
    const snap = await this.#updateSnapshot(root, ts, now)
    const targets = await this.#updateTargets(root, snap, now)
    const out = new Map<string, Uint8Array>()
    for (const name of [...required, ...optional]) {
      const info = targets.targets.get(name)
      if (!info) {
        if (!required.includes(name)) continue
        throw new TufError(
          'TUF_TARGET_MISSING',
          `the repository's targets.json (version ${targets.version}) does not list ${name}`
        )
      }
      out.set(name, await this.#target(root, name, info))
    }
    return {
      targets: out,
      rootVersion: root.version,
      timestampVersion: ts.version,
      expires: ts.expires
    }
  }

  /** The newest root we already trust: the anchor, or a newer cached one. */
  async #trustedRoot(): Promise<RootMetadata> {
    const anchor = parseMetadata(this.#initialRoot, 'root', 'initial root.json')
    checkSignatures(anchor, anchor, 'root', 'initial root.json')
    const bytes = await this.#store.read('root.json')
    if (!bytes) return anchor
    try {
      const cached = parseMetadata(bytes, 'root', 'cached root.json')
      checkSignatures(cached, cached, 'root', 'cached root.json')
      return cached.version > anchor.version ? cached : anchor
    } catch (e) {
      if (e instanceof TufError) return anchor
      throw e
    }
  }

  async #updateRoot(): Promise<RootMetadata> {
    let trusted = await this.#trustedRoot()
    for (let i = 0; i < MAX_ROOT_ROTATIONS; i++) {
      const next = trusted.version + 1
      const what = `${next}.root.json`
      const bytes = await this.#remote.fetch(what, MAX_ROOT_BYTES)
      if (!bytes) break
      const root = parseMetadata(bytes, 'root', what)
      // Signed by a threshold of the keys we trust now, and of its own.
      checkSignatures(root, trusted, 'root', what)
      checkSignatures(root, root, 'root', what)
      if (root.version !== next) {
        throw new TufError(
          'TUF_VERSION_MISMATCH',
          `${what} says it is version ${root.version}`
        )
      }
      if (keysChanged(trusted, root, 'timestamp')) {
        await this.#store.remove('timestamp.json')
      }
      if (keysChanged(trusted, root, 'snapshot')) {
        await this.#store.remove('snapshot.json')
      }
      await this.#store.write('root.json', bytes)
      trusted = root
    }
    return trusted
  }

  async #cachedTimestamp(
    root: RootMetadata
  ): Promise<TimestampMetadata | undefined> {
    const bytes = await this.#store.read('timestamp.json')
    if (!bytes) return undefined
    try {
      const ts = parseMetadata(bytes, 'timestamp', 'cached timestamp.json')
      checkSignatures(ts, root, 'timestamp', 'cached timestamp.json')
      return ts
    } catch (e) {
      if (e instanceof TufError) return undefined
      throw e
    }
  }

  async #updateTimestamp(
    root: RootMetadata,
    now: number
  ): Promise<TimestampMetadata> {
    const bytes = await this.#fetch('timestamp.json', MAX_TIMESTAMP_BYTES)
    const ts = parseMetadata(bytes, 'timestamp', 'timestamp.json')
    checkSignatures(ts, root, 'timestamp', 'timestamp.json')
    const old = await this.#cachedTimestamp(root)
    if (old) {
      if (ts.version < old.version) {
        throw new TufError(
          'TUF_ROLLBACK',
          `timestamp.json version ${ts.version} is older than the trusted version ${old.version}`
        )
      }
      if (ts.snapshot.version < old.snapshot.version) {
        throw new TufError(
          'TUF_ROLLBACK',
          `timestamp.json names snapshot version ${ts.snapshot.version}, older than the trusted version ${old.snapshot.version}`
        )
      }
      if (ts.version === old.version) {
        // Nothing new: keep what we trust (spec 5.4.3).
        checkNotExpired(old, now, 'timestamp.json')
        return old
      }
    }
    checkNotExpired(ts, now, 'timestamp.json')
    await this.#store.write('timestamp.json', bytes)
    return ts
  }

  async #cachedSnapshot(
    root: RootMetadata,
    meta: MetaFile
  ): Promise<SnapshotMetadata | undefined> {
    const bytes = await this.#store.read('snapshot.json')
    if (!bytes) return undefined
    try {
      checkHashes(bytes, meta, 'cached snapshot.json')
      const snap = parseMetadata(bytes, 'snapshot', 'cached snapshot.json')
      checkSignatures(snap, root, 'snapshot', 'cached snapshot.json')
      return snap.version === meta.version ? snap : undefined
    } catch (e) {
      if (e instanceof TufError) return undefined
      throw e
    }
  }

  /** The cached snapshot even if the timestamp now names another version
   * (for the rollback comparison), when its signature still holds. */
  async #previousSnapshot(
    root: RootMetadata
  ): Promise<SnapshotMetadata | undefined> {
    const bytes = await this.#store.read('snapshot.json')
    if (!bytes) return undefined
    try {
      const snap = parseMetadata(bytes, 'snapshot', 'cached snapshot.json')
      checkSignatures(snap, root, 'snapshot', 'cached snapshot.json')
      return snap
    } catch (e) {
      if (e instanceof TufError) return undefined
      throw e
    }
  }

  async #updateSnapshot(
    root: RootMetadata,
    ts: TimestampMetadata,
    now: number
  ): Promise<SnapshotMetadata> {
    const meta = ts.snapshot
    const cached = await this.#cachedSnapshot(root, meta)
    if (cached) {
      checkNotExpired(cached, now, 'snapshot.json')
      return cached
    }
    const name = root.consistentSnapshot
      ? `${meta.version}.snapshot.json`
      : 'snapshot.json'
    const bytes = await this.#fetch(name, meta.length ?? MAX_SNAPSHOT_BYTES)
    checkHashes(bytes, meta, name)
    const snap = parseMetadata(bytes, 'snapshot', name)
    checkSignatures(snap, root, 'snapshot', name)
    if (snap.version !== meta.version) {
      throw new TufError(
        'TUF_VERSION_MISMATCH',
        `${name} is version ${snap.version}, timestamp.json names version ${meta.version}`
      )
    }
    const old = await this.#previousSnapshot(root)
    if (old) {
      for (const [file, m] of old.meta) {
        const now2 = snap.meta.get(file)
        if (!now2) {
          throw new TufError(
            'TUF_ROLLBACK',
            `${name} no longer lists ${file}, which the trusted snapshot (version ${old.version}) lists`
          )
        }
        if (now2.version < m.version) {
          throw new TufError(
            'TUF_ROLLBACK',
            `${name} names ${file} version ${now2.version}, older than the trusted version ${m.version}`
          )
        }
      }
    }
    checkNotExpired(snap, now, name)
    await this.#store.write('snapshot.json', bytes)
    return snap
  }

  async #cachedTargets(
    root: RootMetadata,
    meta: MetaFile
  ): Promise<TargetsMetadata | undefined> {
    const bytes = await this.#store.read('targets.json')
    if (!bytes) return undefined
    try {
      checkHashes(bytes, meta, 'cached targets.json')
      const t = parseMetadata(bytes, 'targets', 'cached targets.json')
      checkSignatures(t, root, 'targets', 'cached targets.json')
      return t.version === meta.version ? t : undefined
    } catch (e) {
      if (e instanceof TufError) return undefined
      throw e
    }
  }

  async #updateTargets(
    root: RootMetadata,
    snap: SnapshotMetadata,
    now: number
  ): Promise<TargetsMetadata> {
    const meta = snap.meta.get('targets.json')
    if (!meta) {
      throw new TufError(
        'TUF_METADATA_INVALID',
        `snapshot.json (version ${snap.version}) does not list targets.json`
      )
    }
    const cached = await this.#cachedTargets(root, meta)
    if (cached) {
      checkNotExpired(cached, now, 'targets.json')
      return cached
    }
    const name = root.consistentSnapshot
      ? `${meta.version}.targets.json`
      : 'targets.json'
    const bytes = await this.#fetch(name, meta.length ?? MAX_TARGETS_BYTES)
    checkHashes(bytes, meta, name)
    const t = parseMetadata(bytes, 'targets', name)
    checkSignatures(t, root, 'targets', name)
    if (t.version !== meta.version) {
      throw new TufError(
        'TUF_VERSION_MISMATCH',
        `${name} is version ${t.version}, snapshot.json names version ${meta.version}`
      )
    }
    checkNotExpired(t, now, name)
    await this.#store.write('targets.json', bytes)
    return t
  }

  async #target(
    root: RootMetadata,
    name: string,
    info: { length: number; hashes: Record<string, string> }
  ): Promise<Uint8Array> {
    const cached = await this.#store.read(`targets/${name}`)
    if (cached) {
      try {
        checkHashes(cached, info, `cached target ${name}`)
        return cached
      } catch (e) {
        if (!(e instanceof TufError)) throw e
      }
    }
    const hash = info.hashes['sha256'] ?? info.hashes['sha512']
    const dir = name.includes('/')
      ? name.slice(0, name.lastIndexOf('/') + 1)
      : ''
    const base = name.slice(dir.length)
    const path =
      root.consistentSnapshot && hash
        ? `targets/${dir}${hash}.${base}`
        : `targets/${name}`
    const bytes = await this.#fetch(path, info.length)
    checkHashes(bytes, info, `target ${name}`)
    await this.#store.write(`targets/${name}`, bytes)
    return bytes
  }

  async #fetch(path: string, maxBytes: number): Promise<Uint8Array> {
    const bytes = await this.#remote.fetch(path, maxBytes)
    if (!bytes) {
      throw new TufError(
        'TUF_FETCH_FAILED',
        `the TUF mirror has no ${path} (404)`
      )
    }
    return bytes
  }
}

function keysChanged(
  a: RootMetadata,
  b: RootMetadata,
  role: 'timestamp' | 'snapshot'
): boolean {
  const ka = [...a.roles[role].keyids].sort().join()
  const kb = [...b.roles[role].keyids].sort().join()
  return ka !== kb || a.roles[role].threshold !== b.roles[role].threshold
}
