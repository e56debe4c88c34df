import assert from 'node:assert/strict'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  canonicalHost,
  resolveCredentials,
  RegistryError
} from '../../../src/oci/index.ts'
import { MemoryLogger } from '../../../src/util/index.ts'

const root = mkdtempSync(join(tmpdir(), 'sigil-creds-'))
after(() => rmSync(root, { recursive: true, force: true }))

const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** A config dir holding `config` as config.json. */
function configDir(config: unknown): string {
  const dir = mkdtempSync(join(root, 'cfg-'))
  writeFileSync(
    join(dir, 'config.json'),
    typeof config === 'string' ? config : JSON.stringify(config)
  )
  return dir
}

// docker-credential-test: answers by the server address it reads on stdin.
const bin = join(root, 'bin')
mkdirSync(bin)
const helperLog = join(root, 'helper.log')
writeFileSync(
  join(bin, 'docker-credential-test'),
  `#!/bin/sh
[ "$1" = get ] || exit 3
read host
echo "$host" >> ${helperLog}
case "$host" in
  helper.example) echo '{"ServerURL":"helper.example","Username":"helper-user","Secret":"helper-pass"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-123"}' ;;
  https://index.docker.io/v1/) echo '{"Username":"hubuser","Secret":"hubpass"}' ;;
  fail.example) echo 'boom' >&2; exit 2 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`
)
chmodSync(join(bin, 'docker-credential-test'), 0o755)
const env = { PATH: `${bin}:/usr/bin:/bin` }

