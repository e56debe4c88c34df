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
  parseTimestampToken,
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

test('the TSTInfo is bound to the signed attributes: a forged genTime fails; a bare TimeStampToken verifies', async () => {
  const { parseDer } = await import('../../../../src/sigstore/asn1/index.ts')
  const tsa = await initializeTSA(
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
  )
  const signature = Buffer.from('signed bytes')
  const resp = await tsa.timestamp({
    artifactHash: createHash('sha256').update(signature).digest(),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
    nonce: 7,
    policyOID: '1.2.3.4',
    certReq: true
  })
  const der = new Uint8Array(resp.buffer, resp.byteOffset, resp.byteLength)
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
  const genuine = verifyRFC3161Timestamp(der, signature, trust)
  // The TimeStampToken alone (what some clients store) verifies the same.
  const token = parseDer(der).child(1).bytes
  assert.deepEqual(verifyRFC3161Timestamp(token, signature, trust), genuine)

  // Move genTime back a year inside the TSTInfo; the signature over the
  // signed attributes still verifies, their message digest no longer does.
  const forged = Uint8Array.from(der)
  const tst = parseDer(forged)
    .child(1)
    .child(1)
    .child(0)
    .child(2)
    .child(1)
    .child(0)
    .parseContent()
  const genTime = tst.child(4).value
  const at = genTime.byteOffset - forged.byteOffset + 3 // last digit of the year
  forged[at] = forged[at] === 0x30 ? 0x39 : forged[at]! - 1
  assert.notDeepEqual(parseTimestampToken(forged).genTime, genuine)
  const rejects = (d: Uint8Array, t: typeof trust, why: RegExp) =>
    assert.throws(
      () => verifyRFC3161Timestamp(d, signature, t),
      (e: unknown) => {
        assert.ok(e instanceof VerificationError, String(e))
        assert.equal(e.code, 'TIMESTAMP_INVALID')
        assert.match(e.message, why)
        return true
      }
    )
  rejects(forged, trust, /signed attributes do not match its TSTInfo/)
  // No TSA in the trusted root signed it.
  rejects(
    der,
    parseTrustedRoot({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1'
    }),
    /not signed by a timestamp authority in the trusted root/
  )
})

test('a signer named by subjectKeyIdentifier (not issuer and serial) is matched by key ID', async () => {
  const { parseDer, encodeTlv } =
    await import('../../../../src/sigstore/asn1/index.ts')
  const { parseCertificate } =
    await import('../../../../src/sigstore/x509/index.ts')
  type Node = ReturnType<typeof parseDer>
  // Re-encodes `node` with the element at `path` replaced (the signer ID is
  // outside the signed attributes, so the signature still verifies).
  const replace = (node: Node, path: number[], by: Uint8Array): Uint8Array => {
    if (path.length === 0) return by
    const [i, ...rest] = path as [number, ...number[]]
    return encodeTlv(
      node.tag,
      ...node.children.map((c, j) => (j === i ? replace(c, rest, by) : c.bytes))
    )
  }
  const tsa = await initializeTSA(
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
  )
  const signature = Buffer.from('signed bytes')
  const resp = await tsa.timestamp({
    artifactHash: createHash('sha256').update(signature).digest(),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
    nonce: 9,
    policyOID: '1.2.3.4',
    certReq: true
  })
  const der = new Uint8Array(resp.buffer, resp.byteOffset, resp.byteLength)
  const leaf = parseCertificate(
    new Uint8Array(
      tsa.intCertificate.buffer,
      tsa.intCertificate.byteOffset,
      tsa.intCertificate.byteLength
    )
  )
  assert.ok(leaf.subjectKeyId, 'the TSA certificate has a key ID')
  const root = parseDer(der)
  const signedData = root.child(1).child(1).child(0)
  const path = [1, 1, 0, signedData.children.length - 1, 0, 1]
  const withKeyId = (keyId: Uint8Array) =>
    replace(root, path, encodeTlv(0x80, keyId))
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
  const keyed = withKeyId(leaf.subjectKeyId)
  assert.deepEqual(parseTimestampToken(keyed).signerKeyId, leaf.subjectKeyId)
  assert.deepEqual(
    verifyRFC3161Timestamp(keyed, signature, trust),
    verifyRFC3161Timestamp(der, signature, trust)
  )
  assert.throws(
    () =>
      verifyRFC3161Timestamp(withKeyId(new Uint8Array(20)), signature, trust),
    (e: unknown) =>
      e instanceof VerificationError &&
      e.code === 'TIMESTAMP_INVALID' &&
      /not signed by a timestamp authority/.test(e.message)
  )
})
