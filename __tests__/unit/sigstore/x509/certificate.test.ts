import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parsePemBlocks } from '../../../../src/util/index.ts'
import {
  CertificateParseError,
  OID,
  embeddedSCTs,
  fulcioExtensions,
  isSignedBy,
  parseCertificate,
  precertTbs
} from '../../../../src/sigstore/x509/index.ts'
import { publicGoodTrustMaterial } from '../../../../src/sigstore/trust/index.ts'
import {
  VerificationError,
  verifyCertificateChain,
  verifySCTs
} from '../../../../src/sigstore/verify/index.ts'
import { FULCIO_LEAF_PEM, SIGNED_AT } from './fulcio-leaf.ts'

const der = parsePemBlocks(FULCIO_LEAF_PEM)[0]!.der
const leaf = parseCertificate(der)
const trust = publicGoodTrustMaterial()
const intermediate = trust.certificateAuthorities
  .flatMap(ca => ca.certChain)
  .find(c => c.subject === 'O=sigstore.dev, CN=sigstore-intermediate')!

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof VerificationError, String(e))
    return e.code
  }
  assert.fail('expected a VerificationError')
}

test('parses a Fulcio leaf: validity, SAN, usages, Sigstore extensions', () => {
  assert.equal(leaf.notBefore.toISOString(), '2023-01-20T20:51:31.000Z')
  assert.equal(leaf.notAfter.toISOString(), '2023-01-20T21:01:31.000Z')
  assert.equal(leaf.subject, '')
  assert.equal(leaf.issuer, 'O=sigstore.dev, CN=sigstore-intermediate')
  assert.deepEqual(leaf.sans, [{ type: 'email', value: 'mitr@redhat.com' }])
  assert.equal(leaf.extensions.get(OID.SUBJECT_ALT_NAME)?.critical, true)
  assert.deepEqual(leaf.extKeyUsage, [OID.EKU_CODE_SIGNING])
  assert.deepEqual(leaf.keyUsage, ['digitalSignature'])
  assert.equal(leaf.isCA, false)
  assert.ok(leaf.authorityKeyId && intermediate.subjectKeyId)
  assert.deepEqual(
    Buffer.from(leaf.authorityKeyId),
    Buffer.from(intermediate.subjectKeyId)
  )
  const ext = fulcioExtensions(leaf)
  assert.equal(ext.issuerV1, 'https://github.com/login/oauth')
  assert.equal(ext.issuer, 'https://github.com/login/oauth')
  assert.equal(ext.issuerV2, undefined)
  // node agrees on the parts it exposes
  assert.equal(leaf.x509.subjectAltName, 'email:mitr@redhat.com')
  assert.equal(leaf.publicKey.asymmetricKeyType, 'ec')
})

test('the leaf is signed by the public-good intermediate, and a tampered copy is not', () => {
  assert.ok(isSignedBy(leaf, intermediate.publicKey))
  const bad = Buffer.from(der)
  bad[bad.length - 10]! ^= 1
  assert.equal(isSignedBy(parseCertificate(bad), intermediate.publicKey), false)
})

test('embedded SCT: parsed, precert TBS rebuilt, verified against ctfe 2022', () => {
  const scts = embeddedSCTs(leaf)
  assert.equal(scts.length, 1)
  assert.equal(scts[0]!.hashAlgorithm, 4)
  assert.equal(scts[0]!.signatureAlgorithm, 3)
  const tbs = precertTbs(leaf)
  assert.ok(tbs.length < leaf.tbsDer.length)
  const ok = verifySCTs(leaf, intermediate, trust, 1)
  assert.equal(ok.length, 1)
  assert.equal(ok[0]!.logUrl, 'https://ctfe.sigstore.dev/2022')
})

test('SCT failures: tampered signature, untrusted log, missing list', () => {
  const scts = embeddedSCTs(leaf)
  const sigOffset = Buffer.from(der).indexOf(Buffer.from(scts[0]!.signature))
  const tampered = Buffer.from(der)
  tampered[sigOffset + 10]! ^= 1
  assert.equal(
    code(() => verifySCTs(parseCertificate(tampered), intermediate, trust, 1)),
    'SCT_INVALID'
  )
  const noCt = { ...trust, ctlogs: [], ctlogsById: new Map() }
  assert.equal(
    code(() => verifySCTs(leaf, intermediate, noCt, 1)),
    'SCT_INVALID'
  )
  assert.equal(
    code(() => verifySCTs(intermediate, intermediate, trust, 1)),
    'SCT_MISSING'
  )
  assert.deepEqual(verifySCTs(intermediate, intermediate, trust, 0), [])
})

test('chain: valid at the signing time, expired later, untrusted without the CA', () => {
  const path = verifyCertificateChain(der, trust, SIGNED_AT)
  assert.equal(path.path.length, 3)
  assert.equal(path.ca.uri, 'https://fulcio.sigstore.dev')
  assert.equal(
    code(() =>
      verifyCertificateChain(leaf, trust, new Date('2023-01-20T21:05:00Z'))
    ),
    'CERTIFICATE_EXPIRED_AT_SIGNING'
  )
  assert.equal(
    code(() =>
      verifyCertificateChain(leaf, trust, new Date('2023-01-20T20:40:00Z'))
    ),
    'CERTIFICATE_EXPIRED_AT_SIGNING'
  )
  const noCa = { ...trust, certificateAuthorities: [] }
  assert.equal(
    code(() => verifyCertificateChain(leaf, noCa, SIGNED_AT)),
    'CERTIFICATE_UNTRUSTED_CA'
  )
  const forged = Buffer.from(der)
  forged[forged.length - 10]! ^= 1
  assert.equal(
    code(() => verifyCertificateChain(forged, trust, SIGNED_AT)),
    'CERTIFICATE_UNTRUSTED_CA'
  )
  // A CA window that does not cover the time is not trusted then.
  const closed = {
    ...trust,
    certificateAuthorities: trust.certificateAuthorities.map(ca => ({
      ...ca,
      validFor: { start: 0, end: SIGNED_AT.getTime() - 1 }
    }))
  }
  assert.equal(
    code(() => verifyCertificateChain(leaf, closed, SIGNED_AT)),
    'CERTIFICATE_UNTRUSTED_CA'
  )
})

test('chain: a leaf without code-signing usage is rejected', () => {
  assert.equal(
    code(() =>
      verifyCertificateChain(leaf, trust, SIGNED_AT, {
        extKeyUsage: OID.EKU_TIME_STAMPING
      })
    ),
    'CERTIFICATE_EKU_INVALID'
  )
})

test('malformed certificates raise CERTIFICATE_INVALID', () => {
  const cases: Uint8Array[] = [
    new Uint8Array(),
    der.subarray(0, der.length - 1),
    Buffer.concat([der, Buffer.of(0)]),
    Buffer.from([0x31, 0x00]),
    Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]),
    (() => {
      const b = Buffer.from(der)
      b[0] = 0x31
      return b
    })()
  ]
  for (const c of cases) {
    assert.throws(
      () => parseCertificate(c),
      (e: unknown) =>
        e instanceof CertificateParseError && e.code === 'CERTIFICATE_INVALID'
    )
  }
})

test('precertTbs refuses a certificate without an SCT list', () => {
  assert.throws(() => precertTbs(intermediate), {
    name: 'Asn1Error',
    code: 'ASN1_INVALID',
    message: /no SCT list/
  })
})