describe('resolveCredentials', () => {
  test('explicit credentials win over everything', async () => {
    const dir = configDir({
      auths: { 'ghcr.io': { auth: b64('cfg:cfg-pass') } }
    })
    const explicit = { username: 'me', password: 'explicit-pass' }
    assert.deepEqual(
      await resolveCredentials('ghcr.io', {
        explicit,
        dockerConfigDir: dir,
        env: { GITHUB_TOKEN: 'gh' }
      }),
      explicit
    )
  })

  test('auths: base64 user:password, keys with scheme and path', async () => {
    const dir = configDir({
      auths: {
        'https://registry.example:5000/v2/': { auth: b64('alice:pa:ss') },
        'https://index.docker.io/v1/': { auth: b64('hub:hubpw') }
      }
    })
    assert.deepEqual(
      await resolveCredentials('registry.example:5000', {
        dockerConfigDir: dir,
        env
      }),
      { username: 'alice', password: 'pa:ss' }
    )
    assert.deepEqual(
      await resolveCredentials('docker.io', { dockerConfigDir: dir, env }),
      { username: 'hub', password: 'hubpw' }
    )
    assert.equal(
      await resolveCredentials('registry.example', {
        dockerConfigDir: dir,
        env
      }),
      undefined,
      'port is part of the host'
    )
  })

  test('auths: identitytoken becomes an identity (refresh) token', async () => {
    const dir = configDir({
      auths: {
        'myacr.azurecr.io': {
          auth: b64('00000000-0000-0000-0000-000000000000:'),
          identitytoken: 'idtok-123'
        }
      }
    })
    assert.deepEqual(
      await resolveCredentials('myacr.azurecr.io', {
        dockerConfigDir: dir,
        env
      }),
      {
        identityToken: 'idtok-123',
        username: '00000000-0000-0000-0000-000000000000'
      }
    )
  })

  test('exact host matching: look-alike hosts never match', async () => {
    const dir = configDir({
      auths: { 'ghcr.io': { auth: b64('u:p') } },
      credHelpers: { 'helper.example': 'test' }
    })
    for (const host of [
      'ghcr.io.evil.com',
      'evil-ghcr.io',
      'ghcr.io:8443',
      'sub.ghcr.io'
    ]) {
      assert.equal(
        await resolveCredentials(host, { dockerConfigDir: dir, env }),
        undefined,
        host
      )
    }
    assert.equal(
      await resolveCredentials('helper.example.evil.com', {
        dockerConfigDir: dir,
        env
      }),
      undefined
    )
    assert.deepEqual(
      await resolveCredentials('GHCR.IO', { dockerConfigDir: dir, env }),
      { username: 'u', password: 'p' }
    )
  })

  test('credHelpers[host] runs docker-credential-<name> get with the host on stdin', async () => {
    const dir = configDir({
      credHelpers: { 'helper.example': 'test', 'token.example': 'test' },
      auths: { 'helper.example': { auth: b64('stale:stale') } }
    })
    assert.deepEqual(
      await resolveCredentials('helper.example', { dockerConfigDir: dir, env }),
      { username: 'helper-user', password: 'helper-pass' }
    )
    assert.deepEqual(
      await resolveCredentials('token.example', { dockerConfigDir: dir, env }),
      { identityToken: 'refresh-123' }
    )
    assert.match(readFileSync(helperLog, 'utf8'), /^helper\.example$/m)
  })

  test('credsStore applies to every host; Docker Hub is asked as https://index.docker.io/v1/', async () => {
    const dir = configDir({ credsStore: 'test' })
    assert.deepEqual(
      await resolveCredentials('index.docker.io', {
        dockerConfigDir: dir,
        env
      }),
      { username: 'hubuser', password: 'hubpass' }
    )
    assert.deepEqual(
      await resolveCredentials('helper.example', { dockerConfigDir: dir, env }),
      { username: 'helper-user', password: 'helper-pass' }
    )
  })

  test('a helper answering "not found" falls through to auths, then CI defaults', async () => {
    const dir = configDir({
      credsStore: 'test',
      auths: { 'other.example': { auth: b64('o:opw') } }
    })
    assert.deepEqual(
      await resolveCredentials('other.example', { dockerConfigDir: dir, env }),
      { username: 'o', password: 'opw' }
    )
    assert.deepEqual(
      await resolveCredentials('ghcr.io', {
        dockerConfigDir: dir,
        env: { ...env, GITHUB_TOKEN: 'ghs_x' }
      }),
      { username: 'token', password: 'ghs_x' }
    )
  })

  test('a failing helper fails closed; a missing one is skipped with a warning', async () => {
    const failing = configDir({ credHelpers: { 'fail.example': 'test' } })
    await assert.rejects(
      resolveCredentials('fail.example', { dockerConfigDir: failing, env }),
      (e: unknown) => {
        assert.ok(e instanceof RegistryError)
        assert.equal(e.code, 'REGISTRY_CREDENTIALS_INVALID')
        assert.match(
          e.message,
          /docker-credential-test failed for fail\.example \(exit 2\): boom/
        )
        return true
      }
    )
    const missing = configDir({
      credsStore: 'desktop',
      auths: { 'x.example': { auth: b64('x:y') } }
    })
    const logger = new MemoryLogger()
    assert.deepEqual(
      await resolveCredentials('x.example', {
        dockerConfigDir: missing,
        env,
        logger
      }),
      { username: 'x', password: 'y' }
    )
    assert.match(logger.text(), /docker-credential-desktop is not installed/)
    const evil = configDir({ credsStore: '../../bin/sh' })
    await assert.rejects(
      resolveCredentials('x.example', { dockerConfigDir: evil, env }),
      { code: 'REGISTRY_CREDENTIALS_INVALID' }
    )
  })

  test('malformed config.json fails closed; a missing one is fine', async () => {
    await assert.rejects(
      resolveCredentials('ghcr.io', {
        dockerConfigDir: configDir('{not json'),
        env
      }),
      { code: 'REGISTRY_CREDENTIALS_INVALID' }
    )
    assert.equal(
      await resolveCredentials('ghcr.io', {
        dockerConfigDir: join(root, 'nope'),
        env
      }),
      undefined
    )
  })

  test('DOCKER_CONFIG selects the directory', async () => {
    const dir = configDir({ auths: { 'ghcr.io': { auth: b64('fromenv:pw') } } })
    assert.deepEqual(
      await resolveCredentials('ghcr.io', {
        env: { ...env, DOCKER_CONFIG: dir }
      }),
      { username: 'fromenv', password: 'pw' }
    )
  })

  test('CI defaults: GITHUB_TOKEN for ghcr.io only; GitLab for CI_REGISTRY only', async () => {
    const none = join(root, 'empty')
    const gh = { GITHUB_TOKEN: 'ghs_abc', GITHUB_ACTOR: 'octocat' }
    assert.deepEqual(
      await resolveCredentials('ghcr.io', { dockerConfigDir: none, env: gh }),
      { username: 'octocat', password: 'ghs_abc' }
    )
    assert.equal(
      await resolveCredentials('docker.io', { dockerConfigDir: none, env: gh }),
      undefined
    )
    const gl = {
      CI_REGISTRY: 'registry.gitlab.example:5050',
      CI_REGISTRY_USER: 'gitlab-ci-token',
      CI_REGISTRY_PASSWORD: 'glcbt-x'
    }
    assert.deepEqual(
      await resolveCredentials('registry.gitlab.example:5050', {
        dockerConfigDir: none,
        env: gl
      }),
      { username: 'gitlab-ci-token', password: 'glcbt-x' }
    )
    assert.equal(
      await resolveCredentials('registry.gitlab.example', {
        dockerConfigDir: none,
        env: gl
      }),
      undefined
    )
    assert.equal(
      await resolveCredentials('ghcr.io', { dockerConfigDir: none, env: gl }),
      undefined
    )
  })

  test('canonicalHost', () => {
    assert.equal(
      canonicalHost('https://index.docker.io/v1/'),
      'index.docker.io'
    )
    assert.equal(canonicalHost('docker.io'), 'index.docker.io')
    assert.equal(
      canonicalHost('http://Reg.Example:5000/path'),
      'reg.example:5000'
    )
    assert.equal(canonicalHost('ghcr.io'), 'ghcr.io')
  })
})
