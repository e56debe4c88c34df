// hashivault:// keys against the loopback Vault (transit + JWT auth, real
// ECDSA): signatures verify with node:crypto against the key Vault holds;
// tokens, JWT logins, policies, namespaces and 429s behave as Vault's do.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey, verify } from 'node:crypto'
import { HttpClient } from '../../../src/http/index.ts'
import {
  createKmsKey,
  createKmsSigner,
  fetchKmsPublicKey,
  parseKmsUri,
  type KmsContext
} from '../../../src/kms/index.ts'
import { nullLogger, redact, utf8 } from '../../../src/util/index.ts'
import { githubClaims, jwks, makeJwt } from '../../support/oidc.ts'
import {
  signerPolicy,
  startVault,
  type VaultEmulator
} from '../../support/vault.ts'

let vault: VaultEmulator
before(async () => {
  vault = await startVault({ jwks: jwks() })
  vault.createKey('release')
})
after(async () => {
  await vault?.stop()
})

const ctx = (
  env: NodeJS.ProcessEnv,
  extra: Partial<KmsContext> = {}
): KmsContext => ({
  http: new HttpClient({
    userAgent: 'sigil-test',
    budgetMs: 3_000,
    backoffBaseMs: 20,
    backoffMaxMs: 100
  }),
  logger: nullLogger,
  env,
  ...extra
})

test('hashivault:// URIs follow cosign grammar', () => {
  assert.deepEqual(parseKmsUri('hashivault://release-key.v2'), {
    provider: 'hashivault',
    uri: 'hashivault://release-key.v2',
    keyName: 'release-key.v2'
  })
  assert.equal(parseKmsUri('openbao://k').provider, 'hashivault')
  for (const bad of ['hashivault://', 'hashivault://a/b', 'hashivault://-x'])
    assert.throws(() => parseKmsUri(bad), { code: 'KMS_URI_INVALID' })
})

test('signs a digest in Vault with VAULT_TOKEN; the signature verifies with the key Vault holds', async () => {
  const token = vault.addToken(signerPolicy('release'))
  const signer = await createKmsSigner(
    'hashivault://release',
    ctx({ VAULT_ADDR: vault.url, VAULT_TOKEN: token })
  )
  assert.equal(signer.algorithm, 'ECDSA_P256_SHA256')
  assert.equal(signer.publicKeyPem, vault.publicKeyPem('release'))
  const data = utf8('{"critical":{}}')
  const sig = await signer.sign(data)
  assert.ok(
    verify('sha256', data, createPublicKey(vault.publicKeyPem('release')), sig)
  )
  // The token never appears in what we would log.
  assert.ok(!redact(`token ${token}`).includes(token))
})

test('JWT login with the job token (GitLab VAULT_ID_TOKEN) at a custom mount and role, in a namespace', async () => {
  const ns = await startVault({
    jwks: jwks(),
    namespace: 'team-a',
    jwtMount: 'gitlab',
    transitMount: 'signing'
  })
  try {
    ns.createKey('app')
    ns.addRole('release', {
      boundAudiences: ['https://vault.example.com'],
      boundClaims: { repository: 'acme/app' },
      policy: signerPolicy('app', 'signing')
    })
    const env = {
      VAULT_ADDR: ns.url,
      VAULT_NAMESPACE: 'team-a',
      TRANSIT_SECRET_ENGINE_PATH: 'signing',
      VAULT_AUTH_PATH: 'gitlab',
      VAULT_AUTH_ROLE: 'release',
      VAULT_ID_TOKEN: makeJwt(githubClaims('https://vault.example.com'))
    }
    const signer = await createKmsSigner('hashivault://app', ctx(env))
    const sig = await signer.sign(utf8('x'))
    assert.ok(
      verify('sha256', utf8('x'), createPublicKey(signer.publicKeyPem), sig)
    )
    assert.deepEqual(
      ns.requests.map(r => `${r.method} ${r.path} ${r.token}`),
      [
        'POST /v1/auth/gitlab/login false',
        'GET /v1/signing/keys/app true',
        'POST /v1/signing/sign/app/sha2-256 true'
      ],
      'one login per run, then the token'
    )
    // A token for another audience is refused, with what to check.
    await assert.rejects(
      createKmsSigner(
        'hashivault://app',
        ctx({ ...env, VAULT_ID_TOKEN: makeJwt(githubClaims('sigstore')) })
      ),
      (e: Error & { code?: string; remedy?: string }) => {
        assert.equal(e.code, 'KMS_AUTH_FAILED')
        assert.match(e.message, /audience/)
        assert.match(e.remedy ?? '', /bound_audiences/)
        return true
      }
    )
    // Without the namespace the key is not found there.
    await assert.rejects(
      createKmsSigner('hashivault://app', ctx({ ...env, VAULT_NAMESPACE: '' })),
      { code: 'KMS_KEY_NOT_FOUND' }
    )
  } finally {
    await ns.stop()
  }
})

