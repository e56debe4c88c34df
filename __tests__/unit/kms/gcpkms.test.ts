// gcpkms:// keys against the loopback Cloud KMS and its token services:
// service account JWTs, workload identity federation (file and URL subject
// tokens, STS exchange, impersonation), key version resolution as cosign
// does it, CRC32C both ways; signatures verify with the key KMS holds.
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
import { crc32c } from '../../../src/kms/gcpkms.ts'
import { nullLogger, utf8 } from '../../../src/util/index.ts'
import {
  githubClaims,
  jwks,
  makeJwt,
  startGitHubOidc,
  type GitHubOidc
} from '../../support/oidc.ts'
import { startGcpKms, type GcpEmulator } from '../../support/gcp-kms.ts'

const RING = 'projects/proj/locations/global/keyRings/release'
let gcp: GcpEmulator
let oidc: GitHubOidc
let dir: string
before(async () => {
  ;[gcp, oidc] = await Promise.all([
    startGcpKms({ jwks: jwks() }),
    startGitHubOidc()
  ])
  dir = mkdtempSync(join(tmpdir(), 'gcpkms-test-'))
})
after(async () => {
  await Promise.all([gcp?.stop(), oidc?.stop()])
  rmSync(dir, { recursive: true, force: true })
})

let n = 0
function credentials(cfg: object): string {
  const p = join(dir, `cred-${++n}.json`)
  writeFileSync(p, JSON.stringify(cfg))
  return p
}
const ctx = (file: string, budgetMs = 3_000): KmsContext => ({
  http: new HttpClient({
    userAgent: 'sigil-test',
    budgetMs,
    backoffBaseMs: 20,
    backoffMaxMs: 100
  }),
  logger: nullLogger,
  env: {
    HOME: dir,
    GOOGLE_APPLICATION_CREDENTIALS: file,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: `${gcp.url}/`
  }
})

test('CRC32C is Castagnoli', () => {
  assert.equal(crc32c(utf8('123456789')), 0xe3069283)
})

test('gcpkms:// URIs name a key or a key version', () => {
  const key = `${RING}/cryptoKeys/k`
  assert.deepEqual(parseKmsUri(`gcpkms://${key}`), {
    provider: 'gcpkms',
    uri: `gcpkms://${key}`,
    resource: key
  })
  assert.equal(
    parseKmsUri(`gcpkms://${key}/cryptoKeyVersions/3`).provider === 'gcpkms',
    true
  )
  for (const bad of [
    'gcpkms://projects/p/keyRings/r',
    `gcpkms://${key}/versions/1`
  ])
    assert.throws(() => parseKmsUri(bad), { code: 'KMS_URI_INVALID' })
})

test('service account key: signs with the newest enabled version, or the one named', async () => {
  const key = `${RING}/cryptoKeys/sa`
  const v1 = gcp.createKey(key)
  const v2 = gcp.addVersion(key)
  const file = credentials(gcp.serviceAccount())
  const signer = await createKmsSigner(`gcpkms://${key}`, ctx(file))
  assert.equal(signer.publicKeyPem, gcp.publicKeyPem(v2))
  const sig = await signer.sign(utf8('m'))
  assert.ok(
    verify('sha256', utf8('m'), createPublicKey(gcp.publicKeyPem(v2)), sig)
  )
  const pinned = await createKmsSigner(`gcpkms://${v1}`, ctx(file))
  assert.equal(pinned.publicKeyPem, gcp.publicKeyPem(v1))
  await pinned.sign(utf8('n'))
  // The newest version disabled: the enabled one before it signs.
  gcp.setState(v2, 'DISABLED')
  const fallback = await createKmsSigner(`gcpkms://${key}`, ctx(file))
  assert.equal(fallback.publicKeyPem, gcp.publicKeyPem(v1))
})

test('workload identity federation: GitHub OIDC URL source, STS exchange, impersonation (what google-github-actions/auth writes)', async () => {
  const key = `${RING}/cryptoKeys/wif`
  gcp.createKey(key)
  const cfg = gcp.externalAccount({
    url: `${oidc.requestUrl}&audience=PLACEHOLDER`,
    headers: { Authorization: `Bearer ${oidc.requestToken}` },
    format: { type: 'json', subject_token_field_name: 'value' }
  }) as { audience: string; credential_source: { url: string } }
  cfg.credential_source.url = `${oidc.requestUrl}&audience=${encodeURIComponent(`https:${cfg.audience}`)}`
  const signer = await createKmsSigner(`gcpkms://${key}`, ctx(credentials(cfg)))
  await signer.sign(utf8('w'))
  assert.equal(oidc.lastAudience, `https:${cfg.audience}`)
  // A file source (GitLab: id_tokens written to a file), no impersonation.
  const tokenFile = join(dir, 'gitlab-token')
  const direct = gcp.externalAccount({ file: tokenFile }, undefined, {
    impersonate: false
  }) as { audience: string }
  writeFileSync(tokenFile, makeJwt(githubClaims(`https:${direct.audience}`)))
  await (
    await createKmsSigner(`gcpkms://${key}`, ctx(credentials(direct)))
  ).sign(utf8('f'))
  // A token for another audience is refused at STS.
  writeFileSync(tokenFile, makeJwt(githubClaims('sigstore')))
  await assert.rejects(
    createKmsSigner(`gcpkms://${key}`, ctx(credentials(direct))),
    { code: 'KMS_AUTH_FAILED' }
  )
})

