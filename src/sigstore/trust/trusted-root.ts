// trusted_root.json → TrustMaterial: Rekor and CT log keys as node KeyObjects
// indexed by log ID, Fulcio and TSA chains parsed (and their internal
// signatures checked) once, every validFor window kept for time filtering.
// Does not fetch anything (TUF is someone else's job) and makes no trust
// decision about a signature; verify/ does that with this material.
// Spec: shared/docs/cosign-spec.md §9.1 (sigstore/protobuf-specs
// protos/sigstore_trustroot.proto).

import { createPublicKey, type KeyObject } from 'node:crypto'
import {
  AppError,
  fromBase64,
  isBase64,
  toBase64,
  isObject
} from '../../util/index.ts'
import {
  isSignedBy,
  parseCertificate,
  type ParsedCertificate
} from '../x509/index.ts'
import { PUBLIC_GOOD_TRUSTED_ROOT } from './public-good.generated.ts'

export const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json'
] as const

export class TrustRootError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('TRUST_ROOT_INVALID', message, {
      cause,
      remedy:
        'Check the trusted root file (sigstore trusted_root.json, media type ' +
        'application/vnd.dev.sigstore.trustedroot.v0.2+json or older).'
    })
  }
}

/**
 * Validity window in epoch milliseconds, both ends inclusive. `start` is
 * undefined when the trusted root gives none: such an authority is invalid
 * and never used (client spec), though it stays listed so errors can name it.
 */
export interface ValidityWindow {
  start: number | undefined
  end: number
}

export interface LogAuthority {
  baseUrl: string
  /** Host of baseUrl: the signed-note origin/name for C2SP checkpoints. */
  origin: string
  hashAlgorithm: string
  /** SHA-256 of the DER SPKI (Rekor v1, CT) or the log's declared key ID. */
  logId: Uint8Array
  /** base64 of logId, the lookup key. */
  logIdBase64: string
  /** v0.2 `checkpointKeyId`, when the trusted root declares one. */
  checkpointKeyId: Uint8Array | undefined
  keyDetails: string
  publicKey: KeyObject
  publicKeyDer: Uint8Array
  validFor: ValidityWindow
}

export interface CertificateAuthority {
  uri: string
  subject: string
  /** Issuing order: chain[0] issues leaves, the last one is the anchor. */
  certChain: ParsedCertificate[]
  validFor: ValidityWindow
}

export interface TrustMaterial {
  mediaType: string
  tlogs: LogAuthority[]
  ctlogs: LogAuthority[]
  certificateAuthorities: CertificateAuthority[]
  timestampAuthorities: CertificateAuthority[]
  /** base64 log ID → authorities (several key periods may share an ID). */
  tlogsById: Map<string, LogAuthority[]>
  ctlogsById: Map<string, LogAuthority[]>
}

/**
 * Whether `t` (epoch ms) lies in the window, both ends inclusive; never for
 * a window without a start.
 */
export function inWindow(w: ValidityWindow, t: number): boolean {
  return w.start !== undefined && w.start <= t && t <= w.end
}

type Json = Record<string, unknown>

/**
 * Validates and converts a parsed trusted_root.json. As in protobuf JSON, a
 * field whose value is `null` is the same as an absent field.
 */
export function parseTrustedRoot(input: unknown): TrustMaterial {
  const json = withoutNulls(input)
  if (!isObject(json)) throw new TrustRootError('trusted root is not an object')
  const mediaType = json['mediaType']
  if (
    typeof mediaType !== 'string' ||
    !(TRUSTED_ROOT_MEDIA_TYPES as readonly string[]).includes(mediaType)
  ) {
    throw new TrustRootError(
      `unsupported trusted root media type ${JSON.stringify(mediaType)}`
    )
  }
  const tlogs = list(json, 'tlogs').map((t, i) => toLog(t, `tlogs[${i}]`))
  const ctlogs = list(json, 'ctlogs').map((t, i) => toLog(t, `ctlogs[${i}]`))
  const certificateAuthorities = list(json, 'certificateAuthorities').map(
    (c, i) => toCa(c, `certificateAuthorities[${i}]`)
  )
  const timestampAuthorities = list(json, 'timestampAuthorities').map((c, i) =>
    toCa(c, `timestampAuthorities[${i}]`)
  )
  return {
    mediaType,
    tlogs,
    ctlogs,
    certificateAuthorities,
    timestampAuthorities,
    tlogsById: indexById(tlogs),
    ctlogsById: indexById(ctlogs)
  }
}

