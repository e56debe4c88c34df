// TUF metadata (spec v1.0): parsing of the four top-level roles and checking
// their signatures against a role's keys and threshold. Keys are
// ecdsa-sha2-nistp256 (PEM or hex SEC1 point, as the early Sigstore roots
// have), ed25519 (hex) and rsassa-pss-sha256 (PEM); signatures are hex over
// the canonical JSON of `signed`. Key IDs are taken as the metadata states
// them (TUF clients must not recompute them).

import {
  createHash,
  createPublicKey,
  verify as verifySignature,
  type KeyObject
} from 'node:crypto'
import { isObject } from '../../util/index.ts'
import { canonicalJson } from './canonical.ts'
import { TufError } from './errors.ts'

export type RoleName = 'root' | 'timestamp' | 'snapshot' | 'targets'
export const TOP_LEVEL_ROLES: readonly RoleName[] = [
  'root',
  'timestamp',
  'snapshot',
  'targets'
]

export interface Role {
  keyids: string[]
  threshold: number
}

export interface MetaFile {
  version: number
  length?: number
  hashes?: Record<string, string>
}

export interface TargetFile {
  length: number
  hashes: Record<string, string>
}

interface Common {
  version: number
  /** Epoch ms. */
  expires: number
  /** The whole parsed document (signed + signatures). */
  raw: SignedDocument
}

export interface RootMetadata extends Common {
  type: 'root'
  consistentSnapshot: boolean
  keys: Map<string, KeyObject>
  roles: Record<RoleName, Role>
}
export interface TimestampMetadata extends Common {
  type: 'timestamp'
  snapshot: MetaFile
}
export interface SnapshotMetadata extends Common {
  type: 'snapshot'
  meta: Map<string, MetaFile>
}
export interface TargetsMetadata extends Common {
  type: 'targets'
  targets: Map<string, TargetFile>
}
export type Metadata =
  RootMetadata | TimestampMetadata | SnapshotMetadata | TargetsMetadata

interface SignedDocument {
  signed: Record<string, unknown>
  signatures: { keyid: string; sig: string }[]
}

function invalid(what: string, why: string): TufError {
  return new TufError('TUF_METADATA_INVALID', `${what}: ${why}`)
}

/** Parses bytes as a signed TUF document of the expected type. */
export function parseMetadata(
  bytes: Uint8Array,
  type: 'root',
  what: string
): RootMetadata
export function parseMetadata(
  bytes: Uint8Array,
  type: 'timestamp',
  what: string
): TimestampMetadata
export function parseMetadata(
  bytes: Uint8Array,
  type: 'snapshot',
  what: string
): SnapshotMetadata
export function parseMetadata(
  bytes: Uint8Array,
  type: 'targets',
  what: string
): TargetsMetadata
export function parseMetadata(
  bytes: Uint8Array,
  type: RoleName,
  what: string
): Metadata {
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (e) {
    throw new TufError('TUF_METADATA_INVALID', `${what} is not JSON`, {
      cause: e
    })
  }
  if (!isObject(doc) || !isObject(doc['signed'])) {
    throw invalid(what, 'no "signed" object')
  }
  const sigs = doc['signatures']
  if (!Array.isArray(sigs)) throw invalid(what, 'no "signatures" list')
  const signatures = sigs.map((s, i) => {
    if (
      !isObject(s) ||
      typeof s['keyid'] !== 'string' ||
      typeof s['sig'] !== 'string'
    ) {
      throw invalid(what, `signatures[${i}] is malformed`)
    }
    return { keyid: s['keyid'], sig: s['sig'] }
  })
  const signed = doc['signed']
  const raw: SignedDocument = { signed, signatures }
  if (signed['_type'] !== type) {
    throw invalid(
      what,
      `is of type ${JSON.stringify(signed['_type'])}, expected ${type}`
    )
  }
  const version = signed['version']
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw invalid(what, 'version must be a positive integer')
  }
  const expiresText = signed['expires']
  const expires =
    typeof expiresText === 'string' ? Date.parse(expiresText) : NaN
  if (!Number.isFinite(expires)) throw invalid(what, 'expires is not a date')
  const common = { version: version as number, expires, raw }
  switch (type) {
    case 'root':
      return { ...common, type, ...parseRoot(signed, what) }
    case 'timestamp': {
      const meta = metaMap(signed, what)
      const snapshot = meta.get('snapshot.json')
      if (!snapshot) throw invalid(what, 'does not list snapshot.json')
      return { ...common, type, snapshot }
    }
    case 'snapshot':
      return { ...common, type, meta: metaMap(signed, what) }
    case 'targets':
      return { ...common, type, targets: targetMap(signed, what) }
  }
}

