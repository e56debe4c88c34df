// Explicit registry credentials are bound to one registry host. Two
// htpasswd registries with different users, each behind a recording proxy:
// the explicit credentials go to the host they name, the other registry gets
// only its docker config credentials, and a run spanning both without
// `--registry` is refused before any request.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpClient } from '../../src/http/index.ts'
import { RegistryClient } from '../../src/oci/index.ts'
import { execNode } from '../support/exec.ts'
import {
  startHostileRegistry,
  type HostileRegistry
} from '../support/hostile-registry.ts'
import {
  pushTestImage,
  startRegistry,
  type TestRegistry
} from '../support/registry.ts'

const CLI = join(import.meta.dirname, '../../dist/cli/index.js')
const A = { username: 'alice-a', password: 'password-of-registry-A' }
const B = { username: 'bob-b', password: 'password-of-registry-B' }
const basic = (u: { username: string; password: string }): string =>
  `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`

let regA: TestRegistry
let regB: TestRegistry
let proxyA: HostileRegistry
let proxyB: HostileRegistry
let home: string
let pubKey: string
let imageA: string
let imageB: string
before(async () => {
  ;[regA, regB] = await Promise.all([
    startRegistry({ mode: 'htpasswd', users: A }),
    startRegistry({ mode: 'htpasswd', users: B })
  ])
  ;[proxyA, proxyB] = await Promise.all([
    startHostileRegistry(regA.url),
    startHostileRegistry(regB.url)
  ])
  const http = new HttpClient({ userAgent: 'sigil-test-admin' })
  const a = await pushTestImage(
    new RegistryClient(regA.host, { http, credentials: A }),
    'team/app',
    'v1',
    'on A'
  )
  const b = await pushTestImage(
    new RegistryClient(regB.host, { http, credentials: B }),
    'team/app',
    'v1',
    'on B'
  )
  imageA = `${proxyA.host}/team/app@${a.digest}`
  imageB = `${proxyB.host}/team/app@${b.digest}`
  home = mkdtempSync(join(tmpdir(), 'sigil-creds-'))
  mkdirSync(join(home, '.docker'))
  // docker login for B only.
  writeFileSync(
    join(home, '.docker/config.json'),
    JSON.stringify({
      auths: {
        [proxyB.host]: {
          auth: Buffer.from(`${B.username}:${B.password}`).toString('base64')
        }
      }
    })
  )
  pubKey = join(home, 'cosign.pub')
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  writeFileSync(pubKey, publicKey.export({ type: 'spki', format: 'pem' }))
})
after(async () => {
  await Promise.all([proxyA?.stop(), proxyB?.stop()])
  await Promise.all([regA?.stop(), regB?.stop()])
  if (home) rmSync(home, { recursive: true, force: true })
})

const verify = (extra: string[]) =>
  execNode(
    CLI,
    [
      'verify',
      '--key',
      pubKey,
      '--registry-username',
      A.username,
      '--registry-password',
      A.password,
      ...extra,
      imageA,
      imageB
    ],
    { env: { PATH: process.env.PATH, HOME: home } }
  )

describe('explicit registry credentials', () => {
  test('go only to the named host; the other registry sees only its docker config credentials', async () => {
    const r = await verify(['--registry', proxyA.host])
    // Both images were read (neither is signed): no auth failure anywhere.
    assert.equal(r.code, 10, r.stderr)
    assert.match(r.stderr, /NO_SIGNATURES_FOUND/)
    assert.doesNotMatch(r.stderr, /REGISTRY_(UNAUTHORIZED|DENIED)/)
    assert.ok(proxyA.authorizations.length > 0)
    assert.ok(proxyB.authorizations.length > 0)
    assert.deepEqual([...new Set(proxyA.authorizations)], [basic(A)])
    assert.deepEqual([...new Set(proxyB.authorizations)], [basic(B)])
  })

  test('a run spanning two registries without --registry is refused before any request', async () => {
    const seenA = proxyA.seen.length
    const seenB = proxyB.seen.length
    const r = await verify([])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /INPUT_REGISTRY_AMBIGUOUS/)
    assert.match(r.stderr, /--registry/)
    assert.equal(proxyA.seen.length, seenA)
    assert.equal(proxyB.seen.length, seenB)
  })
})
