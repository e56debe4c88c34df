// One exit code table for every entry point: each row's error codes map to
// its exit code, and nothing else does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  EXIT,
  EXIT_CODES,
  exitCodeFor
} from '../../../src/cosign/exit-codes.ts'

const examples: Record<string, string> = {
  'INPUT_*': 'INPUT_INVALID_URL',
  'IDENTITY_TOKEN_*': 'IDENTITY_TOKEN_UNAVAILABLE',
  'REGISTRY_*': 'REGISTRY_DENIED',
  'FULCIO_*': 'FULCIO_UNREACHABLE',
  'REKOR_*': 'REKOR_UNREACHABLE',
  'TSA_*': 'TSA_INVALID_RESPONSE',
  'KMS_*': 'KMS_PERMISSION_DENIED'
}

for (const row of EXIT_CODES) {
  test(`exit ${row.exit}: ${row.meaning}`, () => {
    for (const e of row.errors)
      assert.equal(exitCodeFor(examples[e] ?? e), row.exit, e)
    if (row.exit === EXIT.FAILURE) {
      assert.equal(exitCodeFor('SOMETHING_ELSE'), EXIT.FAILURE)
      assert.equal(exitCodeFor(undefined), EXIT.FAILURE)
      // A policy mismatch alone is not a code adapters exit with: verify and
      // verify-blob wrap it in NO_MATCHING_SIGNATURES (12).
      assert.equal(exitCodeFor('POLICY_IDENTITY_MISMATCH'), EXIT.FAILURE)
    }
  })
}

test('exit codes are distinct and the wrong key password has its own', () => {
  const codes = EXIT_CODES.map(r => r.exit)
  assert.equal(new Set(codes).size, codes.length)
  assert.deepEqual(
    Object.values(EXIT).sort((a, b) => a - b),
    [...codes].sort((a, b) => a - b)
  )
  assert.equal(exitCodeFor('KEY_DECRYPTION_FAILED'), 6)
  assert.notEqual(exitCodeFor('KEY_DECRYPTION_FAILED'), EXIT.FAILURE)
})
