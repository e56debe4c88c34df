// Just enough DER for RFC 3161 requests and for checking replies: encode a
// few universal types, and read TLVs (definite lengths only, as DER demands).
// Private to tsa/; certificate parsing lives in sigstore/asn1 and x509.

import { concatBytes } from '../../util/index.ts'

export interface Tlv {
  tag: number
  /** content bytes */
  value: Uint8Array
  /** total encoded length (header + content) */
  length: number
}

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Uint8Array.from([0x80 | bytes.length, ...bytes])
}

export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const value = concatBytes(...content)
  return concatBytes(Uint8Array.of(tag), encodeLength(value.length), value)
}

export const sequence = (...items: Uint8Array[]): Uint8Array =>
  tlv(0x30, ...items)

/** INTEGER from unsigned big-endian bytes (minimal, non-negative). */
export function integer(unsigned: Uint8Array): Uint8Array {
  let i = 0
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++
  let v = unsigned.subarray(i)
  if (v.length === 0) v = Uint8Array.of(0)
  if (v[0]! & 0x80) v = concatBytes(Uint8Array.of(0), v)
  return tlv(0x02, v)
}

export const smallInteger = (n: number): Uint8Array =>
  integer(Uint8Array.of(n & 0xff))

export const octetString = (b: Uint8Array): Uint8Array => tlv(0x04, b)
export const derNull = (): Uint8Array => Uint8Array.of(0x05, 0x00)
export const boolean = (v: boolean): Uint8Array =>
  Uint8Array.of(0x01, 0x01, v ? 0xff : 0x00)

/** OID from dotted notation. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number)
  const out: number[] = [arcs[0]! * 40 + arcs[1]!]
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = []
    let v = arc
    do {
      chunk.unshift(v & 0x7f)
      v = Math.floor(v / 128)
    } while (v > 0)
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80
    out.push(...chunk)
  }
  return tlv(0x06, Uint8Array.from(out))
}

/** Reads one TLV at `offset`; throws TypeError on malformed input. */
export function readTlv(buf: Uint8Array, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new TypeError('DER: truncated header')
  const tag = buf[offset]!
  if ((tag & 0x1f) === 0x1f)
    throw new TypeError('DER: high tag numbers unsupported')
  let len = buf[offset + 1]!
  let header = 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4) throw new TypeError('DER: unsupported length form')
    if (offset + 2 + n > buf.length)
      throw new TypeError('DER: truncated length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!
    header += n
  }
  const end = offset + header + len
  if (end > buf.length) throw new TypeError('DER: truncated value')
  return {
    tag,
    value: buf.subarray(offset + header, end),
    length: header + len
  }
}

/** The TLVs inside a constructed value. */
export function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = []
  for (let o = 0; o < value.length;) {
    const t = readTlv(value, o)
    out.push(t)
    o += t.length
  }
  return out
}

/** Reads a whole buffer as exactly one TLV of `tag`. */
export function readOnly(buf: Uint8Array, tag: number): Tlv {
  const t = readTlv(buf)
  if (t.length !== buf.length) throw new TypeError('DER: trailing bytes')
  if (t.tag !== tag)
    throw new TypeError(`DER: expected tag 0x${tag.toString(16)}`)
  return t
}

/** Non-negative INTEGER content → bigint. */
export function toBigInt(value: Uint8Array): bigint {
  let n = 0n
  for (const b of value) n = (n << 8n) | BigInt(b)
  return n
}

/** Dotted OID from OBJECT IDENTIFIER content. */
export function oidToString(value: Uint8Array): string {
  const arcs: number[] = []
  let v = 0
  for (const b of value) {
    v = v * 128 + (b & 0x7f)
    if (!(b & 0x80)) {
      if (arcs.length === 0)
        arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80)
      else arcs.push(v)
      v = 0
    }
  }
  return arcs.join('.')
}
