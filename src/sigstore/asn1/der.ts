// A small, strict DER reader: tag/length/value, nested walking, and decoders
// for the universal types Sigstore certificates, SCT lists and RFC 3161
// tokens use (OID, INTEGER, BOOLEAN, strings, UTCTime/GeneralizedTime).
// It knows nothing about X.509 or CMS; callers give the structure meaning.
// It rejects BER-only forms (indefinite lengths, non-minimal lengths, high tag
// numbers beyond 30) because everything we read is DER by specification.
// Spec: ITU-T X.690 §8 and §10 (DER restrictions).

import { AppError } from '../../util/index.ts'

/** Malformed DER. Callers usually wrap it into a domain error with `cause`. */
export class Asn1Error extends AppError {
  constructor(message: string) {
    super('ASN1_INVALID', message)
  }
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18
} as const

const MAX_DEPTH = 32

/**
 * One DER element. `bytes` is the full encoding (header + value), `value` the
 * contents; both are views into the original buffer (no copies).
 */
export class DerNode {
  /** The identifier octet (class, constructed bit, tag number). */
  readonly tag: number
  readonly bytes: Uint8Array
  readonly value: Uint8Array
  readonly depth: number
  #children: DerNode[] | undefined

  constructor(tag: number, bytes: Uint8Array, value: Uint8Array, depth = 0) {
    this.tag = tag
    this.bytes = bytes
    this.value = value
    this.depth = depth
  }

  get constructed(): boolean {
    return (this.tag & 0x20) !== 0
  }

  /** Context-specific tag number `n` ([n], implicit or explicit). */
  isContext(n: number): boolean {
    return (this.tag & 0xc0) === 0x80 && (this.tag & 0x1f) === n
  }

  /** Children of a constructed element, parsed once on first access. */
  get children(): DerNode[] {
    if (this.#children === undefined) {
      if (!this.constructed) {
        throw new Asn1Error(`tag 0x${hex2(this.tag)} is not constructed`)
      }
      this.#children = parseAll(this.value, this.depth + 1)
    }
    return this.#children
  }

  /** The i-th child; throws when missing (structure violations are errors). */
  child(i: number): DerNode {
    const c = this.children[i]
    if (c === undefined) {
      throw new Asn1Error(`missing element ${i} in tag 0x${hex2(this.tag)}`)
    }
    return c
  }

  /** Asserts the tag and returns this node, for fluent structural checks. */
  expect(tag: number, what = 'element'): DerNode {
    if (this.tag !== tag) {
      throw new Asn1Error(
        `${what}: expected tag 0x${hex2(tag)}, got 0x${hex2(this.tag)}`
      )
    }
    return this
  }

  /** Re-parses the contents of a primitive OCTET STRING as one DER element. */
  parseContent(): DerNode {
    return parseDer(this.value, this.depth + 1)
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0')
}

/** Reads one element at `offset`; returns it and the offset after it. */
export function readElement(
  buf: Uint8Array,
  offset: number,
  depth = 0
): { node: DerNode; next: number } {
  if (depth > MAX_DEPTH) throw new Asn1Error('nesting too deep')
  if (offset >= buf.length) throw new Asn1Error('unexpected end of data')
  const tag = buf[offset]!
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error('high tag numbers unsupported')
  let pos = offset + 1
  if (pos >= buf.length) throw new Asn1Error('missing length')
  const first = buf[pos++]!
  let length: number
  if (first < 0x80) {
    length = first
  } else if (first === 0x80) {
    throw new Asn1Error('indefinite length is not DER')
  } else {
    const n = first & 0x7f
    if (n > 4) throw new Asn1Error('length too large')
    if (pos + n > buf.length) throw new Asn1Error('truncated length')
    if (buf[pos] === 0) throw new Asn1Error('non-minimal length')
    length = 0
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!
    if (length < 0x80) throw new Asn1Error('non-minimal length')
  }
  const end = pos + length
  if (end > buf.length) throw new Asn1Error('length exceeds data')
  const node = new DerNode(
    tag,
    buf.subarray(offset, end),
    buf.subarray(pos, end),
    depth
  )
  return { node, next: end }
}

/** Parses exactly one element spanning the whole buffer. */
export function parseDer(buf: Uint8Array, depth = 0): DerNode {
  const { node, next } = readElement(buf, 0, depth)
  if (next !== buf.length) throw new Asn1Error('trailing data after element')
  return node
}

function parseAll(buf: Uint8Array, depth: number): DerNode[] {
  const out: DerNode[] = []
  let off = 0
  while (off < buf.length) {
    const { node, next } = readElement(buf, off, depth)
    out.push(node)
    off = next
  }
  return out
}

// ---- decoders -------------------------------------------------------------

const oidCache = new Map<string, string>()

/** Dotted-decimal form of an OBJECT IDENTIFIER. */
export function decodeOid(node: DerNode): string {
  node.expect(TAG.OID, 'OID')
  const v = node.value
  if (v.length === 0) throw new Asn1Error('empty OID')
  const key = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')
  const cached = oidCache.get(key)
  if (cached !== undefined) return cached
  const arcs: string[] = []
  let acc = 0n
  let start = true
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!
    if (start && b === 0x80) throw new Asn1Error('non-minimal OID arc')
    start = false
    acc = (acc << 7n) | BigInt(b & 0x7f)
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = acc < 40n ? 0n : acc < 80n ? 1n : 2n
        arcs.push(first.toString(), (acc - first * 40n).toString())
      } else {
        arcs.push(acc.toString())
      }
      acc = 0n
      start = true
    }
  }
  if (!start) throw new Asn1Error('truncated OID')
  const s = arcs.join('.')
  if (oidCache.size < 1024) oidCache.set(key, s)
  return s
}

