// Fulcio extensions that are present but not in their expected encoding
// reject the certificate (no fallback from a malformed `.8` issuer to `.1`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePemBlocks } from '../../../../src/util/index.ts'
import {
  TAG,
  encodeOid,
  encodeTlv,
  parseDer
} from '../../../../src/sigstore/asn1/index.ts'
import {
  CertificateParseError,
  fulcioExtensions,
  parseCertificate
} from '../../../../src/sigstore/x509/index.ts'
import { FULCIO_LEAF_PEM } from './fulcio-leaf.ts'

const der = parsePemBlocks(FULCIO_LEAF_PEM)[0]!.der
const ARC = '1.3.6.1.4.1.57264.1.'
const te = new TextEncoder()
const utf8String = (s: string): Uint8Array =>
  encodeTlv(TAG.UTF8_STRING, te.encode(s))

/** The real leaf with extension `oid` set to `value` (replaced or appended). */
function withExtension(oid: string, value: Uint8Array): Uint8Array {
  const root = parseDer(der)
  const tbs = root.child(0)
  const ext = encodeTlv(
    TAG.SEQUENCE,
    encodeOid(oid),
    encodeTlv(TAG.OCTET_STRING, value)
  )
  const fields = tbs.children.map(f => {
    if (!f.isContext(3)) return f.bytes
    const kept = f
      .child(0)
      .children.filter(e => {
        const o = e.child(0)
        return !Buffer.from(o.bytes).equals(Buffer.from(encodeOid(oid)))
      })
      .map(e => e.bytes)
    return encodeTlv(0xa3, encodeTlv(TAG.SEQUENCE, ...kept, ext))
  })
  return encodeTlv(
    TAG.SEQUENCE,
    encodeTlv(TAG.SEQUENCE, ...fields),
    root.child(1).bytes,
    root.child(2).bytes
  )
}

function rejected(oid: string, value: Uint8Array): void {
  assert.throws(
    () => parseCertificate(withExtension(oid, value)),
    (e: unknown) => {
      assert.ok(e instanceof CertificateParseError)
      assert.equal(e.code, 'CERTIFICATE_INVALID')
      assert.ok(e.message.includes(oid), e.message)
      return true
    }
  )
}

test('a well-formed v2 issuer (.8) is read and wins over the deprecated .1', () => {
  const cert = parseCertificate(
    withExtension(`${ARC}8`, utf8String('https://issuer.example'))
  )
  assert.equal(cert.fulcio.issuerV1, 'https://github.com/login/oauth')
  assert.equal(cert.fulcio.issuerV2, 'https://issuer.example')
  assert.equal(cert.fulcio.issuer, 'https://issuer.example')
})

test('a v2 issuer (.8) that is not DER rejects the certificate (no fallback to .1)', () => {
  rejected(`${ARC}8`, te.encode('https://evil.example'))
})

test('a v2 issuer (.8) with another string type, trailing bytes or bad UTF-8 rejects the certificate', () => {
  rejected(
    `${ARC}8`,
    encodeTlv(TAG.IA5_STRING, te.encode('https://issuer.example'))
  )
  rejected(
    `${ARC}8`,
    Uint8Array.of(...utf8String('https://issuer.example'), 0x00)
  )
  rejected(`${ARC}8`, encodeTlv(TAG.UTF8_STRING, Uint8Array.of(0xff, 0xfe)))
  rejected(`${ARC}8`, new Uint8Array(0))
})

test('every DER-encoded Fulcio extension (.9-.24) is held to the same rule', () => {
  for (let n = 9; n <= 24; n++) {
    const oid = `${ARC}${n}`
    assert.doesNotThrow(() =>
      parseCertificate(withExtension(oid, utf8String('value')))
    )
    rejected(oid, te.encode('value'))
  }
})

test('a raw extension (.1-.6) that is not UTF-8 rejects the certificate; valid UTF-8 is read', () => {
  for (let n = 1; n <= 6; n++) {
    const oid = `${ARC}${n}`
    assert.doesNotThrow(() =>
      parseCertificate(withExtension(oid, te.encode('value')))
    )
    rejected(oid, Uint8Array.of(0x68, 0xc3, 0x28))
  }
})

test('an unknown extension in the Fulcio arc is ignored', () => {
  const cert = parseCertificate(
    withExtension(`${ARC}99`, Uint8Array.of(0xff, 0x00))
  )
  assert.equal(cert.fulcio.issuer, 'https://github.com/login/oauth')
})

test('fulcioExtensions throws the coded DER error for a malformed value', () => {
  const extensions = new Map([
    [`${ARC}8`, { critical: false, value: te.encode('https://x') }]
  ])
  assert.throws(() => fulcioExtensions({ extensions }), {
    name: 'Asn1Error',
    code: 'ASN1_INVALID'
  })
})
