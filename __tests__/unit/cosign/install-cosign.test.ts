// The pure parts of install-cosign: which versions, which asset for which
// runner, and reading a sha256sum-format checksums file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  COSIGN_RELEASE_IDENTITY,
  COSIGN_RELEASE_ISSUER,
  checksumOf,
  cosignAssetName,
  cosignExecutableName,
  parseCosignVersion
} from '../../../src/cosign/install-cosign.ts'
import { InputError } from '../../../src/util/index.ts'

test("cosign's release signer (cosign-installer's verify-blob flags)", () => {
  assert.equal(
    COSIGN_RELEASE_IDENTITY,
    'keyless@projectsigstore.iam.gserviceaccount.com'
  )
  assert.equal(COSIGN_RELEASE_ISSUER, 'https://accounts.google.com')
})

test('versions: v3.0.1 and later, with or without v; others are INPUT_COSIGN_VERSION', () => {
  assert.equal(parseCosignVersion('3.0.6'), 'v3.0.6')
  assert.equal(parseCosignVersion(' v3.0.1 '), 'v3.0.1')
  assert.equal(parseCosignVersion('v3.1.0-rc.1'), 'v3.1.0-rc.1')
  assert.equal(parseCosignVersion('v4.0.0'), 'v4.0.0')
  for (const bad of [
    'v3.0.0',
    'v2.6.1',
    'v1.13.6',
    'latest',
    'v3',
    '',
    '3.0.x',
    '../v3.0.6'
  ])
    assert.throws(
      () => parseCosignVersion(bad),
      (e: unknown) =>
        e instanceof InputError && e.code === 'INPUT_COSIGN_VERSION',
      bad
    )
})

test('assets: goreleaser binary names per OS/arch; unsupported is INPUT_COSIGN_PLATFORM', () => {
  assert.equal(cosignAssetName('linux', 'x64'), 'cosign-linux-amd64')
  assert.equal(cosignAssetName('linux', 'arm64'), 'cosign-linux-arm64')
  assert.equal(cosignAssetName('linux', 'arm'), 'cosign-linux-arm')
  assert.equal(cosignAssetName('linux', 'ppc64'), 'cosign-linux-ppc64le')
  assert.equal(cosignAssetName('linux', 's390x'), 'cosign-linux-s390x')
  assert.equal(cosignAssetName('linux', 'riscv64'), 'cosign-linux-riscv64')
  assert.equal(cosignAssetName('darwin', 'arm64'), 'cosign-darwin-arm64')
  assert.equal(cosignAssetName('darwin', 'x64'), 'cosign-darwin-amd64')
  assert.equal(cosignAssetName('win32', 'x64'), 'cosign-windows-amd64.exe')
  assert.equal(cosignExecutableName('win32'), 'cosign.exe')
  assert.equal(cosignExecutableName('linux'), 'cosign')
  for (const [p, a] of [
    ['win32', 'arm64'],
    ['darwin', 's390x'],
    ['freebsd', 'x64'],
    ['linux', 'ia32']
  ] as const)
    assert.throws(
      () => cosignAssetName(p, a),
      (e: unknown) =>
        e instanceof InputError && e.code === 'INPUT_COSIGN_PLATFORM',
      `${p}/${a}`
    )
})

test('checksums: sha256sum lines, exact file name, binary-mode star', () => {
  const a = 'a'.repeat(64)
  const b = 'B'.repeat(64)
  const text = [
    `${a}  cosign-linux-amd64.sigstore.json`,
    `${b} *cosign-linux-amd64`,
    `${'c'.repeat(64)}  cosign-linux-amd64-kms.sigstore.json`,
    'garbage',
    ''
  ].join('\r\n')
  assert.equal(checksumOf(text, 'cosign-linux-amd64'), 'b'.repeat(64))
  assert.equal(checksumOf(text, 'cosign-linux-arm64'), undefined)
  assert.equal(
    checksumOf(`${'d'.repeat(63)}  cosign-linux-arm64`, 'cosign-linux-arm64'),
    undefined
  )
})
