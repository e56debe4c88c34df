import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { HttpClient } from '../../../../src/http/index.ts'
import {
  EnvIdentityProvider,
  GitHubActionsIdentityProvider,
  StaticIdentityProvider,
  decodeJwtClaims
} from '../../../../src/sigstore/oidc/index.ts'
import { SigstoreServiceError } from '../../../../src/sigstore/errors.ts'
import {
  MemoryLogger,
  describeError,
  redact
} from '../../../../src/util/index.ts'
import {
  makeGitLabIdToken,
  startGitHubOidc,
  type GitHubOidc
} from '../../../support/oidc.ts'

const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 0,
  timeoutMs: 5000
})

function assertUnavailable(
  e: unknown,
  secrets: string[],
  remedy?: RegExp
): true {
  assert.ok(e instanceof SigstoreServiceError, String(e))
  assert.equal(e.code, 'IDENTITY_TOKEN_UNAVAILABLE')
  const text = describeError(e) + String(e.stack)
  for (const s of secrets)
    assert.ok(!text.includes(s), 'secret leaked into the error')
  if (remedy) assert.match(e.remedy ?? '', remedy)
  return true
}

describe('StaticIdentityProvider', () => {
  it('returns the token and registers it as a secret', async () => {
    const token = makeGitLabIdToken()
    assert.equal(await new StaticIdentityProvider(token).getToken(), token)
    assert.ok(!redact(`token=${token}`).includes(token))
  })

  it('rejects a non-JWT when built (before any network call)', () => {
    assert.throws(() => new StaticIdentityProvider('opaque-token'), {
      name: 'SigstoreServiceError',
      code: 'IDENTITY_TOKEN_INVALID'
    })
  })
})

describe('EnvIdentityProvider', () => {
  it('reads SIGSTORE_ID_TOKEN by default', async () => {
    const token = makeGitLabIdToken()
    const p = new EnvIdentityProvider(undefined, {
      env: { SIGSTORE_ID_TOKEN: `${token}\n` }
    })
    assert.equal(await p.getToken(), token)
    assert.equal(p.varName, 'SIGSTORE_ID_TOKEN')
  })

  it('missing or empty → IDENTITY_TOKEN_UNAVAILABLE with the caller’s remedy', async () => {
    const remedy =
      'Add to the job:\nid_tokens:\n  SIGSTORE_ID_TOKEN:\n    aud: sigstore'
    for (const env of [
      {},
      { SIGSTORE_ID_TOKEN: '' },
      { SIGSTORE_ID_TOKEN: '  ' }
    ]) {
      await assert.rejects(
        new EnvIdentityProvider('SIGSTORE_ID_TOKEN', {
          env,
          remedy
        }).getToken(),
        e => assertUnavailable(e, [], /id_tokens:/)
      )
    }
    await assert.rejects(
      new EnvIdentityProvider('MY_TOKEN', { env: {} }).getToken(),
      (e: Error) => /MY_TOKEN/.test(e.message)
    )
  })

  it('a malformed token is IDENTITY_TOKEN_INVALID and is not echoed', () => {
    const junk = 'aaaa.bbbb-not-base64-json.cccc'
    assert.throws(
      () => new EnvIdentityProvider('T', { env: { T: junk } }),
      (e: unknown) =>
        e instanceof SigstoreServiceError &&
        e.code === 'IDENTITY_TOKEN_INVALID' &&
        !describeError(e).includes(junk)
    )
  })
})

describe('GitHubActionsIdentityProvider', () => {
  let gh: GitHubOidc
  before(async () => {
    gh = await startGitHubOidc()
  })
  after(() => gh.stop())

  const env = () => ({
    ACTIONS_ID_TOKEN_REQUEST_URL: gh.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: gh.requestToken
  })

  it('requests a token for audience sigstore, keeping the existing query', async () => {
    const logger = new MemoryLogger()
    const token = await new GitHubActionsIdentityProvider({
      http,
      env: env(),
      logger
    }).getToken()
    assert.equal(gh.lastAudience, 'sigstore')
    const claims = decodeJwtClaims(token)
    assert.equal(claims['aud'], 'sigstore')
    assert.equal(claims['iss'], 'https://token.actions.githubusercontent.com')
    assert.ok(!logger.text().includes(token))
    assert.ok(!logger.text().includes(gh.requestToken))
    assert.ok(
      !redact(`x ${token} ${gh.requestToken}`).includes(gh.requestToken)
    )
  })

  it('honours a custom audience', async () => {
    await new GitHubActionsIdentityProvider({
      http,
      env: env(),
      audience: 'other'
    }).getToken()
    assert.equal(gh.lastAudience, 'other')
  })

  it('missing env → IDENTITY_TOKEN_UNAVAILABLE with the id-token: write remedy', async () => {
    for (const e of [
      {},
      { ACTIONS_ID_TOKEN_REQUEST_URL: gh.requestUrl },
      { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-abcdefgh' }
    ]) {
      await assert.rejects(
        new GitHubActionsIdentityProvider({ http, env: e }).getToken(),
        err => assertUnavailable(err, ['req-abcdefgh'], /id-token: write/)
      )
    }
  })

  it('a refused request token (401) → IDENTITY_TOKEN_UNAVAILABLE that does not blame a missing id-token permission', async () => {
    const wrong = 'req-wrong-token-12345'
    await assert.rejects(
      new GitHubActionsIdentityProvider({
        http,
        env: { ...env(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: wrong },
        remedy: 'custom remedy: permissions: id-token: write'
      }).getToken(),
      (e: unknown) => {
        assertUnavailable(e, [wrong])
        const err = e as SigstoreServiceError
        assert.match(
          err.message,
          /refused this job's request token \(HTTP 401: Bad credentials\)/
        )
        assert.doesNotMatch(err.message, /Fulcio/)
        assert.match(err.remedy ?? '', /does have the id-token permission/)
        assert.doesNotMatch(err.remedy ?? '', /custom remedy/)
        return true
      }
    )
  })

  it('an unreachable endpoint → IDENTITY_TOKEN_UNAVAILABLE', async () => {
    await assert.rejects(
      new GitHubActionsIdentityProvider({
        http,
        env: {
          ...env(),
          ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:1/token?x=1'
        }
      }).getToken(),
      e => assertUnavailable(e, [gh.requestToken])
    )
  })
})
