// Conversions between Rekor v1 wire shapes and the bundle's
// TransparencyLogEntry: the create/GET response `{uuid: LogEntry}`, and
// cosign's legacy "Rekor bundle" annotation (SET + payload, no proof). Pure.
// Spec: cosign-spec.md §1.7, §3.3 "Conversion", §5.4; sigstore/rekor pkg/tle.

import type { TransparencyLogEntry } from '../bundle/types.ts'
import {
  fromBase64,
  fromHex,
  fromUtf8,
  isBase64,
  toBase64,
  toHex
} from '../../util/index.ts'
import { SigstoreServiceError } from '../errors.ts'

/** Rekor v1 `LogEntry` value (the object under the UUID key). */
export interface RekorV1LogEntry {
  body: string
  integratedTime: number
  logID: string
  logIndex: number
  verification?: {
    signedEntryTimestamp?: string
    inclusionProof?: {
      checkpoint: string
      hashes: string[]
      logIndex: number
      rootHash: string
      treeSize: number
    }
  }
}

/** cosign `dev.sigstore.cosign/bundle` annotation (Go field order). */
export interface RekorV1Bundle {
  SignedEntryTimestamp: string
  Payload: {
    body: string
    integratedTime: number
    logIndex: number
    logID: string
  }
}

const HEX64 = /^[0-9a-f]{64}$/i

/** Why `entry` is not a well-formed v1 LogEntry, or undefined when it is. */
export function checkV1LogEntry(entry: unknown): string | undefined {
  const e = entry as Partial<RekorV1LogEntry> | null
  if (!e || typeof e !== 'object') return 'the entry is not an object'
  if (typeof e.body !== 'string' || e.body === '' || !isBase64(e.body)) {
    return 'body is not base64'
  }
  if (!isNonNegInt(e.integratedTime)) return 'integratedTime is not an integer'
  if (!isNonNegInt(e.logIndex)) return 'logIndex is not an integer'
  if (typeof e.logID !== 'string' || !HEX64.test(e.logID)) {
    return 'logID is not 64 hex characters'
  }
  const v = e.verification
  if (v === undefined) return undefined
  if (typeof v !== 'object' || v === null) return 'verification is malformed'
  if (
    v.signedEntryTimestamp !== undefined &&
    (typeof v.signedEntryTimestamp !== 'string' ||
      !isBase64(v.signedEntryTimestamp))
  ) {
    return 'signedEntryTimestamp is not base64'
  }
  const p = v.inclusionProof
  if (p === undefined) return undefined
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.checkpoint !== 'string' ||
    !Array.isArray(p.hashes) ||
    !p.hashes.every(h => typeof h === 'string' && HEX64.test(h)) ||
    !isNonNegInt(p.logIndex) ||
    !isNonNegInt(p.treeSize) ||
    typeof p.rootHash !== 'string' ||
    !HEX64.test(p.rootHash)
  ) {
    return 'inclusionProof is malformed'
  }
  return undefined
}

function isNonNegInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

/** The `kind` and `apiVersion` of a canonical body (base64 JSON). */
export function kindVersionOf(bodyBase64: string): {
  kind: string
  version: string
} {
  let body: { kind?: unknown; apiVersion?: unknown }
  try {
    body = JSON.parse(fromUtf8(fromBase64(bodyBase64))) as typeof body
  } catch {
    throw new TypeError('the entry body is not base64 JSON')
  }
  if (typeof body?.kind !== 'string' || typeof body.apiVersion !== 'string') {
    throw new TypeError('the entry body has no kind/apiVersion')
  }
  return { kind: body.kind, version: body.apiVersion }
}

/**
 * A checked v1 LogEntry → bundle TransparencyLogEntry: hex → base64, numbers
 * → decimal strings, global logIndex on the entry, tree-local one on the proof.
 */
export function toTransparencyLogEntry(
  entry: RekorV1LogEntry
): TransparencyLogEntry {
  const why = checkV1LogEntry(entry)
  if (why) throw new TypeError(`malformed Rekor entry: ${why}`)
  const out: TransparencyLogEntry = {
    logIndex: String(entry.logIndex),
    logId: { keyId: toBase64(fromHex(entry.logID)) },
    kindVersion: kindVersionOf(entry.body),
    integratedTime: String(entry.integratedTime),
    canonicalizedBody: entry.body
  }
  const set = entry.verification?.signedEntryTimestamp
  if (set) out.inclusionPromise = { signedEntryTimestamp: set }
  const p = entry.verification?.inclusionProof
  if (p) {
    out.inclusionProof = {
      logIndex: String(p.logIndex),
      rootHash: toBase64(fromHex(p.rootHash)),
      treeSize: String(p.treeSize),
      hashes: p.hashes.map(h => toBase64(fromHex(h))),
      checkpoint: { envelope: p.checkpoint }
    }
  }
  return out
}

/** TransparencyLogEntry → cosign's legacy Rekor bundle annotation object. */
export function toRekorV1Bundle(entry: TransparencyLogEntry): RekorV1Bundle {
  const set = entry.inclusionPromise?.signedEntryTimestamp
  if (!set) {
    throw badBundle(
      'the transparency log entry has no inclusion promise (SET), which the legacy format requires'
    )
  }
  const logIndex = Number(entry.logIndex)
  const integratedTime = Number(entry.integratedTime ?? NaN)
  if (!isNonNegInt(logIndex) || !isNonNegInt(integratedTime)) {
    throw badBundle('the entry has a bad logIndex or integratedTime')
  }
  return {
    SignedEntryTimestamp: set,
    Payload: {
      body: entry.canonicalizedBody,
      integratedTime,
      logIndex,
      logID: toHex(fromBase64(entry.logId.keyId))
    }
  }
}

/**
 * cosign's legacy Rekor bundle (parsed annotation JSON) → TransparencyLogEntry
 * with the inclusion promise only; the legacy format carries no proof.
 */
export function fromRekorV1Bundle(obj: unknown): TransparencyLogEntry {
  const b = obj as Partial<RekorV1Bundle> | null
  const p = b?.Payload
  if (
    !b ||
    typeof b !== 'object' ||
    typeof b.SignedEntryTimestamp !== 'string' ||
    b.SignedEntryTimestamp === '' ||
    !isBase64(b.SignedEntryTimestamp) ||
    !p ||
    typeof p !== 'object'
  ) {
    throw badBundle(
      'expected {SignedEntryTimestamp, Payload} with a base64 SET'
    )
  }
  const why = checkV1LogEntry(p)
  if (why) throw badBundle(why)
  let kindVersion: TransparencyLogEntry['kindVersion']
  try {
    kindVersion = kindVersionOf(p.body)
  } catch (e) {
    throw badBundle((e as Error).message)
  }
  return {
    logIndex: String(p.logIndex),
    logId: { keyId: toBase64(fromHex(p.logID)) },
    kindVersion,
    integratedTime: String(p.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b.SignedEntryTimestamp },
    canonicalizedBody: p.body
  }
}

function badBundle(why: string): SigstoreServiceError {
  return new SigstoreServiceError(
    'REKOR_BUNDLE_INVALID',
    `Invalid cosign Rekor bundle: ${why}`
  )
}
