// Embedded Signed Certificate Timestamps (RFC 6962): parse the TLS-encoded
// SCT list from extension 1.3.6.1.4.1.11129.2.4.2, rebuild the precertificate
// TBSCertificate (the leaf's TBS without that extension) and check one SCT's
// signature with a given CT log key.
// Does not know which CT logs are trusted or how many SCTs are enough; the
// verifier applies the trusted root and the threshold.
// Spec: shared/docs/cosign-spec.md §4.6 (Validated); RFC 6962 §3.2-3.3.

import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import {
  Asn1Error,
  TAG,
  encodeTlv,
  parseDer,
  readElement,
  decodeOid
} from '../asn1/index.ts'
import { OID, type ParsedCertificate } from './certificate.ts'

export interface SignedCertificateTimestamp {
  version: number
  /** SHA-256 of the CT log's DER SPKI. */
  logId: Uint8Array
  /** Milliseconds since the epoch. */
  timestamp: number
  /** The raw 8 timestamp bytes, as signed. */
  timestampBytes: Uint8Array
  extensions: Uint8Array
  hashAlgorithm: number
  signatureAlgorithm: number
  signature: Uint8Array
}

const HASHES: Record<number, string> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' }

/** SCTs embedded in the certificate ([] when the extension is absent). */
export function embeddedSCTs(
  cert: ParsedCertificate
): SignedCertificateTimestamp[] {
  const ext = cert.extensions.get(OID.SCT_LIST)
  if (!ext) return []
  const inner = parseDer(ext.value).expect(TAG.OCTET_STRING, 'SCT list')
  return parseSCTList(inner.value)
}

/** Parses a TLS `SignedCertificateTimestampList`. */
export function parseSCTList(b: Uint8Array): SignedCertificateTimestamp[] {
  if (b.length < 2) throw new Asn1Error('SCT list too short')
  const total = (b[0]! << 8) | b[1]!
  if (total !== b.length - 2) throw new Asn1Error('SCT list length mismatch')
  const out: SignedCertificateTimestamp[] = []
  let off = 2
  while (off < b.length) {
    if (off + 2 > b.length) throw new Asn1Error('truncated SCT length')
    const len = (b[off]! << 8) | b[off + 1]!
    off += 2
    if (off + len > b.length) throw new Asn1Error('truncated SCT')
    out.push(parseSCT(b.subarray(off, off + len)))
    off += len
  }
  return out
}

export function parseSCT(b: Uint8Array): SignedCertificateTimestamp {
  let p = 0
  const take = (n: number): Uint8Array => {
    if (p + n > b.length) throw new Asn1Error('truncated SCT')
    const v = b.subarray(p, p + n)
    p += n
    return v
  }
  const u16 = (): number => {
    const v = take(2)
    return (v[0]! << 8) | v[1]!
  }
  const version = take(1)[0]!
  if (version !== 0) throw new Asn1Error(`unsupported SCT version ${version}`)
  const logId = take(32)
  const timestampBytes = take(8)
  const timestamp = Number(
    Buffer.from(
      timestampBytes.buffer,
      timestampBytes.byteOffset,
      8
    ).readBigUInt64BE(0)
  )
  const extensions = take(u16())
  const hashAlgorithm = take(1)[0]!
  const signatureAlgorithm = take(1)[0]!
  const signature = take(u16())
  if (p !== b.length) throw new Asn1Error('trailing bytes in SCT')
  return {
    version,
    logId,
    timestamp,
    timestampBytes,
    extensions,
    hashAlgorithm,
    signatureAlgorithm,
    signature
  }
}

/**
 * The precertificate TBSCertificate: the leaf's TBS with the SCT-list
 * extension element removed and every enclosing length re-encoded.
 */
export function precertTbs(cert: ParsedCertificate): Uint8Array {
  const tbs = parseDer(cert.tbsDer)
  const parts: Uint8Array[] = []
  let found = false
  for (const f of tbs.children) {
    if (!f.isContext(3)) {
      parts.push(f.bytes)
      continue
    }
    const seq = f.child(0)
    const kept: Uint8Array[] = []
    let off = 0
    while (off < seq.value.length) {
      const { node, next } = readElement(seq.value, off)
      if (decodeOid(node.child(0)) === OID.SCT_LIST) found = true
      else kept.push(node.bytes)
      off = next
    }
    parts.push(encodeTlv(f.tag, encodeTlv(TAG.SEQUENCE, ...kept)))
  }
  if (!found) throw new Asn1Error('certificate has no SCT list')
  return encodeTlv(TAG.SEQUENCE, ...parts)
}

/**
 * The `digitally-signed` input for an embedded (precert_entry) SCT.
 * `issuerSpki` is the issuing CA's DER SubjectPublicKeyInfo.
 */
export function sctSignedData(
  sct: SignedCertificateTimestamp,
  tbs: Uint8Array,
  issuerSpki: Uint8Array
): Uint8Array {
  const issuerKeyHash = createHash('sha256').update(issuerSpki).digest()
  const out = Buffer.alloc(
    1 + 1 + 8 + 2 + 32 + 3 + tbs.length + 2 + sct.extensions.length
  )
  let o = 0
  out[o++] = sct.version
  out[o++] = 0 // signature_type = certificate_timestamp
  out.set(sct.timestampBytes, o)
  o += 8
  out.writeUInt16BE(1, o) // entry_type = precert_entry
  o += 2
  out.set(issuerKeyHash, o)
  o += 32
  out.writeUIntBE(tbs.length, o, 3)
  o += 3
  out.set(tbs, o)
  o += tbs.length
  out.writeUInt16BE(sct.extensions.length, o)
  o += 2
  out.set(sct.extensions, o)
  return out
}

/** Whether `key` signed this SCT over `signedData`. Never throws. */
export function verifySCTSignature(
  sct: SignedCertificateTimestamp,
  signedData: Uint8Array,
  key: KeyObject
): boolean {
  const hash = HASHES[sct.hashAlgorithm]
  // signature algorithms: 1 = rsa, 3 = ecdsa (RFC 5246 §7.4.1.4.1)
  if (!hash || (sct.signatureAlgorithm !== 1 && sct.signatureAlgorithm !== 3)) {
    return false
  }
  try {
    return cryptoVerify(hash, signedData, key, sct.signature)
  } catch {
    return false
  }
}
