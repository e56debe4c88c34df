import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromBase64 } from '../../../../src/util/index.ts'
import {
  trustFor,
  vectorsDir,
  vectorsSkipReason
} from '../../../support/vectors.ts'
import {
  encodeTlv,
  TAG,
  encodeOid
} from '../../../../src/sigstore/asn1/index.ts'
import { publicGoodTrustMaterial } from '../../../../src/sigstore/trust/index.ts'
import {
  VerificationError,
  parseTimestampToken,
  verifyRFC3161Timestamp
} from '../../../../src/sigstore/verify/index.ts'

const isInvalid = (e: unknown) =>
  e instanceof VerificationError && e.code === 'TIMESTAMP_INVALID'

test('malformed or ungranted timestamp responses are TIMESTAMP_INVALID', () => {
  const rejected = encodeTlv(
    TAG.SEQUENCE,
    encodeTlv(TAG.SEQUENCE, encodeTlv(TAG.INTEGER, Uint8Array.of(2)))
  )
  const notSignedData = encodeTlv(
    TAG.SEQUENCE,
    encodeOid('1.2.840.113549.1.7.1'),
    encodeTlv(0xa0, encodeTlv(TAG.SEQUENCE))
  )
  for (const der of [
    new Uint8Array(),
    Uint8Array.of(0x30, 0x00),
    rejected,
    notSignedData,
    Uint8Array.of(0x04, 0x01, 0x00)
  ]) {
    assert.throws(() => parseTimestampToken(der), isInvalid)
    assert.throws(
      () =>
        verifyRFC3161Timestamp(
          der,
          Uint8Array.of(1),
          publicGoodTrustMaterial()
        ),
      isInvalid
    )
  }
})

test(
  'a real TSA timestamp verifies; tampering or another signature fails',
  { skip: vectorsSkipReason() },
  () => {
    const dir = vectorsDir()!
    const bundle = JSON.parse(
      readFileSync(
        join(dir, 'sigstore-java/bundle-with-timestamp.sigstore'),
        'utf8'
      )
    )
    const trust = trustFor(dir, 'trusted_root/staging.trusted_root.json')
    const der = fromBase64(
      bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0]
        .signedTimestamp
    )
    const sig = fromBase64(bundle.messageSignature.signature)
    const t = verifyRFC3161Timestamp(der, sig, trust)
    assert.ok(t.getTime() > Date.parse('2025-01-01T00:00:00Z'))
    assert.throws(
      () => verifyRFC3161Timestamp(der, Uint8Array.of(1, 2, 3), trust),
      isInvalid
    )
    const tok = parseTimestampToken(der)
    const at = Buffer.from(der).indexOf(Buffer.from(tok.signature))
    const forged = Buffer.from(der)
    forged[at + 12]! ^= 1
    assert.throws(() => verifyRFC3161Timestamp(forged, sig, trust), isInvalid)
    assert.throws(
      () =>
        verifyRFC3161Timestamp(der, sig, {
          ...trust,
          timestampAuthorities: []
        }),
      isInvalid
    )
  }
)