/** DER encoding of a dotted OID (used by tests and TBS rebuilding). */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(a => BigInt(a))
  if (arcs.length < 2) throw new TypeError('OID needs two arcs')
  const body: number[] = []
  const push = (n: bigint): void => {
    const parts = [Number(n & 0x7fn)]
    n >>= 7n
    while (n > 0n) {
      parts.unshift(Number(n & 0x7fn) | 0x80)
      n >>= 7n
    }
    body.push(...parts)
  }
  push(arcs[0]! * 40n + arcs[1]!)
  for (const a of arcs.slice(2)) push(a)
  return encodeTlv(TAG.OID, Uint8Array.from(body))
}

/** INTEGER contents as a bigint (two's complement). */
export function decodeInteger(node: DerNode): bigint {
  node.expect(TAG.INTEGER, 'INTEGER')
  const v = node.value
  if (v.length === 0) throw new Asn1Error('empty INTEGER')
  if (
    v.length > 1 &&
    ((v[0] === 0 && (v[1]! & 0x80) === 0) ||
      (v[0] === 0xff && (v[1]! & 0x80) !== 0))
  ) {
    throw new Asn1Error('non-minimal INTEGER')
  }
  let n = 0n
  for (const b of v) n = (n << 8n) | BigInt(b)
  if ((v[0]! & 0x80) !== 0) n -= 1n << BigInt(v.length * 8)
  return n
}

export function decodeBoolean(node: DerNode): boolean {
  node.expect(TAG.BOOLEAN, 'BOOLEAN')
  if (node.value.length !== 1) throw new Asn1Error('BOOLEAN must be 1 byte')
  const b = node.value[0]
  if (b === 0) return false
  if (b === 0xff) return true
  throw new Asn1Error('BOOLEAN must be 0x00 or 0xff in DER')
}

/** BIT STRING contents without the unused-bits octet, plus that count. */
export function decodeBitString(node: DerNode): {
  bytes: Uint8Array
  unusedBits: number
} {
  node.expect(TAG.BIT_STRING, 'BIT STRING')
  const v = node.value
  if (v.length === 0) throw new Asn1Error('empty BIT STRING')
  const unusedBits = v[0]!
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) {
    throw new Asn1Error('invalid BIT STRING padding')
  }
  return { bytes: v.subarray(1), unusedBits }
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/** Any of the string types we meet in certificates, as a JS string. */
export function decodeString(node: DerNode): string {
  try {
    return decoder.decode(node.value)
  } catch {
    throw new Asn1Error('string is not valid UTF-8')
  }
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z). */
export function decodeTime(node: DerNode): Date {
  const s = String.fromCharCode(...node.value)
  let m: RegExpMatchArray | null
  let year: number
  if (node.tag === TAG.UTC_TIME) {
    m = s.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/)
    if (!m) throw new Asn1Error(`invalid UTCTime "${s}"`)
    const yy = Number(m[1])
    year = yy >= 50 ? 1900 + yy : 2000 + yy
  } else if (node.tag === TAG.GENERALIZED_TIME) {
    m = s.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d*[1-9])?Z$/)
    if (!m) throw new Asn1Error(`invalid GeneralizedTime "${s}"`)
    year = Number(m[1])
  } else {
    throw new Asn1Error(`expected a time, got tag 0x${hex2(node.tag)}`)
  }
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0
  const t = Date.UTC(
    year,
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    ms
  )
  const d = new Date(t)
  // Reject overflowing fields (e.g. month 13) that Date.UTC would normalise.
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
    throw new Asn1Error(`invalid date "${s}"`)
  }
  return d
}

// ---- encoding (for re-encoding edited structures) -------------------------

export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  const bytes: number[] = []
  while (n > 0) {
    bytes.unshift(n & 0xff)
    n = Math.floor(n / 256)
  }
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

/** tag || length || value. */
export function encodeTlv(tag: number, ...values: Uint8Array[]): Uint8Array {
  const len = values.reduce((n, v) => n + v.length, 0)
  const l = encodeLength(len)
  const out = new Uint8Array(1 + l.length + len)
  out[0] = tag
  out.set(l, 1)
  let o = 1 + l.length
  for (const v of values) {
    out.set(v, o)
    o += v.length
  }
  return out
}
