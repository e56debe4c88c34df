// awskms:// keys against the loopback KMS + STS: every request's SigV4
// signature is recomputed there by AWS's own signer (@smithy/signature-v4);
// credentials come from the environment, the shared files, or a web
// identity exchanged at STS; signatures verify with the key KMS holds.
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
import { signRequest } from '../../../src/kms/sigv4.ts'
import { parseIni } from '../../../src/kms/aws-credentials.ts'
import { nullLogger, redact, utf8 } from '../../../src/util/index.ts'
import { githubClaims, jwks, makeJwt } from '../../support/oidc.ts'
import {
  ACCOUNT,
  REGION,
  startAwsKms,
  type AwsEmulator
} from '../../support/aws-kms.ts'

let kms: AwsEmulator
let dir: string
before(async () => {
  kms = await startAwsKms({ jwks: jwks() })
  dir = mkdtempSync(join(tmpdir(), 'awskms-test-'))
})
after(async () => {
  await kms?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const ctx = (
  env: NodeJS.ProcessEnv,
  extra: Partial<KmsContext> = {},
  budgetMs = 3_000
): KmsContext => ({
  http: new HttpClient({
    userAgent: 'sigil-test',
    budgetMs,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    env
  }),
  logger: nullLogger,
  env: { HOME: dir, ...env },
  ...extra
})
const userEnv = (
  u: { accessKeyId: string; secretAccessKey: string },
  extra: NodeJS.ProcessEnv = {}
): NodeJS.ProcessEnv => ({
  AWS_ACCESS_KEY_ID: u.accessKeyId,
  AWS_SECRET_ACCESS_KEY: u.secretAccessKey,
  AWS_REGION: REGION,
  AWS_ENDPOINT_URL: kms.url,
  ...extra
})
const verifies = (pem: string, data: Uint8Array, sig: Uint8Array): boolean =>
  verify('sha256', data, createPublicKey(pem), sig)

test("SigV4 matches AWS's documented example", () => {
  // docs.aws.amazon.com, "Signature Version 4 signing process" example
  // (IAM ListUsers, AKIDEXAMPLE, 20150830T123600Z).
  const headers = signRequest(
    {
      method: 'GET',
      url: new URL(
        'https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08'
      ),
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8'
      },
      body: ''
    },
    {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
    },
    { region: 'us-east-1', service: 'iam' },
    new Date('2015-08-30T12:36:00Z')
  )
  assert.equal(
    headers.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7'
  )
})

test('awskms:// URIs: key id, key ARN, alias, alias ARN, with and without an endpoint', () => {
  const id = '1234abcd-12ab-34cd-56ef-1234567890ab'
  assert.deepEqual(parseKmsUri(`awskms:///${id}`), {
    provider: 'awskms',
    uri: `awskms:///${id}`,
    endpoint: '',
    keyId: id
  })
  const arn = `arn:aws:kms:us-east-2:${ACCOUNT}:key/${id}`
  assert.deepEqual(parseKmsUri(`awskms://localhost:4566/${arn}`), {
    provider: 'awskms',
    uri: `awskms://localhost:4566/${arn}`,
    endpoint: 'localhost:4566',
    keyId: arn,
    region: 'us-east-2'
  })
  assert.deepEqual(parseKmsUri('awskms:///alias/release'), {
    provider: 'awskms',
    uri: 'awskms:///alias/release',
    endpoint: '',
    keyId: 'alias/release',
    alias: 'alias/release'
  })
  const aliasArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/release`
  const r = parseKmsUri(`awskms:///${aliasArn}`)
  assert.equal(r.provider === 'awskms' && r.alias, 'alias/release')
  assert.equal(r.provider === 'awskms' && r.region, 'eu-west-1')
  for (const bad of ['awskms://alias/x', 'awskms:///not-a-key', 'awskms://'])
    assert.throws(() => parseKmsUri(bad), { code: 'KMS_URI_INVALID' })
})

test('signs with environment credentials; the signature verifies with the key KMS holds', async () => {
  const key = kms.createKey('alias/env')
  const user = kms.addUser()
  for (const uri of [
    'awskms:///alias/env',
    `awskms:///${key.id}`,
    `awskms:///${key.arn}`
  ]) {
    const signer = await createKmsSigner(uri, ctx(userEnv(user)))
    assert.equal(signer.publicKeyPem, kms.publicKeyPem(key.id))
    const sig = await signer.sign(utf8(uri))
    assert.ok(verifies(signer.publicKeyPem, utf8(uri), sig))
  }
  assert.ok(!redact(`x ${user.secretAccessKey}`).includes(user.secretAccessKey))
})

test('the region comes from an ARN; the endpoint from AWS_ENDPOINT_URL_KMS', async () => {
  const key = kms.createKey()
  const user = kms.addUser()
  const { AWS_REGION: _r, AWS_ENDPOINT_URL: _e, ...env } = userEnv(user)
  const signer = await createKmsSigner(
    `awskms:///${key.arn}`,
    ctx({ ...env, AWS_ENDPOINT_URL_KMS: kms.url })
  )
  await signer.sign(utf8('a'))
  await assert.rejects(
    createKmsSigner(
      `awskms:///${key.id}`,
      ctx({ ...env, AWS_ENDPOINT_URL_KMS: kms.url })
    ),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_CONFIG_INVALID')
      assert.match(e.remedy ?? '', /AWS_REGION/)
      return true
    }
  )
})