/**
 * `base` with some kinds of authority replaced by those of `parts` (cosign's
 * SIGSTORE_* variables each replace one kind); the ID indexes follow.
 */
export function replaceAuthorities(
  base: TrustMaterial,
  parts: Partial<
    Pick<
      TrustMaterial,
      'tlogs' | 'ctlogs' | 'certificateAuthorities' | 'timestampAuthorities'
    >
  >
): TrustMaterial {
  const tlogs = parts.tlogs ?? base.tlogs
  const ctlogs = parts.ctlogs ?? base.ctlogs
  return {
    ...base,
    tlogs,
    ctlogs,
    certificateAuthorities:
      parts.certificateAuthorities ?? base.certificateAuthorities,
    timestampAuthorities:
      parts.timestampAuthorities ?? base.timestampAuthorities,
    tlogsById: indexById(tlogs),
    ctlogsById: indexById(ctlogs)
  }
}

/** A copy with every object member whose value is `null` left out. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls)
  if (!isObject(v)) return v
  const out: Json = {}
  for (const [k, x] of Object.entries(v)) {
    if (x !== null) out[k] = withoutNulls(x)
  }
  return out
}

let publicGood: TrustMaterial | undefined

/** The embedded public-good trusted root, parsed once per process. */
export function publicGoodTrustMaterial(): TrustMaterial {
  publicGood ??= parseTrustedRoot(PUBLIC_GOOD_TRUSTED_ROOT)
  return publicGood
}

function indexById(logs: LogAuthority[]): Map<string, LogAuthority[]> {
  const m = new Map<string, LogAuthority[]>()
  for (const l of logs) {
    const ids = new Set([l.logIdBase64])
    for (const id of ids) {
      const arr = m.get(id) ?? []
      arr.push(l)
      m.set(id, arr)
    }
  }
  return m
}

function list(json: Json, key: string): unknown[] {
  const v = json[key]
  if (v === undefined) return []
  if (!Array.isArray(v)) throw new TrustRootError(`${key} must be an array`)
  return v
}

function str(o: Json, key: string, where: string): string {
  const v = o[key]
  if (typeof v !== 'string' || v === '') {
    throw new TrustRootError(`${where}.${key} must be a non-empty string`)
  }
  return v
}

function bytes(o: Json, key: string, where: string): Uint8Array {
  const v = str(o, key, where)
  if (!isBase64(v)) throw new TrustRootError(`${where}.${key} is not base64`)
  return fromBase64(v)
}

// A missing validFor, or one without a start, gives a window that is never
// used (client spec: the start is required). The end is optional (open).
function toWindow(v: unknown, where: string): ValidityWindow {
  if (v === undefined) return { start: undefined, end: Infinity }
  if (!isObject(v)) throw new TrustRootError(`${where}.validFor is invalid`)
  const date = (k: 'start' | 'end'): number | undefined => {
    const s = v[k]
    if (s === undefined) return undefined
    const t = typeof s === 'string' ? Date.parse(s) : NaN
    if (!Number.isFinite(t)) {
      throw new TrustRootError(`${where}.validFor.${k} is not a timestamp`)
    }
    return t
  }
  const start = date('start')
  const end = date('end')
  if (start !== undefined && end !== undefined && end < start) {
    throw new TrustRootError(`${where}.validFor ends before it starts`)
  }
  return { start, end: end ?? Infinity }
}

