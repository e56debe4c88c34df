// Signing into a Rekor v2 (tile) log chosen by the signing config: the
// loopback stack's config lists Fulcio, its Rekor v2 log and the TSA. Images
// (bundle) and blobs are signed through the CLI as users run it; the bundle
// v0.3 carries the inclusion proof, the signed checkpoint and an RFC 3161
// timestamp, no SET; it verifies with our verifier AND @sigstore/verify. The
// legacy format alone cannot use Rekor v2 and says why.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  oracleCheckAll,
  readSigManifest,
  startWorld,
  writeKeyPair,
  cliEnv,
  registryFlags,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
let w: World

before(async () => {
  w = await startWorld({ mode: 'htpasswd' })
})
after(async () => {
  await w?.stop()
})

const reg = (): string[] => registryFlags(w)
const env = (): NodeJS.ProcessEnv => cliEnv(w)
const trustFlags = (): string[] => [
  '--signing-config',
  w.stack.signingConfigPath,
  '--trusted-root',
  w.stack.trustedRootPath
]

type BundleJson = {
  verificationMaterial: {
    tlogEntries: {
      kindVersion: { kind: string; version: string }
      integratedTime?: string
      inclusionPromise?: unknown
      inclusionProof: { checkpoint: { envelope: string } }
    }[]
    timestampVerificationData?: { rfc3161Timestamps: unknown[] }
  }
}

function assertV2Bundle(b: BundleJson, kind: string): void {
  const [e, more] = b.verificationMaterial.tlogEntries
  assert.ok(e && !more, 'one log entry')
  assert.deepEqual(e.kindVersion, { kind, version: '0.0.2' })
  assert.equal(e.inclusionPromise, undefined, 'Rekor v2 gives no SET')
  assert.ok(!e.integratedTime || e.integratedTime === '0')
  assert.ok(
    e.inclusionProof.checkpoint.envelope.startsWith(
      `${w.stack.rekorV2.origin}\n`
    )
  )
  assert.equal(
    b.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length,
    1,
    'an RFC 3161 timestamp stands in for the SET'
  )
}

test('sign an image with the Rekor v2 log the signing config lists: bundle v0.3 verified by Sigil and @sigstore/verify; "both" writes no .sig', async () => {
  const img = await freshImage(w)
  const before2 = w.stack.counts.rekor2
  const before1 = w.stack.counts.rekor
  const r = await execNode(
    CLI,
    ['sign', '--format', 'both', ...trustFlags(), ...reg(), img.ref],
    { env: env() }
  )
  assert.equal(r.code, 0, r.stderr)
  assert.match(
    r.stderr,
    /Service: Rekor http:\/\/127\.0\.0\.1:\d+ \(API v2, loopback\): signing config .*the highest API version listed/
  )
  assert.match(r.stderr, /only the Sigstore bundle is written/)
  assert.equal(w.stack.counts.rekor2, before2 + 1)
  assert.equal(w.stack.counts.rekor, before1, 'Rekor v1 was not asked')
  assert.equal(await readSigManifest(w, img.repo, img.digest), undefined)
  const checked = await oracleCheckAll(w, img.repo, img.digest)
  assert.deepEqual(
    checked.map(c => c.format),
    ['bundle']
  )
  // ... and Sigil's own verifier, as users run it.
  const v = await execNode(
    CLI,
    [
      'verify',
      '--trusted-root',
      w.stack.trustedRootPath,
      '--certificate-identity',
      GITHUB_SAN,
      '--certificate-oidc-issuer',
      GITHUB_ISSUER,
      ...reg(),
      img.ref
    ],
    { env: env() }
  )
  assert.equal(v.code, 0, v.stderr)
})

test('sign-blob (hashedrekord 0.0.2) and attest-blob (DSSE 0.0.2) into Rekor v2, keyless and with a key; verify-blob and @sigstore/verify agree', async () => {
  const blob = join(w.tmp, 'v2-blob.txt')
  writeFileSync(blob, 'signed into a tile log\n')
  const bundlePath = join(w.tmp, 'v2-blob.sigstore.json')
  const s = await execNode(
    CLI,
    ['sign-blob', ...trustFlags(), '--bundle', bundlePath, blob],
    { env: env() }
  )
  assert.equal(s.code, 0, s.stderr)
  const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as BundleJson
  assertV2Bundle(bundle, 'hashedrekord')
  const oracle = verifyWithSigstoreJs({
    trustedRoot: w.stack.trustedRoot,
    bundle,
    artifact: readFileSync(blob),
    san: GITHUB_SAN,
    issuer: GITHUB_ISSUER,
    timestampThreshold: 1
  })
  assert.equal(oracle.san, GITHUB_SAN)
  const v = await execNode(
    CLI,
    [
      'verify-blob',
      '--trusted-root',
      w.stack.trustedRootPath,
      '--bundle',
      bundlePath,
      '--certificate-identity',
      GITHUB_SAN,
      '--certificate-oidc-issuer',
      GITHUB_ISSUER,
      blob
    ],
    { env: env() }
  )
  assert.equal(v.code, 0, v.stderr)

  // A key pair: the entry names the public key, not a certificate.
  const password = 'v2-pass'
  const keys = writeKeyPair(w.tmp, password, 'v2key')
  const attPath = join(w.tmp, 'v2-att.sigstore.json')
  const predicate = join(w.tmp, 'v2-predicate.json')
  writeFileSync(predicate, JSON.stringify({ built: 'here' }))
  const a = await execNode(
    CLI,
    [
      'attest-blob',
      ...trustFlags(),
      '--key',
      keys.keyPath,
      '--type',
      'https://example.com/predicate/v1',
      '--predicate',
      predicate,
      '--bundle',
      attPath,
      blob
    ],
    { env: { ...env(), COSIGN_PASSWORD: password } }
  )
  assert.equal(a.code, 0, a.stderr)
  const att = JSON.parse(readFileSync(attPath, 'utf8')) as BundleJson
  assertV2Bundle(att, 'dsse')
  verifyWithSigstoreJs({
    trustedRoot: w.stack.trustedRoot,
    bundle: att,
    publicKeyPem: keys.pubPem,
    timestampThreshold: 1
  })
  const va = await execNode(
    CLI,
    [
      'verify-blob-attestation',
      '--trusted-root',
      w.stack.trustedRootPath,
      '--bundle',
      attPath,
      '--key',
      keys.pubPath,
      '--type',
      'https://example.com/predicate/v1',
      blob
    ],
    { env: env() }
  )
  assert.equal(va.code, 0, va.stderr)
})

test('format legacy with only Rekor v2 available fails, says why and how to choose; nothing is logged or pushed', async () => {
  const img = await freshImage(w)
  const before2 = w.stack.counts.rekor2
  const r = await execNode(
    CLI,
    ['sign', '--format', 'legacy', ...trustFlags(), ...reg(), img.ref],
    { env: env() }
  )
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /LEGACY_FORMAT_NEEDS_REKOR_V1/)
  assert.match(r.stderr, /signed entry timestamp/)
  assert.match(r.stderr, /"bundle" or "both"/)
  assert.match(r.stderr, /--rekor-url/)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  assert.equal(w.stack.counts.rekor2, before2)
  assert.equal(await readSigManifest(w, img.repo, img.digest), undefined)
})
