import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BundleError,
  bundleVersion,
  parseBundle
} from '../../../../src/sigstore/bundle/index.ts'

const entry = () => ({
  logIndex: '10',
  logId: { keyId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' },
  kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
  integratedTime: '1700000000',
  inclusionPromise: { signedEntryTimestamp: 'MEUCIQ==' },
  inclusionProof: {
    logIndex: '3',
    rootHash: 'AAAA',
    treeSize: '4',
    hashes: ['AAAA'],
    checkpoint: { envelope: 'x\n1\nAAAA\n\n— x AAAAAAA=\n' }
  },
  canonicalizedBody: 'e30='
})

const valid = (): Record<string, any> => ({
  mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  verificationMaterial: {
    certificate: { rawBytes: 'MIIB' },
    tlogEntries: [entry()]
  },
  messageSignature: {
    messageDigest: { algorithm: 'SHA2_256', digest: 'AAAA' },
    signature: 'MEUC'
  }
})

test('accepts v0.1, v0.2, v0.3 media types and normalises int64 and nulls', () => {
  assert.equal(
    bundleVersion('application/vnd.dev.sigstore.bundle+json;version=0.1'),
    '0.1'
  )
  assert.equal(
    bundleVersion('application/vnd.dev.sigstore.bundle+json;version=0.3'),
    '0.3'
  )
  const b = valid()
  b['verificationMaterial'].tlogEntries[0].logIndex = 10
  b['verificationMaterial'].timestampVerificationData = null
  const parsed = parseBundle(b)
  assert.equal(parsed.verificationMaterial.tlogEntries?.[0]?.logIndex, '10')
  assert.equal(parsed.verificationMaterial.timestampVerificationData, undefined)
  const v1 = valid()
  v1['mediaType'] = 'application/vnd.dev.sigstore.bundle+json;version=0.1'
  delete v1['verificationMaterial'].tlogEntries[0].inclusionProof
  v1['verificationMaterial'].x509CertificateChain = {
    certificates: [{ rawBytes: 'MIIB' }]
  }
  delete v1['verificationMaterial'].certificate
  parseBundle(v1)
})

test('structural defects are BUNDLE_INVALID / BUNDLE_UNSUPPORTED_VERSION', () => {
  const cases: [string, string, (b: Record<string, any>) => unknown][] = [
    ['not an object', 'BUNDLE_INVALID', () => []],
    [
      'unknown media type',
      'BUNDLE_UNSUPPORTED_VERSION',
      b => (
        (b['mediaType'] = 'application/vnd.dev.sigstore.bundle.v0.4+json'),
        b
      )
    ],
    ['no media type', 'BUNDLE_INVALID', b => (delete b['mediaType'], b)],
    [
      'two key materials',
      'BUNDLE_INVALID',
      b => ((b['verificationMaterial'].publicKey = {}), b)
    ],
    [
      'no key material',
      'BUNDLE_INVALID',
      b => (delete b['verificationMaterial'].certificate, b)
    ],
    [
      'chain in v0.3',
      'BUNDLE_INVALID',
      b => {
        delete b['verificationMaterial'].certificate
        b['verificationMaterial'].x509CertificateChain = {
          certificates: [{ rawBytes: 'MIIB' }]
        }
        return b
      }
    ],
    [
      'empty chain',
      'BUNDLE_INVALID',
      b => {
        b['mediaType'] = 'application/vnd.dev.sigstore.bundle+json;version=0.2'
        delete b['verificationMaterial'].certificate
        b['verificationMaterial'].x509CertificateChain = { certificates: [] }
        return b
      }
    ],
    ['both contents', 'BUNDLE_INVALID', b => ((b['dsseEnvelope'] = {}), b)],
    ['no content', 'BUNDLE_INVALID', b => (delete b['messageSignature'], b)],
    [
      'no digest',
      'BUNDLE_INVALID',
      b => (delete b['messageSignature'].messageDigest, b)
    ],
    [
      'md5 digest',
      'BUNDLE_INVALID',
      b => ((b['messageSignature'].messageDigest.algorithm = 'MD5'), b)
    ],
    [
      'bad base64',
      'BUNDLE_INVALID',
      b => ((b['messageSignature'].signature = 'not base64!'), b)
    ],
    [
      'empty signature',
      'BUNDLE_INVALID',
      b => ((b['messageSignature'].signature = ''), b)
    ],
    [
      'negative index',
      'BUNDLE_INVALID',
      b => ((b['verificationMaterial'].tlogEntries[0].logIndex = '-1'), b)
    ],
    [
      'float index',
      'BUNDLE_INVALID',
      b => ((b['verificationMaterial'].tlogEntries[0].logIndex = 1.5), b)
    ],
    [
      'no proof in v0.3',
      'BUNDLE_INVALID',
      b => (delete b['verificationMaterial'].tlogEntries[0].inclusionProof, b)
    ],
    [
      'no checkpoint in v0.3',
      'BUNDLE_INVALID',
      b => (
        delete b['verificationMaterial'].tlogEntries[0].inclusionProof
          .checkpoint,
        b
      )
    ],
    [
      'no promise in v0.1',
      'BUNDLE_INVALID',
      b => {
        b['mediaType'] = 'application/vnd.dev.sigstore.bundle+json;version=0.1'
        delete b['verificationMaterial'].tlogEntries[0].inclusionPromise
        return b
      }
    ],
    [
      'no kindVersion',
      'BUNDLE_INVALID',
      b => (delete b['verificationMaterial'].tlogEntries[0].kindVersion, b)
    ],
    [
      'tlogEntries object',
      'BUNDLE_INVALID',
      b => ((b['verificationMaterial'].tlogEntries = {}), b)
    ],
    [
      'two DSSE signatures',
      'BUNDLE_INVALID',
      b => {
        delete b['messageSignature']
        b['dsseEnvelope'] = {
          payload: 'e30=',
          payloadType: 'application/vnd.in-toto+json',
          signatures: [{ sig: 'AA==' }, { sig: 'AA==' }]
        }
        return b
      }
    ],
    [
      'no DSSE signature',
      'BUNDLE_INVALID',
      b => {
        delete b['messageSignature']
        b['dsseEnvelope'] = {
          payload: 'e30=',
          payloadType: 'x',
          signatures: []
        }
        return b
      }
    ],
    [
      'timestamp not base64',
      'BUNDLE_INVALID',
      b => {
        b['verificationMaterial'].timestampVerificationData = {
          rfc3161Timestamps: [{ signedTimestamp: '@@' }]
        }
        return b
      }
    ]
  ]
  for (const [name, code, edit] of cases) {
    assert.throws(
      () => parseBundle(edit(valid())),
      (e: unknown) => e instanceof BundleError && e.code === code,
      name
    )
  }
})
