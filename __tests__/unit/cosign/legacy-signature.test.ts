import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, sign } from 'node:crypto'
import { ociDigest, toBase64 } from '../../../src/util/index.ts'
import {
  VerificationError,
  PolicyError
} from '../../../src/sigstore/verify/index.ts'
import {
  parseRekorBundleAnnotation,
  toLegacySignedEntity,
  verifyLegacySignature,
  type LegacySignatureLayer
} from '../../../src/cosign/legacy-signature.ts'
import { buildSimpleSigningPayload } from '../../../src/cosign/payload.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_SIGNATURE,
  SIMPLE_SIGNING_MEDIA_TYPE
} from '../../../src/cosign/constants.ts'
import {
  FakeLog,
  hashedRekordBody,
  newSigner,
  trustWith
} from '../sigstore/verify/fake-log.ts'

const imageDigest = `sha256:${'ab'.repeat(32)}`
const log = new FakeLog()
const trust = trustWith([log])
const signer = newSigner()

function signedLayer(
  payload: Uint8Array,
  o: { logged?: boolean } = {}
): LegacySignatureLayer {
  const sig = sign('sha256', payload, signer.privateKey)
  const annotations: Record<string, string> = {
    [ANNOTATION_SIGNATURE]: toBase64(sig)
  }
  if (o.logged !== false) {
    const body = hashedRekordBody(
      sig,
      createHash('sha256').update(payload).digest('hex'),
      signer.pem
    )
    const e = log.add(body, { kind: 'hashedrekord', version: '0.0.1' })
    annotations[ANNOTATION_BUNDLE] = JSON.stringify({
      SignedEntryTimestamp: e.inclusionPromise!.signedEntryTimestamp,
      Payload: {
        body: e.canonicalizedBody,
        integratedTime: Number(e.integratedTime),
        logIndex: Number(e.logIndex),
        logID: log.logId.toString('hex')
      }
    })
  }
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: ociDigest(payload),
    annotations
  }
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    assert.ok(
      e instanceof VerificationError || e instanceof PolicyError,
      String(e)
    )
    return e.code
  }
  assert.fail('expected an error')
}

const payload = buildSimpleSigningPayload('registry.test/app', imageDigest, {
  env: 'prod'
})

test('a key-based legacy layer with a Rekor bundle verifies and returns the claims', () => {
  const layer = signedLayer(payload)
  const r = verifyLegacySignature({
    layer,
    payload,
    expectedDigest: imageDigest,
    trust,
    publicKey: signer.pem,
    annotations: { env: 'prod' }
  })
  assert.equal(r.claims.critical.image['docker-manifest-digest'], imageDigest)
  assert.equal(r.tlogEntries[0]?.inclusionPromise, true)
  assert.equal(r.timestamps[0]?.source, 'tlog')
})

test('the Rekor bundle annotation becomes a promise-only entry', () => {
  const entity = toLegacySignedEntity(signedLayer(payload), payload)
  assert.equal(entity.requireInclusionPromise, true)
  assert.equal(entity.requireInclusionProof, false)
  assert.equal(entity.sanMatch, 'any')
  assert.equal(entity.tlogEntries[0]?.kind, 'hashedrekord')
  assert.equal(entity.tlogEntries[0]?.inclusionProof, undefined)
  assert.throws(
    () =>
      parseRekorBundleAnnotation(
        '{"SignedEntryTimestamp":"AA==","Payload":{}}'
      ),
    VerificationError
  )
  assert.throws(() => parseRekorBundleAnnotation('nope'), VerificationError)
})

