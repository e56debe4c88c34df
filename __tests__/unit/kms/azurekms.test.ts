// azurekms:// keys against the loopback Key Vault + Entra token endpoint
// (TLS, CA from SSL_CERT_FILE): client secret and federated token
// credentials, ES256 signatures (r‖s → DER) that verify with the key the
// vault holds, and the coded failures.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey, verify } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpClient } from '../../../src/http/index.ts'
import {
  createKmsKey,
  createKmsSigner,
  fetchKmsPublicKey,
  parseKmsUri,
  type KmsContext
} from '../../../src/kms/index.ts'
import { rawToDer } from '../../../src/kms/azurekms.ts'
import { nullLogger, utf8 } from '../../../src/util/index.ts'
import { githubClaims, jwks, makeJwt } from '../../support/oidc.ts'
import {
  startAzureKeyVault,
  type AzureEmulator
} from '../../support/azure-kv.ts'

let kv: AzureEmulator
let dir: string
before(async () => {
  kv = await startAzureKeyVault({ jwks: jwks() })
  dir = mkdtempSync(join(tmpdir(), 'azurekms-test-'))
})
after(async () => {
  await kv?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const ctx = (
  env: NodeJS.ProcessEnv,
  budgetMs = 3_000,
  extra: Partial<KmsContext> = {}
): KmsContext => {
  const full = {
    SSL_CERT_FILE: kv.caFile,
    AZURE_AUTHORITY_HOST: kv.url,
    ...env
  }
  return {
    http: new HttpClient({
      userAgent: 'sigil-test',
      budgetMs,
      backoffBaseMs: 20,
      backoffMaxMs: 100,
      env: full
    }),
    logger: nullLogger,
    env: full,
    ...extra
  }
}

test('azurekms:// URIs: vault host, key, optional version; r‖s becomes DER', () => {
  assert.deepEqual(parseKmsUri('azurekms://v.vault.azure.net/k'), {
    provider: 'azurekms',
    uri: 'azurekms://v.vault.azure.net/k',
    vault: 'v.vault.azure.net',
    keyName: 'k',
    version: ''
  })
  assert.throws(() => parseKmsUri('azurekms://v.vault.azure.net'), {
    code: 'KMS_URI_INVALID'
  })
  const raw = new Uint8Array(64).fill(0x80)
  const der = rawToDer(raw)
  assert.equal(der[0], 0x30)
  assert.equal(der.length, 2 + 2 * (2 + 33))
})

test('client secret and federated token credentials sign; ES256 signatures verify with the vault key', async () => {
  kv.createKey('release')
  const uri = `azurekms://${kv.host}/release`
  const secretApp = kv.addApp({ secret: 's3cret' })
  const s1 = await createKmsSigner(
    uri,
    ctx({
      AZURE_CLIENT_ID: secretApp.clientId,
      AZURE_TENANT_ID: secretApp.tenantId,
      AZURE_CLIENT_SECRET: 's3cret'
    })
  )
  assert.equal(s1.publicKeyPem, kv.publicKeyPem('release'))
  const sig = await s1.sign(utf8('a'))
  assert.ok(
    verify(
      'sha256',
      utf8('a'),
      createPublicKey(kv.publicKeyPem('release')),
      sig
    )
  )
  const fedApp = kv.addApp({ subject: 'repo:acme/app:ref:refs/heads/main' })
  const file = join(dir, 'federated')
  writeFileSync(file, makeJwt(githubClaims('api://AzureADTokenExchange')))
  const env = {
    AZURE_CLIENT_ID: fedApp.clientId,
    AZURE_TENANT_ID: fedApp.tenantId,
    AZURE_FEDERATED_TOKEN_FILE: file
  }
  await (await createKmsSigner(uri, ctx(env))).sign(utf8('b'))
  // GitHub without a token file: the job token for api://AzureADTokenExchange.
  const audiences: string[] = []
  const gh = await createKmsSigner(
    uri,
    ctx({ ...env, AZURE_FEDERATED_TOKEN_FILE: '' }, 3_000, {
      jobToken: aud => {
        audiences.push(aud)
        return Promise.resolve(makeJwt(githubClaims(aud)))
      }
    })
  )
  await gh.sign(utf8('c'))
  assert.deepEqual(audiences, ['api://AzureADTokenExchange'])
  writeFileSync(file, makeJwt(githubClaims('sigstore')))
  await assert.rejects(
    createKmsSigner(uri, ctx(env)),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_AUTH_FAILED')
      assert.match(e.remedy ?? '', /federated credential/)
      return true
    }
  )
})

test('missing sign permission, disabled key, missing key, no credentials, throttling: coded errors', async () => {
  kv.createKey('errs')
  const uri = `azurekms://${kv.host}/errs`
  const reader = kv.addApp({ secret: 'r', operations: ['get'] })
  const rEnv = {
    AZURE_CLIENT_ID: reader.clientId,
    AZURE_TENANT_ID: reader.tenantId,
    AZURE_CLIENT_SECRET: 'r'
  }
  const s = await createKmsSigner(uri, ctx(rEnv))
  await assert.rejects(
    s.sign(utf8('x')),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_PERMISSION_DENIED')
      assert.match(e.remedy ?? '', /Key Vault Crypto User/)
      return true
    }
  )
  const app = kv.addApp({ secret: 'w' })
  const env = {
    AZURE_CLIENT_ID: app.clientId,
    AZURE_TENANT_ID: app.tenantId,
    AZURE_CLIENT_SECRET: 'w'
  }
  const ok = await createKmsSigner(uri, ctx(env))
  kv.setEnabled('errs', false)
  await assert.rejects(ok.sign(utf8('y')), { code: 'KMS_KEY_DISABLED' })
  kv.setEnabled('errs', true)
  await assert.rejects(
    fetchKmsPublicKey(`azurekms://${kv.host}/nope`, ctx(env)),
    { code: 'KMS_KEY_NOT_FOUND' }
  )
  await assert.rejects(
    fetchKmsPublicKey(uri, ctx({ ...env, AZURE_CLIENT_SECRET: 'bad' })),
    { code: 'KMS_AUTH_FAILED' }
  )
  await assert.rejects(fetchKmsPublicKey(uri, ctx({})), {
    code: 'KMS_CREDENTIALS_MISSING'
  })
  kv.throttle(2)
  await ok.sign(utf8('z'))
  kv.throttle(100_000)
  await assert.rejects(fetchKmsPublicKey(uri, ctx(env, 400)), {
    code: 'KMS_THROTTLED'
  })
  kv.throttle(0)
})

test('generate-key-pair --kms creates an EC P-256 key once', async () => {
  const app = kv.addApp({ secret: 'c', operations: ['get', 'create'] })
  const c = ctx({
    AZURE_CLIENT_ID: app.clientId,
    AZURE_TENANT_ID: app.tenantId,
    AZURE_CLIENT_SECRET: 'c'
  })
  const pem = await createKmsKey(`azurekms://${kv.host}/fresh`, c)
  assert.equal(pem, kv.publicKeyPem('fresh'))
  assert.equal(await createKmsKey(`azurekms://${kv.host}/fresh`, c), pem)
})
