// Signing with the services a signing_config.v0.2.json names (the loopback
// Fulcio, Rekor v1 and TSA; for legacy signatures a Rekor v2 log listed
// beside them is skipped with a note, as they need a SET), through the CLI
// as users run it; what is written is checked by @sigstore/verify. Legacy
// signatures with a config listing only Rekor v2 fail and say why. Signing
// into Rekor v2 itself: rekor-v2.test.ts.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  freshImage,
  oracleCheckAll,
  startWorld,
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

const service = (url: string, v: number) => ({
  url,
  majorApiVersion: v,
  validFor: { start: '2020-01-01T00:00:00Z' },
  operator: 'loopback'
})

function writeConfig(name: string, rekor: object[]): string {
  const path = join(w.tmp, name)
  writeFileSync(
    path,
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
      caUrls: [service(w.stack.fulcioUrl, 1)],
      oidcUrls: [service('https://oauth2.example', 1)],
      rekorTlogUrls: rekor,
      rekorTlogConfig: { selector: 'ANY' },
      tsaUrls: [service(w.stack.tsaTimestampUrl, 1)],
      tsaConfig: { selector: 'ANY' }
    })
  )
  return path
}

const reg = (): string[] => registryFlags(w)
const env = (): NodeJS.ProcessEnv => cliEnv(w)

test('legacy signatures with the services of a signing config: Fulcio, Rekor v1 (not v2), the TSA; verified by @sigstore/verify', async () => {
  const config = writeConfig('signing_config.json', [
    { ...service('http://127.0.0.1:9', 2), operator: 'v2-log' },
    service(w.stack.rekorUrl, 1)
  ])
  const img = await freshImage(w)
  const tsaBefore = w.stack.counts.tsa
  const r = await execNode(
    CLI,
    [
      'sign',
      '--format',
      'legacy',
      '--signing-config',
      config,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...reg(),
      img.ref
    ],
    { env: env() }
  )
  assert.equal(r.code, 0, r.stderr)
  assert.ok(
    r.stderr.includes(
      `Service: Fulcio ${w.stack.fulcioUrl} (API v1, loopback): signing config (${config})`
    ),
    r.stderr
  )
  assert.match(
    r.stderr,
    /Service: Rekor http:\/\/127\.0\.0\.1:\d+ \(API v1, loopback\): signing config .*selector ANY; not http:\/\/127\.0\.0\.1:9 \(Rekor v2 gives no signed entry timestamp, which format "legacy" needs\)/
  )
  assert.ok(
    r.stderr.includes(`Service: TSA ${w.stack.tsaTimestampUrl}`),
    r.stderr
  )
  assert.ok(
    w.stack.counts.tsa > tsaBefore,
    'the TSA of the signing config was asked'
  )
  const checked = await oracleCheckAll(w, img.repo, img.digest)
  assert.deepEqual(
    checked.map(c => c.format),
    ['legacy']
  )
})

test('a signing config with only Rekor v2 logs: legacy signing explains and names format and rekor-url', async () => {
  const config = writeConfig('v2-only.json', [service('http://127.0.0.1:9', 2)])
  const img = await freshImage(w)
  const r = await execNode(
    CLI,
    [
      'sign',
      '--signing-config',
      config,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...reg(),
      img.ref
    ],
    { env: env() }
  )
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /LEGACY_FORMAT_NEEDS_REKOR_V1/)
  assert.match(r.stderr, /--format/)
  assert.match(r.stderr, /--rekor-url/)
  // an explicit Rekor v1 URL overrides it
  const ok = await execNode(
    CLI,
    [
      'sign',
      '--signing-config',
      config,
      '--rekor-url',
      w.stack.rekorUrl,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...reg(),
      img.ref
    ],
    { env: env() }
  )
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stderr, /Service: Rekor http:\/\/127\.0\.0\.1:\d+: rekor-url/)
})
