import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  challengeClaim,
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
        code: 'IDENTITY_TOKEN_INVALID',
        message: /expired/
      }
    )
    assert.throws(() => inspectToken(unsigned({ sub: 's' })), {
      code: 'IDENTITY_TOKEN_INVALID'
    })
  })
})
