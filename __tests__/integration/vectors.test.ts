// Every vector in shared/vectors/index.json through the pure engine: bundles
// via parseBundle → toSignedEntity → verifySignedEntity, cosign legacy
// layers via verifyLegacySignature. `pass`/`fail` are scored exactly, and a
// failure must happen for the reason the vector's `why` names (error code);
// `either` runs and prints its verdict without scoring.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AppError } from '../../src/util/index.ts'
import {
  loadVectors,
  prepareVector,
  vectorsDir,
  vectorsSkipReason
} from '../support/vectors.ts'

// Why each failing vector must fail: the error code we expect.
const EXPECTED_CODE: Record<string, string> = {
  'python/bundle_v3_no_signed_time.txt.sigstore.json': 'TIMESTAMP_MISSING',
  'python/bundle_no_cert_v1.txt.sigstore': 'BUNDLE_INVALID',
  'python/bundle_no_log_entry.txt.sigstore': 'TLOG_MISSING',
  'python/bundle_cve_2022_36056.txt.sigstore': 'TLOG_BODY_MISMATCH',
  'python/bundle_no_checkpoint.txt.sigstore': 'BUNDLE_INVALID',
  'python/bundle_invalid_version.txt.sigstore': 'BUNDLE_UNSUPPORTED_VERSION',
  'java/bundle.v2.no.inclusion.sigstore': 'BUNDLE_INVALID',
  'java/bundle.v3.no.inclusion.sigstore': 'BUNDLE_INVALID',
  'java/bundle.v3_1.no.inclusion.sigstore': 'BUNDLE_INVALID',
  'java/bundle-with-mismatched-set.sigstore': 'TLOG_SET_INVALID',
  'java/bundle-with-wrong-tlog-entry.sigstore': 'TLOG_BODY_MISMATCH',
  'java/bundle-with-bad-checkpoint-signature.sigstore':
    'TLOG_CHECKPOINT_INVALID',
  'java/bundle-with-expired-cert.sigstore': 'CERTIFICATE_EXPIRED_AT_SIGNING',
  // The tampered signature no longer equals the logged one: caught by the
  // body check before the (also failing) signature check.
  'java/bundle.dsse.bad-signature.sigstore': 'TLOG_BODY_MISMATCH',
  'java/bundle.dsse.mismatched-envelope.sigstore': 'TLOG_BODY_MISMATCH',
  'java/bundle.dsse.mismatched-signature.sigstore': 'TLOG_BODY_MISMATCH',
  'java/bundle.dsse.rekor-v2.bad-signature.sigstore': 'TLOG_BODY_MISMATCH',
  'java/bundle.dsse.rekor-v2.mismatched-envelope.sigstore':
    'TLOG_BODY_MISMATCH',
  'java/bundle.dsse.rekor-v2.mismatched-signature.sigstore':
    'TLOG_BODY_MISMATCH',
  'go/dsse-2sigs.sigstore.json': 'BUNDLE_INVALID',
  'cosign-legacy/fulcio-rekor-valid#wrong-identity': 'POLICY_IDENTITY_MISMATCH',
  'cosign-legacy/fulcio-rekor-valid#wrong-issuer': 'POLICY_ISSUER_MISMATCH',
  'cosign-legacy/fulcio-rekor-valid#other-manifest': 'CLAIM_DIGEST_MISMATCH',
  'cosign-legacy/fulcio-rekor-valid#bad-set': 'TLOG_SET_INVALID',
  'cosign-legacy/fulcio-rekor-valid#no-set': 'TLOG_MISSING',
  'cosign-legacy/fulcio-rekor-valid#bad-signature': 'TLOG_BODY_MISMATCH',
  'cosign-legacy/fulcio-rekor-valid#no-certificate': 'CERTIFICATE_MISSING',
  'cosign-legacy/key-rekor-valid#wrong-key': 'TLOG_BODY_MISMATCH',
  'cosign-legacy/key-rekor-valid#other-manifest': 'CLAIM_DIGEST_MISMATCH'
}

const skip = vectorsSkipReason()

test('real-world verification vectors', { skip }, async t => {
  const dir = vectorsDir()!
  const vectors = loadVectors(dir)
  assert.ok(vectors.length > 0, 'index.json lists no vectors')
  let scored = 0
  let correct = 0
  const either: string[] = []
  const started = performance.now()
  for (const v of vectors) {
    await t.test(`${v.expect}: ${v.id}`, () => {
      let error: unknown
      try {
        prepareVector(dir, v).run()
      } catch (e) {
        error = e
      }
      const verdict = error === undefined ? 'pass' : 'fail'
      if (v.expect === 'either') {
        either.push(
          `${v.id} → ${verdict}${error instanceof AppError ? ` (${error.code})` : ''}`
        )
        return
      }
      scored++
      if (v.expect === 'pass') {
        if (error !== undefined) throw error
      } else {
        assert.ok(
          error !== undefined,
          `expected failure (${v.why}) but it verified`
        )
        assert.ok(
          error instanceof AppError,
          `expected a coded error, got ${String(error)}`
        )
        const want = EXPECTED_CODE[v.id]
        assert.ok(
          want,
          `no expected error code recorded for ${v.id} (${error.code})`
        )
        assert.equal(error.code, want, `${v.why}: ${error.message}`)
      }
      correct++
    })
  }
  for (const line of either) t.diagnostic(`either: ${line}`)
  const ms = Math.round(performance.now() - started)
  const summary = `vectors: ${correct}/${scored} scored correct, ${either.length} unscored (either), ${vectors.length} total, ${ms} ms`
  t.diagnostic(summary)
  console.log(summary)
  assert.equal(correct, scored)
})