test('a profile of the shared files (static keys, region)', async () => {
  kms.createKey('alias/profile')
  const user = kms.addUser()
  const credentials = join(dir, 'credentials')
  const config = join(dir, 'config')
  writeFileSync(
    credentials,
    `[default]\naws_access_key_id = AKIAWRONGWRONGWRONG\naws_secret_access_key = nope\n\n[ci]\naws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`
  )
  writeFileSync(config, `[profile ci]\nregion = ${REGION}\n`)
  assert.deepEqual(parseIni('[a]\n k = v = w \n# c\n'), { a: { k: 'v = w' } })
  const signer = await createKmsSigner(
    'awskms:///alias/profile',
    ctx({
      AWS_PROFILE: 'ci',
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: config,
      AWS_ENDPOINT_URL: kms.url
    })
  )
  await signer.sign(utf8('p'))
})

test('web identity: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, or the GitHub job token, exchanged at STS', async () => {
  kms.createKey('alias/oidc')
  const roleArn = kms.addRole('signer', {
    audience: 'sts.amazonaws.com',
    subject: 'repo:acme/app:ref:refs/heads/main',
    actions: ['kms:GetPublicKey', 'kms:Sign']
  })
  const tokenFile = join(dir, 'web-identity')
  writeFileSync(tokenFile, makeJwt(githubClaims('sts.amazonaws.com')))
  const env = {
    AWS_ROLE_ARN: roleArn,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: kms.url
  }
  const signer = await createKmsSigner('awskms:///alias/oidc', ctx(env))
  await signer.sign(utf8('w'))
  // GitHub, no token file: the job's token is requested for STS's audience.
  const audiences: string[] = []
  const gh = await createKmsSigner(
    'awskms:///alias/oidc',
    ctx(
      { ...env, AWS_WEB_IDENTITY_TOKEN_FILE: '' },
      {
        jobToken: aud => {
          audiences.push(aud)
          return Promise.resolve(makeJwt(githubClaims(aud)))
        }
      }
    )
  )
  await gh.sign(utf8('g'))
  assert.deepEqual(audiences, ['sts.amazonaws.com'])
  // A token for another audience: STS refuses, the error says what to check.
  writeFileSync(tokenFile, makeJwt(githubClaims('sigstore')))
  await assert.rejects(
    createKmsSigner('awskms:///alias/oidc', ctx(env)),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_AUTH_FAILED')
      assert.match(e.message, /AccessDenied/)
      assert.match(e.remedy ?? '', /trust policy/)
      return true
    }
  )
  // No credentials at all.
  await assert.rejects(
    createKmsSigner(
      'awskms:///alias/oidc',
      ctx({ AWS_REGION: REGION, AWS_ENDPOINT_URL: kms.url })
    ),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_CREDENTIALS_MISSING')
      assert.match(e.remedy ?? '', /configure-aws-credentials/)
      return true
    }
  )
})