function toLog(t: unknown, where: string): LogAuthority {
  if (!isObject(t)) throw new TrustRootError(`${where} is not an object`)
  const baseUrl = str(t, 'baseUrl', where)
  let origin: string
  try {
    origin = new URL(baseUrl).host
  } catch {
    throw new TrustRootError(`${where}.baseUrl is not a URL`)
  }
  const pk = t['publicKey']
  if (!isObject(pk)) throw new TrustRootError(`${where}.publicKey is missing`)
  const raw = bytes(pk, 'rawBytes', `${where}.publicKey`)
  const keyDetails =
    typeof pk['keyDetails'] === 'string' ? pk['keyDetails'] : ''
  const publicKey = toKey(raw, keyDetails, where)
  const logIdObj = t['logId']
  if (!isObject(logIdObj)) throw new TrustRootError(`${where}.logId is missing`)
  const logId = bytes(logIdObj, 'keyId', `${where}.logId`)
  let checkpointKeyId: Uint8Array | undefined
  const ck = t['checkpointKeyId']
  if (ck !== undefined) {
    if (!isObject(ck)) throw new TrustRootError(`${where}.checkpointKeyId`)
    checkpointKeyId = bytes(ck, 'keyId', `${where}.checkpointKeyId`)
  }
  const validFor = toWindow(pk['validFor'], `${where}.publicKey`)
  return {
    baseUrl,
    origin,
    hashAlgorithm:
      typeof t['hashAlgorithm'] === 'string' ? t['hashAlgorithm'] : 'SHA2_256',
    logId,
    logIdBase64: toBase64(logId),
    checkpointKeyId,
    keyDetails,
    publicKey,
    publicKeyDer: new Uint8Array(
      publicKey.export({ type: 'spki', format: 'der' })
    ),
    validFor
  }
}

function toKey(raw: Uint8Array, details: string, where: string): KeyObject {
  const buf = Buffer.from(raw)
  const order: ('spki' | 'pkcs1')[] = details.startsWith('PKCS1_')
    ? ['pkcs1', 'spki']
    : ['spki', 'pkcs1']
  for (const type of order) {
    try {
      return createPublicKey({ key: buf, format: 'der', type })
    } catch {
      // try the next encoding
    }
  }
  throw new TrustRootError(`${where}.publicKey.rawBytes is not a public key`)
}

function toCa(c: unknown, where: string): CertificateAuthority {
  if (!isObject(c)) throw new TrustRootError(`${where} is not an object`)
  const chainObj = c['certChain']
  if (!isObject(chainObj) || !Array.isArray(chainObj['certificates'])) {
    throw new TrustRootError(`${where}.certChain.certificates is missing`)
  }
  const certs = chainObj['certificates'] as unknown[]
  if (certs.length === 0)
    throw new TrustRootError(`${where} has no certificates`)
  const certChain = certs.map((x, i) => {
    if (!isObject(x)) throw new TrustRootError(`${where}.certificates[${i}]`)
    const der = bytes(x, 'rawBytes', `${where}.certificates[${i}]`)
    try {
      return parseCertificate(der)
    } catch (e) {
      throw new TrustRootError(`${where}.certificates[${i}] is malformed`, e)
    }
  })
  // The chain is authority material: its own links must hold, once, here.
  for (let i = 0; i < certChain.length; i++) {
    const cert = certChain[i]!
    const issuer = certChain[i + 1] ?? cert
    if (!isSignedBy(cert, issuer.publicKey)) {
      throw new TrustRootError(
        `${where}.certificates[${i}] is not signed by the next certificate`
      )
    }
  }
  const subj = c['subject']
  const subject = isObject(subj)
    ? [subj['organization'], subj['commonName']]
        .filter(x => typeof x === 'string')
        .join('/')
    : ''
  const validFor = toWindow(c['validFor'], where)
  return {
    uri: typeof c['uri'] === 'string' ? c['uri'] : '',
    subject,
    certChain,
    validFor
  }
}
