// The RFC 3161 message-imprint binding without the shared vectors: a token
// from an in-process TSA (@sigstore/mock, real keys and CMS) verifies for the
// signature it was requested over, and for no other bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { initializeTSA } from '@sigstore/mock'
import { parseTrustedRoot } from '../../../../src/sigstore/trust/index.ts'
import {
  VerificationError,
  verifyRFC3161Timestamp
} from '../../../../src/sigstore/verify/index.ts'

const b64 = (b: ArrayBufferView): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

test('a timestamp is bound to the signature it was requested over (message imprint)', async () => {
  const tsa = await initializeTSA(
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
  )
  const signature = Buffer.from('the signature bytes')
  const der = await tsa.timestamp({
    artifactHash: createHash('sha256').update(signature).digest(),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
    nonce: 42,
    policyOID: '1.2.3.4',
    certReq: true
  })
  const trust = parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        certChain: {
          certificates: [
            { rawBytes: b64(tsa.intCertificate) },
            { rawBytes: b64(tsa.rootCertificate) }
          ]
        },
        validFor: { start: new Date(Date.now() - 3600_000).toISOString() }
      }
    ]
  })
  const token = new Uint8Array(der.buffer, der.byteOffset, der.byteLength)
  const t = verifyRFC3161Timestamp(token, signature, trust)
  assert.ok(Math.abs(t.getTime() - Date.now()) < 60_000)
  for (const other of [
    Buffer.from('the signature bytez'),
    signature.subarray(1),
    Buffer.alloc(0)
  ]) {
    assert.throws(
      () => verifyRFC3161Timestamp(token, other, trust),
      (e: unknown) => {
        assert.ok(e instanceof VerificationError)
        assert.equal(e.code, 'TIMESTAMP_INVALID')
        assert.match(e.message, /imprint|hash|digest/i)
        return true
      }
    )
  }
})
