// A bundle is bound to what it signs. For an image referrer the signed
// statement must name exactly this digest (a referrer copied onto another
// image is rejected), carry the required annotations, and be a DSSE envelope
// at all; for a blob, a DSSE statement must name the blob's digest.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { VerificationError } from '../../../src/sigstore/verify/index.ts'
import { verifyBundleCandidate } from '../../../src/cosign/verify-image.ts'
import type { BlobArtifact } from '../../../src/cosign/verify-blob.ts'
import { buildSignStatement } from '../../../src/cosign/payload.ts'
import {
  dsseKeyBundle,
  FakeLog,
  keyBundle,
  newSigner,
  trustWith
} from '../sigstore/verify/fake-log.ts'

const log = new FakeLog()
const trust = trustWith([log])
const signer = newSigner()
const digest = `sha256:${'cd'.repeat(32)}`
const otherDigest = `sha256:${'ef'.repeat(32)}`
const type = 'application/vnd.in-toto+json'

/** A key-based DSSE bundle (dsse 0.0.1 entry) over `statement`. */
const dsseBundle = (statement: Uint8Array): Record<string, unknown> =>
  dsseKeyBundle(log, signer, type, statement)

const target = (d: string) => ({
  descriptor: {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: d,
    size: 1
  },
  repository: 'registry.test/app'
})
const options = (annotations: Record<string, string> = {}) => ({
  trust,
  policy: {},
  publicKey: signer.pem,
  annotations
})

function rejects(fn: () => unknown, code: string, why?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e))
    assert.equal(e.code, code, e.message)
    if (why) assert.match(e.message, why)
    return true
  })
}

test('a bundle verifies for the digest its statement names, with its annotations', () => {
  const bundle = dsseBundle(buildSignStatement(digest, { env: 'prod' }))
  const r = verifyBundleCandidate(
    bundle,
    target(digest),
    options({ env: 'prod' })
  )
  assert.deepEqual(JSON.parse(JSON.stringify(r.claims)), {
    critical: {
      identity: { 'docker-reference': 'registry.test/app' },
      image: { 'docker-manifest-digest': digest },
      type: 'https://sigstore.dev/cosign/sign/v1'
    },
    optional: { env: 'prod' }
  })
})

test('a bundle referrer copied onto another image is rejected (CLAIM_DIGEST_MISMATCH)', () => {
  const bundle = dsseBundle(buildSignStatement(digest))
  rejects(
    () => verifyBundleCandidate(bundle, target(otherDigest), options()),
    'CLAIM_DIGEST_MISMATCH',
    new RegExp(`does not name ${otherDigest}`)
  )
})

test('a required annotation missing or different is CLAIM_ANNOTATION_MISMATCH', () => {
  const bundle = dsseBundle(buildSignStatement(digest, { env: 'dev' }))
  rejects(
    () =>
      verifyBundleCandidate(bundle, target(digest), options({ env: 'prod' })),
    'CLAIM_ANNOTATION_MISMATCH',
    /expected "prod", the signature has "dev"/
  )
  rejects(
    () => verifyBundleCandidate(bundle, target(digest), options({ team: 'x' })),
    'CLAIM_ANNOTATION_MISMATCH',
    /has none/
  )
})

test('a message-signature bundle is not an image signature (BUNDLE_NOT_DSSE)', () => {
  const { bundle } = keyBundle(log, signer, Buffer.from(digest))
  rejects(
    () => verifyBundleCandidate(bundle, target(digest), options()),
    'BUNDLE_NOT_DSSE'
  )
})

test('verify-blob: a DSSE bundle binds the blob only through its statement subjects', async () => {
  const { verifyBlob } = await import('../../../src/cosign/verify-blob.ts')
  const blob = Buffer.from('release.tar.gz contents')
  const hex = createHash('sha256').update(blob).digest('hex')
  const statement = (h: string) =>
    Buffer.from(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'release.tar.gz', digest: { sha256: h } }],
        predicateType: 'https://example.test/p',
        predicate: {}
      })
    )
  const o = { trust, policy: {}, publicKey: signer.pem }
  await verifyBlob({
    ...o,
    bundle: dsseBundle(statement(hex)),
    artifact: { bytes: blob }
  })
  await verifyBlob({
    ...o,
    bundle: dsseBundle(statement(hex)),
    artifact: { digest: { algorithm: 'sha256', hex } }
  })
  const other = 'ab'.repeat(32)
  const artifacts: BlobArtifact[] = [
    { bytes: Buffer.from('another blob') },
    { digest: { algorithm: 'sha256', hex: other } }
  ]
  for (const artifact of artifacts) {
    await assert.rejects(
      verifyBlob({ ...o, bundle: dsseBundle(statement(hex)), artifact }),
      (e: unknown) => {
        assert.ok(e instanceof VerificationError, String(e))
        assert.equal(e.code, 'ARTIFACT_DIGEST_MISMATCH')
        assert.match(e.message, /does not name the artifact/)
        return true
      }
    )
  }
})

test('verify-blob-attestation: a valid message-signature bundle is not an attestation (BUNDLE_NOT_DSSE)', async () => {
  const { verifyBlobAttestation } =
    await import('../../../src/cosign/verify-blob.ts')
  const blob = Buffer.from('release.tar.gz contents')
  const { bundle } = keyBundle(log, signer, blob)
  await assert.rejects(
    verifyBlobAttestation({
      trust,
      policy: {},
      publicKey: signer.pem,
      bundle,
      artifact: { bytes: blob }
    }),
    (e: unknown) => {
      assert.ok(e instanceof VerificationError, String(e))
      assert.equal(e.code, 'BUNDLE_NOT_DSSE')
      assert.match(e.message, /verify it with verify-blob/)
      return true
    }
  )
})
