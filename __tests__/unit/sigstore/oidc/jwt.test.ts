import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  EnvIdentityProvider,
  StaticIdentityProvider,
  challengeClaim,
  checkTokenClaims,
  decodeJwtClaims,
  inspectToken
} from '../../../../src/sigstore/oidc/index.ts'
import { SigstoreServiceError } from '../../../../src/sigstore/errors.ts'
import {
  githubClaims,
  makeGitLabIdToken,
  makeJwt
} from '../../../support/oidc.ts'

const unsigned = (claims: object) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`

describe('decodeJwtClaims', () => {
  it('returns the payload claims without verifying', () => {
    assert.equal(decodeJwtClaims(makeJwt({ sub: 'x', n: 1 }))['n'], 1)
    assert.equal(decodeJwtClaims(unsigned({ sub: 'y' }))['sub'], 'y')
  })

  it('rejects non-JWTs with IDENTITY_TOKEN_INVALID and never echoes the token', () => {
    const secretish = 'abc.def'
    for (const t of [
      '',
      secretish,
      'a.b.c.d.e',
      'a.!!!.c',
      `x.${Buffer.from('[1]').toString('base64url')}.y`,
      `x.${Buffer.from('not json').toString('base64url')}.y`
    ]) {
      assert.throws(
        () => decodeJwtClaims(t),
        (e: unknown) =>
          e instanceof SigstoreServiceError &&
          e.code === 'IDENTITY_TOKEN_INVALID' &&
          (t === '' || !e.message.includes(t))
      )
    }
  })
})

describe('challengeClaim', () => {
  it('uses sub for CI tokens', () => {
    assert.equal(
      challengeClaim(githubClaims()),
      'repo:acme/app:ref:refs/heads/main'
    )
    assert.equal(
      challengeClaim(decodeJwtClaims(makeGitLabIdToken())),
      'project_path:group/project:ref_type:branch:ref:main'
    )
  })

  it('uses a verified email in preference to sub', () => {
    assert.equal(
      challengeClaim({
        sub: '123',
        email: 'a@example.com',
        email_verified: true
      }),
      'a@example.com'
    )
  })

  it('refuses unverified emails and missing subjects', () => {
    for (const c of [
      { sub: '1', email: 'a@example.com' },
      { sub: '1', email: 'a@example.com', email_verified: 'true' },
      { sub: '' },
      {},
      { sub: 42 }
    ]) {
      assert.throws(() => challengeClaim(c), { code: 'IDENTITY_TOKEN_INVALID' })
    }
  })
})

describe('inspectToken', () => {
  it('summarises issuer, subject, challenge, audience and expiry', () => {
    const id = inspectToken(makeJwt(githubClaims()))
    assert.equal(id.issuer, 'https://token.actions.githubusercontent.com')
    assert.equal(id.subject, 'repo:acme/app:ref:refs/heads/main')
    assert.equal(id.challenge, id.subject)
    assert.equal(id.audience, 'sigstore')
    assert.ok(id.expiresAt && id.expiresAt > new Date())
    assert.equal(
      inspectToken(makeJwt({ iss: 'i', sub: 's', aud: ['sigstore', 'x'] }))
        .audience,
      'sigstore'
    )
  })

  it('rejects expired tokens and tokens without an issuer', () => {
    const now = Math.floor(Date.now() / 1000)
    assert.throws(
      () => inspectToken(makeJwt({ iss: 'i', sub: 's', exp: now - 1 })),
      {
        name: 'SigstoreServiceError',
        code: 'IDENTITY_TOKEN_EXPIRED',
        message: /expired/
      }
    )
    assert.throws(() => inspectToken(unsigned({ sub: 's' })), {
      code: 'IDENTITY_TOKEN_INVALID'
    })
  })
})

describe('checkTokenClaims: exp, nbf/iat and aud, before any network call', () => {
  const now = new Date('2026-01-01T00:00:00Z')
  const s = now.getTime() / 1000
  const base = { iss: 'https://issuer.example', sub: 'x', aud: 'sigstore' }
  const code = (claims: Record<string, unknown>, audience?: string) => {
    try {
      checkTokenClaims(
        { ...base, ...claims },
        { now, ...(audience ? { audience } : {}) }
      )
      return 'ok'
    } catch (e) {
      assert.ok(e instanceof SigstoreServiceError, String(e))
      return e.code
    }
  }

  it('exp: a token expiring this second is expired; one second later is fine', () => {
    assert.equal(code({ exp: s }), 'IDENTITY_TOKEN_EXPIRED')
    assert.equal(code({ exp: s - 3600 }), 'IDENTITY_TOKEN_EXPIRED')
    assert.equal(code({ exp: s + 1 }), 'ok')
  })

  it('nbf and iat: up to 60 s in the future is clock skew; beyond is not yet valid', () => {
    assert.equal(code({ nbf: s + 60 }), 'ok')
    assert.equal(code({ nbf: s + 61 }), 'IDENTITY_TOKEN_NOT_YET_VALID')
    assert.equal(code({ iat: s + 60 }), 'ok')
    assert.equal(code({ iat: s + 61 }), 'IDENTITY_TOKEN_NOT_YET_VALID')
  })

  it('aud: sigstore (or the configured audience), alone or in a list', () => {
    assert.equal(code({ aud: ['other', 'sigstore'] }), 'ok')
    assert.equal(code({ aud: 'other' }), 'IDENTITY_TOKEN_AUDIENCE_MISMATCH')
    assert.equal(code({ aud: undefined }), 'IDENTITY_TOKEN_AUDIENCE_MISMATCH')
    assert.equal(code({ aud: 'private' }, 'private'), 'ok')
    assert.equal(code({}, 'private'), 'IDENTITY_TOKEN_AUDIENCE_MISMATCH')
  })

  it('the remedy names the YAML that fixes it on GitHub and GitLab', () => {
    const remedy = (claims: Record<string, unknown>): string => {
      try {
        checkTokenClaims({ ...base, ...claims }, { now })
      } catch (e) {
        return (e as SigstoreServiceError).remedy ?? ''
      }
      return ''
    }
    const gh = 'https://token.actions.githubusercontent.com'
    assert.match(remedy({ iss: gh, aud: 'x' }), /id-token: write/)
    assert.match(remedy({ iss: gh, aud: 'x' }), /audience=sigstore/)
    assert.match(
      remedy({ iss: 'https://gitlab.com', aud: 'x' }),
      /id_tokens:\n {2}SIGSTORE_ID_TOKEN:\n {4}aud: sigstore/
    )
    assert.match(remedy({ iss: gh, exp: s - 1 }), /identity-token empty/)
    assert.match(remedy({ iss: 'https://gitlab.com', exp: s - 1 }), /id_tokens/)
  })

  it('static and environment tokens are checked when the provider is built (no network)', () => {
    const stale = makeJwt({ ...base, exp: Math.floor(Date.now() / 1000) - 1 })
    assert.throws(() => new StaticIdentityProvider(stale), {
      name: 'SigstoreServiceError',
      code: 'IDENTITY_TOKEN_EXPIRED'
    })
    const wrongAud = makeJwt({ ...base, aud: 'gitlab' })
    assert.throws(
      () =>
        new EnvIdentityProvider('SIGSTORE_ID_TOKEN', {
          env: { SIGSTORE_ID_TOKEN: wrongAud }
        }),
      { name: 'SigstoreServiceError', code: 'IDENTITY_TOKEN_AUDIENCE_MISMATCH' }
    )
    assert.ok(new StaticIdentityProvider(makeJwt(base)))
  })
})
