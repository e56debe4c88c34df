// No credential in any output, in any encoding. A proxy in front of an
// htpasswd registry echoes the Authorization header it receives (raw, the
// credential alone and its base64 decoded) in its error body; the CLI at
// debug level, the verify action with step debug on, and the GitLab entry
// point with debug on must print none of the secrets of the run: the
// password, `user:password` in base64 (std, unpadded, url) and, for a
// keyless sign, the OIDC token and its payload and signature segments.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  startHostileRegistry,
  type HostileRegistry
} from '../support/hostile-registry.ts'
import { githubClaims, makeJwt } from '../support/oidc.ts'
import { startRegistry, type TestRegistry } from '../support/registry.ts'
import { runAction } from '../support/run-action.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
const GITLAB = join(root, 'dist/gitlab/index.js')
const USER = 'sigil-robot'
const PASSWORD = 'Pa55>w0rd?echoed-by-the-proxy'

let reg: TestRegistry
let proxy: HostileRegistry
let tmp: string
let pubKey: string
before(async () => {
  reg = await startRegistry({
    mode: 'htpasswd',
    users: { username: USER, password: PASSWORD }
  })
  proxy = await startHostileRegistry(reg.url, {
    echoAuthorization: { path: /\/manifests\//, status: 403 }
  })
  tmp = mkdtempSync(join(tmpdir(), 'sigil-secrets-'))
  pubKey = join(tmp, 'cosign.pub')
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  writeFileSync(pubKey, publicKey.export({ type: 'spki', format: 'pem' }))
})
after(async () => {
  await proxy?.stop()
  await reg?.stop()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

const image = (): string => `${proxy.host}/demo/app@sha256:${'a'.repeat(64)}`

function credentialForms(): string[] {
  const pair = `${USER}:${PASSWORD}`
  const std = Buffer.from(pair).toString('base64')
  return [
    PASSWORD,
    pair,
    std,
    std.replace(/=+$/, ''),
    Buffer.from(pair).toString('base64url')
  ]
}

function assertClean(text: string, secrets: string[], where: string): void {
  for (const s of secrets)
    assert.ok(!text.includes(s), `${where} contains ${JSON.stringify(s)}`)
}

/** The runner consumes `::add-mask::` lines; they are not log output. */
const withoutMaskCommands = (s: string): string =>
  s
    .split('\n')
    .filter(l => !l.startsWith('::add-mask::'))
    .join('\n')

describe('a registry that echoes the Authorization header', () => {
  test('CLI verify --verbose: no credential form in stdout or stderr', async () => {
    const before = proxy.echoed.length
    const r = await execNode(
      CLI,
      [
        'verify',
        '--verbose',
        '--key',
        pubKey,
        '--registry-username',
        USER,
        '--registry-password',
        PASSWORD,
        image()
      ],
      { env: { PATH: process.env.PATH, HOME: tmp } }
    )
    assert.notEqual(r.code, 0)
    assert.ok(proxy.echoed.length > before, 'the proxy echoed the header')
    assert.match(r.stderr, /REGISTRY_DENIED/)
    assertClean(r.stdout + r.stderr, credentialForms(), 'CLI output')
  })

  test('CLI keyless sign --verbose: neither the OIDC token nor the credential', async () => {
    const token = makeJwt(githubClaims())
    const [, payload, signature] = token.split('.')
    const r = await execNode(
      CLI,
      [
        'sign',
        '--verbose',
        '--identity-token',
        token,
        '--fulcio-url',
        'http://127.0.0.1:9',
        '--rekor-url',
        'http://127.0.0.1:9',
        // Nothing listens there: a connection refused is retried until the
        // budget is spent.
        '--retry-budget',
        '2',
        '--registry-username',
        USER,
        '--registry-password',
        PASSWORD,
        image()
      ],
      { env: { PATH: process.env.PATH, HOME: tmp } }
    )
    assert.notEqual(r.code, 0)
    assertClean(
      r.stdout + r.stderr,
      [...credentialForms(), token, payload!, signature!],
      'CLI output'
    )
  })

  test('verify action with step debug: not in the log, outputs or summary', async () => {
    const before = proxy.echoed.length
    const r = await runAction(join(root, 'verify'), {
      inputs: {
        images: image(),
        key: pubKey,
        'registry-username': USER,
        'registry-password': PASSWORD
      },
      env: { ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1' }
    })
    assert.notEqual(r.exitCode, 0)
    assert.ok(proxy.echoed.length > before, 'the proxy echoed the header')
    assertClean(
      withoutMaskCommands(r.stdout) +
        r.stderr +
        r.summary +
        JSON.stringify(r.outputs),
      credentialForms(),
      'action output'
    )
    assert.ok(
      r.commands.some(
        c =>
          c.command === 'add-mask' &&
          c.message === Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
      ),
      'the base64 credential is handed to the runner masking too'
    )
  })

  test('GitLab verify with debug: not in the job log or sigil-result.json', async () => {
    const before = proxy.echoed.length
    const resultFile = join(tmp, 'sigil-result.json')
    const r = await execNode(GITLAB, ['verify'], {
      cwd: tmp,
      env: {
        PATH: process.env.PATH,
        HOME: tmp,
        SIGIL_DEBUG: 'true',
        SIGIL_IMAGES: image(),
        SIGIL_KEY: pubKey,
        SIGIL_REGISTRY_USERNAME: USER,
        SIGIL_REGISTRY_PASSWORD: PASSWORD,
        SIGIL_RESULT_FILE: resultFile,
        SIGIL_DOTENV: join(tmp, 'sigil.env')
      }
    })
    assert.notEqual(r.code, 0)
    assert.ok(proxy.echoed.length > before, 'the proxy echoed the header')
    let result = ''
    try {
      result = readFileSync(resultFile, 'utf8')
    } catch {
      // not written when the run fails before verifying
    }
    assertClean(
      r.stdout + r.stderr + result,
      credentialForms(),
      'GitLab output'
    )
  })
})
