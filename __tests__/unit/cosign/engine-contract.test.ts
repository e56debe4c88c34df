// The verification use cases enforce their own contract, whatever adapter
// calls them: no identity policy and no key → INPUT_POLICY_REQUIRED before
// any registry is touched.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { verifyBlob, verifyImages } from '../../../src/cosign/index.ts'
import { publicGoodTrustMaterial } from '../../../src/sigstore/index.ts'
import { nullLogger } from '../../../src/util/index.ts'

const trust = publicGoodTrustMaterial()
const noRegistry = (): never => {
  throw new Error('no registry may be contacted')
}
const required = { name: 'InputError', code: 'INPUT_POLICY_REQUIRED' }

test('verifyImages refuses an empty or half policy without a key', async () => {
  for (const policy of [
    {},
    { identity: { exact: 'https://github.com/o/r' } },
    { issuer: { exact: 'https://token.actions.githubusercontent.com' } },
    { githubWorkflow: { repository: 'o/r' } }
  ]) {
    await assert.rejects(
      verifyImages(
        {
          images: [`ghcr.io/o/r@sha256:${'a'.repeat(64)}`],
          recursive: false,
          concurrency: 1,
          trust,
          policy,
          annotations: {}
        },
        { logger: nullLogger, registryFor: noRegistry }
      ),
      required,
      JSON.stringify(policy)
    )
  }
})

test('verifyBlob refuses an empty policy without a key; a key or a full policy passes the gate', async () => {
  await assert.rejects(
    verifyBlob({
      bundle: {},
      artifact: { bytes: new Uint8Array(1) },
      trust,
      policy: {}
    }),
    required
  )
  // Past the gate, the (empty) bundle is what fails, not the policy.
  for (const gate of [
    { policy: {}, publicKey: 'not checked yet' },
    {
      policy: {
        identity: { exact: 'x' },
        issuer: { exact: 'y' }
      }
    }
  ]) {
    await assert.rejects(
      verifyBlob({
        bundle: {},
        artifact: { bytes: new Uint8Array(1) },
        trust,
        ...gate
      }),
      { name: 'BundleError', code: 'BUNDLE_INVALID' }
    )
  }
})