function parseRoot(
  signed: Record<string, unknown>,
  what: string
): Pick<RootMetadata, 'consistentSnapshot' | 'keys' | 'roles'> {
  const keysJson = signed['keys']
  const rolesJson = signed['roles']
  if (!isObject(keysJson)) throw invalid(what, 'no "keys" object')
  if (!isObject(rolesJson)) throw invalid(what, 'no "roles" object')
  const keys = new Map<string, KeyObject>()
  for (const [id, k] of Object.entries(keysJson)) {
    const key = toKey(k)
    // A key we cannot use counts as no signature; it is not an error, so
    // that a root may list key types this client does not implement.
    if (key) keys.set(id, key)
  }
  const roles = {} as Record<RoleName, Role>
  for (const name of TOP_LEVEL_ROLES) {
    const r = rolesJson[name]
    if (!isObject(r)) throw invalid(what, `no "${name}" role`)
    const threshold = r['threshold']
    const keyids = r['keyids']
    if (!Number.isSafeInteger(threshold) || (threshold as number) < 1) {
      throw invalid(what, `role ${name} has no positive threshold`)
    }
    if (!Array.isArray(keyids) || !keyids.every(k => typeof k === 'string')) {
      throw invalid(what, `role ${name} has no key list`)
    }
    roles[name] = { keyids: keyids, threshold: threshold as number }
  }
  return {
    consistentSnapshot: signed['consistent_snapshot'] === true,
    keys,
    roles
  }
}

function metaMap(
  signed: Record<string, unknown>,
  what: string
): Map<string, MetaFile> {
  const meta = signed['meta']
  if (!isObject(meta)) throw invalid(what, 'no "meta" object')
  const out = new Map<string, MetaFile>()
  for (const [name, m] of Object.entries(meta)) {
    if (!isObject(m)) throw invalid(what, `meta ${name} is not an object`)
    const version = m['version']
    if (!Number.isSafeInteger(version) || (version as number) < 1) {
      throw invalid(what, `meta ${name} has no version`)
    }
    const f: MetaFile = { version: version as number }
    if (m['length'] !== undefined) f.length = lengthOf(m['length'], what)
    if (m['hashes'] !== undefined) f.hashes = hashesOf(m['hashes'], what)
    out.set(name, f)
  }
  return out
}

function targetMap(
  signed: Record<string, unknown>,
  what: string
): Map<string, TargetFile> {
  const targets = signed['targets']
  if (!isObject(targets)) throw invalid(what, 'no "targets" object')
  const out = new Map<string, TargetFile>()
  for (const [name, t] of Object.entries(targets)) {
    if (!isObject(t)) throw invalid(what, `target ${name} is not an object`)
    out.set(name, {
      length: lengthOf(t['length'], what),
      hashes: hashesOf(t['hashes'], what)
    })
  }
  return out
}

function lengthOf(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw invalid(what, 'a length is not a non-negative integer')
  }
  return v as number
}

function hashesOf(v: unknown, what: string): Record<string, string> {
  if (!isObject(v) || Object.keys(v).length === 0) {
    throw invalid(what, 'hashes must be a non-empty object')
  }
  const out: Record<string, string> = {}
  for (const [alg, h] of Object.entries(v)) {
    if (typeof h !== 'string' || !/^[0-9a-f]+$/i.test(h)) {
      throw invalid(what, `hash ${alg} is not hex`)
    }
    out[alg] = h.toLowerCase()
  }
  return out
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
// SubjectPublicKeyInfo header for an uncompressed P-256 point.
const P256_SPKI_PREFIX = Buffer.from(
  '3059301306072a8648ce3d020106082a8648ce3d030107034200',
  'hex'
)

function toKey(k: unknown): KeyObject | undefined {
  if (!isObject(k) || !isObject(k['keyval'])) return undefined
  const pub = k['keyval']['public']
  const scheme = k['scheme']
  if (typeof pub !== 'string') return undefined
  try {
    if (scheme === 'ed25519') {
      if (!/^[0-9a-f]{64}$/i.test(pub)) return undefined
      return createPublicKey({
        key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(pub, 'hex')]),
        format: 'der',
        type: 'spki'
      })
    }
    if (scheme === 'ecdsa-sha2-nistp256') {
      const key = pub.includes('-----BEGIN')
        ? createPublicKey(pub)
        : /^04[0-9a-f]{128}$/i.test(pub)
          ? createPublicKey({
              key: Buffer.concat([P256_SPKI_PREFIX, Buffer.from(pub, 'hex')]),
              format: 'der',
              type: 'spki'
            })
          : undefined
      if (key?.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        return undefined
      }
      return key
    }
    if (scheme === 'rsassa-pss-sha256' && pub.includes('-----BEGIN')) {
      const key = createPublicKey(pub)
      return key.asymmetricKeyType === 'rsa' ? key : undefined
    }
  } catch {
    return undefined
  }
  return undefined
}