test('missing permission, disabled or destroyed version, missing key, no credentials: coded errors that name the fix', async () => {
  const key = `${RING}/cryptoKeys/errs`
  const v1 = gcp.createKey(key)
  const viewer = credentials(
    gcp.serviceAccount([
      'cloudkms.cryptoKeyVersions.list',
      'cloudkms.cryptoKeyVersions.viewPublicKey'
    ])
  )
  const s = await createKmsSigner(`gcpkms://${key}`, ctx(viewer))
  await assert.rejects(
    s.sign(utf8('x')),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_PERMISSION_DENIED')
      assert.match(e.remedy ?? '', /cloudkms\.cryptoKeyVersions\.useToSign/)
      assert.match(e.remedy ?? '', /roles\/cloudkms\.signer/)
      return true
    }
  )
  const full = credentials(gcp.serviceAccount())
  const ok = await createKmsSigner(`gcpkms://${v1}`, ctx(full))
  gcp.setState(v1, 'DESTROYED')
  await assert.rejects(ok.sign(utf8('y')), { code: 'KMS_KEY_DISABLED' })
  await assert.rejects(createKmsSigner(`gcpkms://${v1}`, ctx(full)), {
    code: 'KMS_KEY_DISABLED'
  })
  await assert.rejects(createKmsSigner(`gcpkms://${key}`, ctx(full)), {
    code: 'KMS_KEY_DISABLED'
  })
  await assert.rejects(
    fetchKmsPublicKey(`gcpkms://${RING}/cryptoKeys/nope`, ctx(full)),
    { code: 'KMS_KEY_NOT_FOUND' }
  )
  await assert.rejects(
    fetchKmsPublicKey(`gcpkms://${key}`, ctx(join(dir, 'missing.json'))),
    { code: 'KMS_CREDENTIALS_MISSING' }
  )
  const forged = {
    ...gcp.serviceAccount(),
    client_email: 'nobody@proj.iam.gserviceaccount.com'
  }
  await assert.rejects(
    fetchKmsPublicKey(`gcpkms://${key}`, ctx(credentials(forged))),
    { code: 'KMS_AUTH_FAILED' }
  )
})

test('RESOURCE_EXHAUSTED (429) is retried within the budget; past it, KMS_THROTTLED', async () => {
  const key = `${RING}/cryptoKeys/busy`
  gcp.createKey(key)
  const file = credentials(gcp.serviceAccount())
  gcp.throttle(3)
  await (await createKmsSigner(`gcpkms://${key}`, ctx(file))).sign(utf8('t'))
  gcp.throttle(100_000)
  await assert.rejects(fetchKmsPublicKey(`gcpkms://${key}`, ctx(file, 400)), {
    code: 'KMS_THROTTLED'
  })
  gcp.throttle(0)
})

test('generate-key-pair --kms creates the key ring and an EC_SIGN_P256_SHA256 key, once', async () => {
  const admin = credentials(
    gcp.serviceAccount([
      'cloudkms.cryptoKeyVersions.list',
      'cloudkms.cryptoKeyVersions.viewPublicKey',
      'cloudkms.keyRings.create',
      'cloudkms.cryptoKeys.create'
    ])
  )
  const uri =
    'gcpkms://projects/proj/locations/global/keyRings/new-ring/cryptoKeys/new-key'
  const pem = await createKmsKey(uri, ctx(admin))
  assert.equal(
    pem,
    gcp.publicKeyPem(
      'projects/proj/locations/global/keyRings/new-ring/cryptoKeys/new-key/cryptoKeyVersions/1'
    )
  )
  assert.equal(await createKmsKey(uri, ctx(admin)), pem)
  await assert.rejects(createKmsKey(`${uri}/cryptoKeyVersions/1`, ctx(admin)), {
    code: 'KMS_URI_INVALID'
  })
})
