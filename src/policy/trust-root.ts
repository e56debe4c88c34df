// TrustRoot documents (policy.sigstore.dev/v1alpha1) → TrustMaterial, the way
// policy-controller converts `spec.sigstoreKeys` (pkg/apis/config/
// sigstore_keys.go): PEM given base64-encoded, every authority valid from
// the epoch, log IDs the SHA-256 of the key. `remote` and `repository` (TUF)
// are not fetched here: they are reported with the fix.
import { createHash, createPublicKey, X509Certificate } from 'node:crypto'
import {
  TRUSTED_ROOT_MEDIA_TYPES,
  parseTrustedRoot,
  type TrustMaterial
} from '../sigstore/index.ts'
import {
  fromBase64,
  fromUtf8,
  parsePemBlocks,
  toBase64
} from '../util/index.ts'
import type { TrustRootDocument } from './documents.ts'

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A []byte field: base64 of PEM text (Kubernetes' JSON encoding of bytes). */
function pemOf(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new Error(`${what} is missing`)
  if (v.includes('-----BEGIN')) return v
  const text = fromUtf8(fromBase64(v.replace(/\s+/g, '')))
  if (!text.includes('-----BEGIN'))
    throw new Error(`${what} is not base64-encoded PEM`)
  return text
}

const EPOCH = { start: '1970-01-01T00:00:00Z' }

function hashName(h: unknown): string {
  const s = typeof h === 'string' ? h.toLowerCase() : ''
  return s === 'sha384' ? 'SHA2_384' : s === 'sha512' ? 'SHA2_512' : 'SHA2_256'
}

function log(t: unknown, where: string): Json {
  if (!isObj(t)) throw new Error(`${where} is not a mapping`)
  const pem = pemOf(t['publicKey'], `${where}.publicKey`)
  const der = new Uint8Array(
    createPublicKey(pem).export({ type: 'spki', format: 'der' })
  )
  return {
    baseUrl:
      typeof t['baseURL'] === 'string' ? t['baseURL'] : 'https://invalid',
    hashAlgorithm: hashName(t['hashAlgorithm']),
    publicKey: { rawBytes: toBase64(der), validFor: EPOCH },
    logId: { keyId: toBase64(createHash('sha256').update(der).digest()) }
  }
}

function ca(c: unknown, where: string): Json {
  if (!isObj(c)) throw new Error(`${where} is not a mapping`)
  const pem = pemOf(c['certChain'], `${where}.certChain`)
  const certs = parsePemBlocks(pem)
    .filter(b => b.label === 'CERTIFICATE')
    .map(b => ({ rawBytes: toBase64(b.der) }))
  if (certs.length === 0)
    throw new Error(`${where}.certChain has no certificate`)
  const subject = isObj(c['subject']) ? c['subject'] : {}
  return {
    subject,
    uri: typeof c['uri'] === 'string' ? c['uri'] : '',
    certChain: { certificates: certs },
    validFor: EPOCH
  }
}

/**
 * The trust material of a TrustRoot's `sigstoreKeys`. Throws an Error whose
 * message says which field is wrong, or that remote/repository TUF roots are
 * not supported.
 */
export function trustMaterialOf(doc: TrustRootDocument): TrustMaterial {
  const keys = doc.spec['sigstoreKeys']
  if (!isObj(keys)) {
    const which = isObj(doc.spec['remote']) ? 'remote' : 'repository'
    throw new Error(
      `TrustRoot "${doc.name}" uses spec.${which} (a TUF repository), which sigil does not fetch; ` +
        'give the same keys as spec.sigstoreKeys, or pass the trusted_root.json of that TUF repository as trusted-root'
    )
  }
  const list = (k: string): unknown[] =>
    Array.isArray(keys[k]) ? (keys[k] as unknown[]) : []
  return parseTrustedRoot({
    mediaType: TRUSTED_ROOT_MEDIA_TYPES[0],
    certificateAuthorities: list('certificateAuthorities').map((c, i) =>
      ca(c, `spec.sigstoreKeys.certificateAuthorities[${i}]`)
    ),
    tlogs: list('tLogs').map((t, i) => log(t, `spec.sigstoreKeys.tLogs[${i}]`)),
    ctlogs: list('ctLogs').map((t, i) =>
      log(t, `spec.sigstoreKeys.ctLogs[${i}]`)
    ),
    timestampAuthorities: list('timestampAuthorities').map((c, i) =>
      ca(c, `spec.sigstoreKeys.timestampAuthorities[${i}]`)
    )
  })
}

/** A trust material with the CA(s) of an inline `ca-cert` PEM chain. */
export function caCertTrust(pem: string, base: TrustMaterial): TrustMaterial {
  const certs = parsePemBlocks(pem)
    .filter(b => b.label === 'CERTIFICATE')
    .map(b => ({ rawBytes: toBase64(b.der) }))
  const ca = parseTrustedRoot({
    mediaType: TRUSTED_ROOT_MEDIA_TYPES[0],
    certificateAuthorities: [
      {
        subject: {},
        uri: '',
        certChain: { certificates: certs },
        validFor: EPOCH
      }
    ]
  })
  return {
    ...base,
    certificateAuthorities: ca.certificateAuthorities
  }
}

export function publicKeyOk(pem: string): boolean {
  try {
    createPublicKey(pem)
    return true
  } catch {
    return false
  }
}

export function certificatesOk(pem: string): boolean {
  const blocks = parsePemBlocks(pem).filter(b => b.label === 'CERTIFICATE')
  if (blocks.length === 0) return false
  try {
    for (const b of blocks) new X509Certificate(Buffer.from(b.der))
    return true
  } catch {
    return false
  }
}
