import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  Asn1Error,
  TAG,
  decodeBoolean,
  decodeInteger,
  decodeOid,
  decodeTime,
  encodeOid,
  encodeTlv,
  parseDer
} from '../../../../src/sigstore/asn1/index.ts'

const b = (...x: number[]): Uint8Array => Uint8Array.from(x)

test('walks nested structures and exposes views', () => {
  const seq = encodeTlv(
    TAG.SEQUENCE,
    encodeTlv(TAG.INTEGER, b(5)),
    encodeTlv(TAG.BOOLEAN, b(0xff))
  )
  const n = parseDer(seq)
  assert.equal(n.children.length, 2)
  assert.equal(decodeInteger(n.child(0)), 5n)
  assert.equal(decodeBoolean(n.child(1)), true)
  assert.throws(() => n.child(2), Asn1Error)
})

test('long-form lengths', () => {
  const value = new Uint8Array(300).fill(7)
  const enc = encodeTlv(TAG.OCTET_STRING, value)
  assert.deepEqual([...enc.subarray(0, 4)], [0x04, 0x82, 0x01, 0x2c])
  assert.equal(parseDer(enc).value.length, 300)
})

test('malformed DER is rejected with Asn1Error', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', b()],
    ['tag only', b(0x30)],
    ['truncated value', b(0x04, 0x05, 1, 2)],
    ['indefinite length', b(0x30, 0x80, 0, 0)],
    ['non-minimal long length', b(0x04, 0x81, 0x01, 0x00)],
    ['leading zero length byte', b(0x04, 0x82, 0x00, 0x01, 0x00)],
    ['length too large', b(0x04, 0x85, 1, 1, 1, 1, 1)],
    ['trailing bytes', b(0x05, 0x00, 0x00)],
    ['high tag number', b(0x1f, 0x81, 0x00, 0x00)],
    ['child overruns parent', b(0x30, 0x02, 0x04, 0x05)]
  ]
  for (const [name, der] of cases) {
    assert.throws(() => parseDer(der).children, Asn1Error, name)
  }
  let deep: Uint8Array = b(0x05, 0x00)
  for (let i = 0; i < 40; i++) deep = encodeTlv(TAG.SEQUENCE, deep)
  assert.throws(() => {
    let n = parseDer(deep)
    for (;;) n = n.child(0)
  }, Asn1Error)
})

test('OIDs decode and round-trip', () => {
  for (const oid of [
    '1.2.840.10045.4.3.2',
    '1.3.6.1.4.1.57264.1.8',
    '2.5.29.17',
    '2.999.3'
  ]) {
    assert.equal(decodeOid(parseDer(encodeOid(oid))), oid)
  }
  assert.throws(() => decodeOid(parseDer(b(0x06, 0x00))), Asn1Error)
  assert.throws(() => decodeOid(parseDer(b(0x06, 0x02, 0x2a, 0x86))), Asn1Error)
  assert.throws(() => decodeOid(parseDer(b(0x06, 0x02, 0x2a, 0x80))), Asn1Error)
  assert.throws(() => decodeOid(parseDer(b(0x02, 0x01, 0x00))), Asn1Error)
})

test('INTEGER, BOOLEAN strictness', () => {
  assert.equal(decodeInteger(parseDer(b(0x02, 0x01, 0xff))), -1n)
  assert.equal(decodeInteger(parseDer(b(0x02, 0x02, 0x00, 0x80))), 128n)
  assert.throws(
    () => decodeInteger(parseDer(b(0x02, 0x02, 0x00, 0x01))),
    Asn1Error
  )
  assert.throws(() => decodeInteger(parseDer(b(0x02, 0x00))), Asn1Error)
  assert.throws(() => decodeBoolean(parseDer(b(0x01, 0x01, 0x01))), Asn1Error)
})

test('UTCTime and GeneralizedTime', () => {
  const t = (tag: number, s: string) =>
    decodeTime(parseDer(encodeTlv(tag, Buffer.from(s))))
  assert.equal(
    t(TAG.UTC_TIME, '230120205131Z').toISOString(),
    '2023-01-20T20:51:31.000Z'
  )
  assert.equal(t(TAG.UTC_TIME, '991231235959Z').getUTCFullYear(), 1999)
  assert.equal(
    t(TAG.GENERALIZED_TIME, '20250704120000.25Z').toISOString(),
    '2025-07-04T12:00:00.250Z'
  )
  for (const [tag, s] of [
    [TAG.UTC_TIME, '2301202051Z'],
    [TAG.UTC_TIME, '230120205131+0100'],
    [TAG.GENERALIZED_TIME, '20251304120000Z'],
    [TAG.GENERALIZED_TIME, '20250704120000.50Z'],
    [TAG.INTEGER, '1']
  ] as const) {
    assert.throws(() => t(tag, s), Asn1Error, s)
  }
})
