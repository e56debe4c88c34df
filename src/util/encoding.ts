// Byte and text encodings used across layers: base64 (standard and url),
// hex, SHA-256/384/512 digests, and PEM armour. Pure functions over bytes.
import { createHash } from 'node:crypto'

export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512'

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
export const fromUtf8 = (b: Uint8Array): string => new TextDecoder().decode(b)

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
}

/** Accepts standard and url-safe alphabets, with or without padding. */
export function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'))
}

/** Strict standard base64 check (what Rekor and cosign write). */
export function isBase64(s: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(
    s
  )
}

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url')
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new TypeError('invalid hex')
  return new Uint8Array(Buffer.from(s, 'hex'))
}

export function digest(
  alg: HashAlgorithm,
  data: Uint8Array | string
): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest())
}

export const sha256 = (data: Uint8Array | string): Uint8Array =>
  digest('sha256', data)

export const sha256Hex = (data: Uint8Array | string): string =>
  createHash('sha256').update(data).digest('hex')

/** `sha256:<hex>` of the bytes, the OCI digest form. */
export const ociDigest = (data: Uint8Array | string): string =>
  `sha256:${sha256Hex(data)}`

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Go-style PEM: 64-character lines and a trailing newline. */
export function toPem(label: string, der: Uint8Array): string {
  const body = toBase64(der).replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
}

export interface PemBlock {
  label: string
  der: Uint8Array
}

/** Every PEM block in `text`, in order; tolerant of other line wrapping. */
export function parsePemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = []
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g
  for (const m of text.matchAll(re)) {
    const body = (m[2] ?? '').replace(/[\s]/g, '')
    out.push({ label: m[1] ?? '', der: fromBase64(body) })
  }
  return out
}

/** A JSON object (not null, not an array): the one guard every parser uses. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
