// cosign's online log lookup: a legacy .sig layer without its
// dev.sigstore.cosign/bundle annotation (older cosign, a mirror that strips
// annotations) is looked up in Rekor v1 by content, and the entry's SET and
// inclusion proof are verified against the trusted root. `--offline` turns
// the lookup off and the rejection says so. Against the loopback Rekor; the
// entry found is also judged by @sigstore/verify.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_SIGNATURE
} from '../../src/cosign/constants.ts'
import { HttpClient } from '../../src/http/index.ts'
import {
  RekorClient,
  buildHashedRekordEntry,
  toRekorV1Bundle
} from '../../src/sigstore/index.ts'
import { fromBase64, sha256Hex } from '../../src/util/index.ts'
import { execNode } from '../support/exec.ts'
import { canonicalJson } from '../support/rekor-v2.ts'
import { legacyLayerAsBundle } from '../support/legacy-bundle.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  readSigManifest,
  startWorld,
  tamperSigManifest,
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
const env = (): NodeJS.ProcessEnv =>
  cliEnv(w, { COSIGN_PASSWORD: 'lookup-pass' })
const keyless = (): string[] => [
  '--certificate-identity',
  GITHUB_SAN,
  '--certificate-oidc-issuer',
  GITHUB_ISSUER
]

/** Signs (legacy, logged in the loopback Rekor v1), then strips the Rekor
 * bundle annotation from every .sig layer, as some mirrors do. */
async function signAndStrip(extra: string[] = []) {
  const img = await freshImage(w)
  const s = await execNode(
    CLI,
    [
      'sign',
      '--format',
      'legacy',
      '--fulcio-url',
      w.stack.fulcioUrl,
      '--rekor-url',
      w.stack.rekorUrl,
      '--timestamp-server-url',
      w.stack.tsaTimestampUrl,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...extra,
      ...reg(),
      img.ref
    ],
    { env: env() }
  )
  assert.equal(s.code, 0, s.stderr)
  const original = (await readSigManifest(w, img.repo, img.digest))!
  await tamperSigManifest(w, img.repo, img.digest, m => {
    for (const l of m.layers) delete l.annotations?.[ANNOTATION_BUNDLE]
    return m
  })
  return { img, original }
}

const verify = (ref: string, flags: string[]) =>
  execNode(
    CLI,
    [
      'verify',
      '--trusted-root',
      w.stack.trustedRootPath,
      ...flags,
      ...reg(),
      ref
    ],
    { env: env() }
  )

test('a keyless .sig without its Rekor bundle is found in Rekor by content and verified (SET + proof); @sigstore/verify agrees with the entry', async () => {
  const { img, original } = await signAndStrip()
  const before = w.stack.counts.rekor
  const v = await verify(img.ref, [
    ...keyless(),
    '--rekor-url',
    w.stack.rekorUrl,
    '-d'
  ])
  assert.equal(v.code, 0, v.stderr)
  assert.match(v.stderr, /looking the signature up in Rekor at http:\/\/127/)
  assert.equal(w.stack.counts.rekor, before + 1, 'one lookup')

  // The same lookup, judged independently: the entry Rekor returns, as the
  // layer's bundle annotation, passes @sigstore/verify.
  const layer = original.layers[0]!
  const payload = await w.client.getBlob(img.repo, layer.digest)
  const a = layer.annotations!
  const [found, more] = await new RekorClient({
    baseUrl: w.stack.rekorUrl,
    http: new HttpClient({ userAgent: 'sigil-test' })
  }).findEntries(
    buildHashedRekordEntry({
      payloadSha256Hex: sha256Hex(payload),
      signature: fromBase64(a[ANNOTATION_SIGNATURE]!),
      verifierPem: a[ANNOTATION_CERTIFICATE]!
    })
  )
  assert.ok(found && !more)
  assert.ok(found.entry.inclusionPromise && found.entry.inclusionProof)
  verifyWithSigstoreJs({
    trustedRoot: w.stack.trustedRoot,
    bundle: legacyLayerAsBundle(
      {
        ...a,
        [ANNOTATION_BUNDLE]: JSON.stringify(toRekorV1Bundle(found.entry))
      },
      payload
    ),
    artifact: payload,
    san: GITHUB_SAN,
    issuer: GITHUB_ISSUER
  })
})