function verifyOne(key: KeyObject, data: Buffer, sigHex: string): boolean {
  if (!/^[0-9a-f]*$/i.test(sigHex) || sigHex.length % 2 !== 0) return false
  const sig = Buffer.from(sigHex, 'hex')
  try {
    switch (key.asymmetricKeyType) {
      case 'ed25519':
        return verifySignature(null, data, key, sig)
      case 'ec':
        return verifySignature('sha256', data, { key, dsaEncoding: 'der' }, sig)
      case 'rsa':
        return verifySignature(
          'sha256',
          data,
          { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 },
          sig
        )
      default:
        return false
    }
  } catch {
    return false
  }
}

/**
 * Throws unless `role`'s threshold of distinct keys (from `root`) signed
 * `doc`. A key ID counts once however many signatures carry it.
 */
export function checkSignatures(
  doc: Metadata,
  root: RootMetadata,
  role: RoleName,
  what: string
): void {
  const { keyids, threshold } = root.roles[role]
  const data = Buffer.from(canonicalJson(doc.raw.signed), 'utf8')
  const good = new Set<string>()
  const seenKeys = new Set<string>()
  for (const { keyid, sig } of doc.raw.signatures) {
    if (good.has(keyid) || !keyids.includes(keyid)) continue
    const key = root.keys.get(keyid)
    if (!key) continue
    // Two key IDs for the same key material count once.
    const der = key.export({ type: 'spki', format: 'der' }).toString('hex')
    if (seenKeys.has(der)) continue
    if (verifyOne(key, data, sig)) {
      good.add(keyid)
      seenKeys.add(der)
    }
  }
  if (good.size < threshold) {
    throw new TufError(
      'TUF_SIGNATURE_THRESHOLD',
      `${what} has ${good.size} valid ${role} signature(s) of the ${threshold} required (root version ${root.version})`
    )
  }
}

/** Throws unless `bytes` have the length and every known hash given. */
export function checkHashes(
  bytes: Uint8Array,
  expected: { length?: number; hashes?: Record<string, string> },
  what: string
): void {
  if (expected.length !== undefined && bytes.length !== expected.length) {
    throw new TufError(
      'TUF_HASH_MISMATCH',
      `${what} is ${bytes.length} bytes, the signed metadata says ${expected.length}`
    )
  }
  let checked = 0
  for (const [alg, hex] of Object.entries(expected.hashes ?? {})) {
    if (alg !== 'sha256' && alg !== 'sha512') continue
    checked++
    const got = createHash(alg).update(bytes).digest('hex')
    if (got !== hex) {
      throw new TufError(
        'TUF_HASH_MISMATCH',
        `${what} has ${alg} ${got}, the signed metadata says ${hex}`
      )
    }
  }
  if (expected.hashes && checked === 0) {
    throw new TufError(
      'TUF_HASH_MISMATCH',
      `${what}: none of the hash algorithms given (${Object.keys(expected.hashes).join(', ')}) is supported`
    )
  }
}

/** Throws TUF_EXPIRED when `now` (epoch ms) is at or past the expiry. */
export function checkNotExpired(
  doc: Metadata,
  now: number,
  what: string
): void {
  if (now >= doc.expires) {
    throw new TufError(
      'TUF_EXPIRED',
      `${what} (version ${doc.version}) expired on ${new Date(doc.expires).toISOString()}`
    )
  }
}