test('wrong secret, missing IAM action, disabled or deleted key: coded errors that name the fix', async () => {
  const key = kms.createKey('alias/errors')
  const user = kms.addUser()
  await assert.rejects(
    createKmsSigner(
      'awskms:///alias/errors',
      ctx(userEnv({ ...user, secretAccessKey: 'wrong' }))
    ),
    { code: 'KMS_AUTH_FAILED' }
  )
  const readOnly = kms.addUser(['kms:GetPublicKey'])
  const signer = await createKmsSigner(
    'awskms:///alias/errors',
    ctx(userEnv(readOnly))
  )
  await assert.rejects(
    signer.sign(utf8('x')),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_PERMISSION_DENIED')
      assert.match(e.remedy ?? '', /"kms:Sign"/)
      assert.match(e.remedy ?? '', new RegExp(key.arn))
      return true
    }
  )
  const ok = await createKmsSigner('awskms:///alias/errors', ctx(userEnv(user)))
  kms.setKeyState('alias/errors', 'PendingDeletion')
  await assert.rejects(ok.sign(utf8('y')), { code: 'KMS_KEY_DISABLED' })
  kms.setKeyState('alias/errors', 'Disabled')
  await assert.rejects(
    fetchKmsPublicKey('awskms:///alias/errors', ctx(userEnv(user))),
    { code: 'KMS_KEY_DISABLED' }
  )
  await assert.rejects(
    fetchKmsPublicKey('awskms:///alias/nope', ctx(userEnv(user))),
    { code: 'KMS_KEY_NOT_FOUND' }
  )
})

test('ThrottlingException is retried within the budget; past it, KMS_THROTTLED', async () => {
  kms.createKey('alias/busy')
  const user = kms.addUser()
  kms.throttle(2)
  const signer = await createKmsSigner(
    'awskms:///alias/busy',
    ctx(userEnv(user))
  )
  kms.throttle(2)
  await signer.sign(utf8('t'))
  kms.throttle(100_000)
  await assert.rejects(
    fetchKmsPublicKey('awskms:///alias/busy', ctx(userEnv(user), {}, 400)),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'KMS_THROTTLED')
      assert.match(e.message, /ThrottlingException/)
      assert.match(e.remedy ?? '', /retry budget/)
      return true
    }
  )
  kms.throttle(0)
})

test('generate-key-pair --kms: CreateKey + CreateAlias once; an alias is required', async () => {
  const user = kms.addUser()
  const c = ctx(userEnv(user))
  const pem = await createKmsKey('awskms:///alias/new-signer', c)
  assert.equal(pem, kms.publicKeyPem('alias/new-signer'))
  assert.equal(
    createPublicKey(pem).asymmetricKeyDetails?.namedCurve,
    'prime256v1'
  )
  const creates = kms.calls.filter(
    x => x.api === 'TrentService.CreateKey'
  ).length
  assert.equal(await createKmsKey('awskms:///alias/new-signer', c), pem)
  assert.equal(
    kms.calls.filter(x => x.api === 'TrentService.CreateKey').length,
    creates
  )
  await assert.rejects(
    createKmsKey('awskms:///1234abcd-12ab-34cd-56ef-1234567890ab', c),
    { code: 'KMS_URI_INVALID' }
  )
})

test('awskms://HOST:PORT/… talks https to that endpoint (CA from SSL_CERT_FILE)', async () => {
  const tls = await startAwsKms({ tls: true })
  try {
    tls.createKey('alias/tls')
    const user = tls.addUser()
    const host = new URL(tls.url).host
    const signer = await createKmsSigner(
      `awskms://${host}/alias/tls`,
      ctx({
        AWS_ACCESS_KEY_ID: user.accessKeyId,
        AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
        AWS_REGION: REGION,
        SSL_CERT_FILE: tls.caFile ?? ''
      })
    )
    await signer.sign(utf8('s'))
    assert.ok(
      tls.calls.some(c => c.api === 'TrentService.Sign' && c.status === 200)
    )
  } finally {
    await tls.stop()
  }
})