test('--offline: no lookup, and the rejection says why and how to fix it', async () => {
  const { img } = await signAndStrip()
  const before = w.stack.counts.rekor
  const v = await verify(img.ref, [
    ...keyless(),
    '--rekor-url',
    w.stack.rekorUrl,
    '--offline'
  ])
  assert.notEqual(v.code, 0)
  assert.equal(w.stack.counts.rekor, before, 'Rekor was not asked')
  assert.match(v.stderr, /TLOG_MISSING/)
  assert.match(v.stderr, /online lookup is off \(--offline\)/)
  assert.match(v.stderr, /Unset --offline/)
})

test('a key-pair signature is looked up with the given public key; one never logged is named as such', async () => {
  const keys = writeKeyPair(w.tmp, 'lookup-pass', 'lookup')
  const { img } = await signAndStrip(['--key', keys.keyPath])
  const ok = await verify(img.ref, [
    '--key',
    keys.pubPath,
    '--rekor-url',
    w.stack.rekorUrl
  ])
  assert.equal(ok.code, 0, ok.stderr)

  // Never logged: signed with --tlog-upload=false.
  const other = await freshImage(w)
  const s = await execNode(
    CLI,
    ['sign', '--key', keys.keyPath, '--tlog-upload=false', ...reg(), other.ref],
    { env: env() }
  )
  assert.equal(s.code, 0, s.stderr)
  const v = await verify(other.ref, [
    '--key',
    keys.pubPath,
    '--rekor-url',
    w.stack.rekorUrl
  ])
  assert.notEqual(v.code, 0)
  assert.match(v.stderr, /TLOG_MISSING/)
  assert.match(v.stderr, /has no entry for this signature/)
})

test('a Rekor that cannot be reached: the rejection names the lookup', async () => {
  const { img } = await signAndStrip()
  w.stack.failNext('rekor', 500, 20)
  try {
    const v = await verify(img.ref, [
      ...keyless(),
      '--rekor-url',
      w.stack.rekorUrl,
      '--retry-budget',
      '1'
    ])
    assert.notEqual(v.code, 0)
    assert.match(v.stderr, /REKOR_ENTRY_LOOKUP_FAILED|REKOR_UNREACHABLE/)
  } finally {
    w.stack.failNext('rekor', 500, 0)
  }
})

test('an entry Rekor returns with a forged SET or no inclusion proof is rejected (fail closed)', async () => {
  const { img, original } = await signAndStrip()
  const layer = original.layers[0]!
  const payload = await w.client.getBlob(img.repo, layer.digest)
  const proposed = buildHashedRekordEntry({
    payloadSha256Hex: sha256Hex(payload),
    signature: fromBase64(layer.annotations![ANNOTATION_SIGNATURE]!),
    verifierPem: layer.annotations![ANNOTATION_CERTIFICATE]!
  })
  // The loopback Rekor stores entries under their leaf hash, as Rekor does.
  const uuid = createHash('sha256')
    .update(Buffer.of(0))
    .update(canonicalJson(proposed))
    .digest('hex')
  const stored = w.stack.rekorEntries.get(uuid) as unknown as {
    verification: { signedEntryTimestamp: string; inclusionProof?: unknown }
  }
  assert.ok(stored, 'the signature is in the loopback Rekor')
  const good = structuredClone(stored.verification)
  try {
    const set = Buffer.from(good.signedEntryTimestamp, 'base64')
    set[set.length - 2]! ^= 1
    stored.verification.signedEntryTimestamp = set.toString('base64')
    const forged = await verify(img.ref, [
      ...keyless(),
      '--rekor-url',
      w.stack.rekorUrl
    ])
    assert.notEqual(forged.code, 0)
    assert.match(forged.stderr, /TLOG_SET_INVALID|signed entry timestamp/)

    stored.verification = { signedEntryTimestamp: good.signedEntryTimestamp }
    const noProof = await verify(img.ref, [
      ...keyless(),
      '--rekor-url',
      w.stack.rekorUrl
    ])
    assert.notEqual(noProof.code, 0)
    assert.match(noProof.stderr, /inclusion proof/)
  } finally {
    stored.verification = good
  }
})