test("JWT login with GitHub's job token (requested for VAULT_JWT_AUDIENCE)", async () => {
  vault.addRole('gh', {
    boundAudiences: ['vault'],
    policy: signerPolicy('release')
  })
  const audiences: string[] = []
  const signer = await createKmsSigner(
    'hashivault://release',
    ctx(
      { VAULT_ADDR: vault.url, VAULT_AUTH_ROLE: 'gh' },
      {
        jobToken: aud => {
          audiences.push(aud)
          return Promise.resolve(makeJwt(githubClaims(aud)))
        }
      }
    )
  )
  await signer.sign(utf8('y'))
  assert.deepEqual(audiences, ['vault'])
})

test('wrong token, missing policy, missing key, no credentials: coded errors that name the fix', async () => {
  await assert.rejects(
    createKmsSigner(
      'hashivault://release',
      ctx({ VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.wrong' })
    ),
    { code: 'KMS_AUTH_FAILED' }
  )
  // May read the key but not sign with it.
  const readOnly = vault.addToken({ 'transit/keys/release': ['read'] })
  const signer = await createKmsSigner(
    'hashivault://release',
    ctx({ VAULT_ADDR: vault.url, VAULT_TOKEN: readOnly })
  )
  await assert.rejects(
    signer.sign(utf8('z')),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_PERMISSION_DENIED')
      assert.match(e.remedy ?? '', /path "transit\/sign\/release\/\*"/)
      assert.match(e.remedy ?? '', /"update"/)
      return true
    }
  )
  const all = vault.addToken()
  await assert.rejects(
    fetchKmsPublicKey(
      'hashivault://nope',
      ctx({ VAULT_ADDR: vault.url, VAULT_TOKEN: all })
    ),
    { code: 'KMS_KEY_NOT_FOUND' }
  )
  await assert.rejects(
    createKmsSigner('hashivault://release', ctx({ VAULT_TOKEN: all })),
    { code: 'KMS_CREDENTIALS_MISSING' }
  )
  await assert.rejects(
    createKmsSigner('hashivault://release', ctx({ VAULT_ADDR: vault.url })),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_CREDENTIALS_MISSING')
      assert.match(e.remedy ?? '', /VAULT_AUTH_ROLE/)
      return true
    }
  )
  await assert.rejects(
    createKmsSigner(
      'hashivault://release',
      ctx({ VAULT_ADDR: 'http://vault.example.com', VAULT_TOKEN: all })
    ),
    { code: 'KMS_CONFIG_INVALID' }
  )
})

test('a key deleted between reading and signing is reported as not found', async () => {
  const all = vault.addToken()
  vault.createKey('short-lived')
  const signer = await createKmsSigner(
    'hashivault://short-lived',
    ctx({ VAULT_ADDR: vault.url, VAULT_TOKEN: all })
  )
  vault.deleteKey('short-lived')
  await assert.rejects(signer.sign(utf8('a')), { code: 'KMS_KEY_NOT_FOUND' })
})

test('429s are retried within the budget; past it, KMS_THROTTLED', async () => {
  const all = vault.addToken()
  const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: all }
  vault.throttle(3)
  const signer = await createKmsSigner('hashivault://release', ctx(env))
  vault.throttle(2)
  await signer.sign(utf8('b'))
  vault.throttle(10_000)
  const short = ctx(env, {
    http: new HttpClient({
      userAgent: 'sigil-test',
      budgetMs: 400,
      backoffBaseMs: 20,
      backoffMaxMs: 50
    })
  })
  await assert.rejects(
    fetchKmsPublicKey('hashivault://release', short),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_THROTTLED')
      assert.match(e.message, /attempts/)
      assert.match(e.remedy ?? '', /retry-budget/)
      return true
    }
  )
  vault.throttle(0)
})

test('generate-key-pair --kms creates an ECDSA P-256 key, and keeps an existing one', async () => {
  const all = vault.addToken()
  const c = ctx({ VAULT_ADDR: vault.url, VAULT_TOKEN: all })
  const pem = await createKmsKey('hashivault://fresh', c)
  assert.equal(pem, vault.publicKeyPem('fresh'))
  const key = createPublicKey(pem)
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  assert.equal(await createKmsKey('hashivault://fresh', c), pem)
  // A key type cosign signs with but Sigil does not: said clearly.
  vault.createKey('edkey', 'ed25519')
  await assert.rejects(createKmsSigner('hashivault://edkey', c), {
    code: 'KMS_KEY_UNSUPPORTED'
  })
})