test('claim and payload checks have distinct codes', () => {
  const layer = signedLayer(payload)
  const base = {
    layer,
    payload,
    expectedDigest: imageDigest,
    trust,
    publicKey: signer.pem
  }
  assert.equal(
    code(() =>
      verifyLegacySignature({
        ...base,
        expectedDigest: `sha256:${'cd'.repeat(32)}`
      })
    ),
    'CLAIM_DIGEST_MISMATCH'
  )
  assert.equal(
    code(() => verifyLegacySignature({ ...base, annotations: { env: 'dev' } })),
    'CLAIM_ANNOTATION_MISMATCH'
  )
  assert.equal(
    code(() =>
      verifyLegacySignature({
        ...base,
        layer: { ...layer, digest: `sha256:${'00'.repeat(32)}` }
      })
    ),
    'PAYLOAD_DIGEST_MISMATCH'
  )
  const other = buildSimpleSigningPayload(
    'registry.test/app',
    `sha256:${'ef'.repeat(32)}`
  )
  assert.equal(
    code(() =>
      verifyLegacySignature({
        ...base,
        payload: other,
        layer: { ...layer, digest: undefined }
      })
    ),
    'TLOG_BODY_MISMATCH'
  )
  const notSimple = Buffer.from('{"critical":{}}')
  const l2 = signedLayer(notSimple)
  assert.equal(
    code(() =>
      verifyLegacySignature({ ...base, layer: l2, payload: notSimple })
    ),
    'CLAIM_INVALID'
  )
})

test('missing certificate without a key, and missing Rekor bundle, fail distinctly', () => {
  const layer = signedLayer(payload)
  assert.equal(
    code(() =>
      verifyLegacySignature({
        layer,
        payload,
        expectedDigest: imageDigest,
        trust
      })
    ),
    'CERTIFICATE_MISSING'
  )
  const unlogged = signedLayer(payload, { logged: false })
  assert.equal(
    code(() =>
      verifyLegacySignature({
        layer: unlogged,
        payload,
        expectedDigest: imageDigest,
        trust,
        publicKey: signer.pem
      })
    ),
    'TLOG_MISSING'
  )
  // --insecure-ignore-tlog equivalent: key-based signatures then need no timestamp.
  const r = verifyLegacySignature({
    layer: unlogged,
    payload,
    expectedDigest: imageDigest,
    trust,
    publicKey: signer.pem,
    tlogThreshold: 0
  })
  assert.equal(r.tlogEntries.length, 0)
  const noSig: LegacySignatureLayer = { ...layer, annotations: {} }
  assert.equal(
    code(() =>
      verifyLegacySignature({
        layer: noSig,
        payload,
        expectedDigest: imageDigest,
        trust,
        publicKey: signer.pem
      })
    ),
    'BUNDLE_INVALID'
  )
})

test('a forged signature whose entry matches fails SIGNATURE_INVALID', () => {
  const bogus = Buffer.from(payload)
  const layer = signedLayer(Buffer.from('something else'))
  // Log an entry that matches the forged pair (signature over other bytes, digest of payload).
  const sig = Buffer.from(layer.annotations![ANNOTATION_SIGNATURE]!, 'base64')
  const body = hashedRekordBody(
    sig,
    createHash('sha256').update(bogus).digest('hex'),
    signer.pem
  )
  const e = log.add(body, { kind: 'hashedrekord', version: '0.0.1' })
  const forged: LegacySignatureLayer = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    annotations: {
      [ANNOTATION_SIGNATURE]: toBase64(sig),
      [ANNOTATION_BUNDLE]: JSON.stringify({
        SignedEntryTimestamp: e.inclusionPromise!.signedEntryTimestamp,
        Payload: {
          body: e.canonicalizedBody,
          integratedTime: Number(e.integratedTime),
          logIndex: Number(e.logIndex),
          logID: log.logId.toString('hex')
        }
      })
    }
  }
  assert.equal(
    code(() =>
      verifyLegacySignature({
        layer: forged,
        payload: bogus,
        expectedDigest: imageDigest,
        trust,
        publicKey: signer.pem
      })
    ),
    'SIGNATURE_INVALID'
  )
})

test('a missing certificate or Rekor bundle names the annotation that is missing', () => {
  const expect = (fn: () => unknown, c: string, annotation: string) =>
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof VerificationError, String(e))
      assert.equal(e.code, c)
      assert.ok(e.message.includes(annotation), e.message)
      return true
    })
  const base = { payload, expectedDigest: imageDigest, trust }
  expect(
    () => verifyLegacySignature({ ...base, layer: signedLayer(payload) }),
    'CERTIFICATE_MISSING',
    'dev.sigstore.cosign/certificate'
  )
  expect(
    () =>
      verifyLegacySignature({
        ...base,
        layer: signedLayer(payload, { logged: false }),
        publicKey: signer.pem
      }),
    'TLOG_MISSING',
    ANNOTATION_BUNDLE
  )
})
