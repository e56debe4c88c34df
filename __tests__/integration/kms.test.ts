// Keys held in a KMS, through the bundled CLI and the GitHub action as their
// runners run them: the loopback Vault (transit + JWT auth) signs, the real
// registry stores, the loopback Sigstore stack logs; @sigstore/verify
// (keyed) and openssl check what was written, independently of our code.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  GITLAB_ENTRY_COMMAND,
  jobLog,
  makeComponentRepo,
  requireBuiltEntry,
  runGitlabCiLocal
} from '../support/gitlab-ci-local.ts'
import { legacyLayerAsBundle } from '../support/legacy-bundle.ts'
import {
  jwks,
  makeGitLabIdToken,
  startGitHubOidc,
  type GitHubOidc
} from '../support/oidc.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import { runAction } from '../support/run-action.ts'
import { REGION, startAwsKms, type AwsEmulator } from '../support/aws-kms.ts'
import { startGcpKms, type GcpEmulator } from '../support/gcp-kms.ts'
import { startAzureKeyVault } from '../support/azure-kv.ts'
import {
  signerPolicy,
  startVault,
  type VaultEmulator
} from '../support/vault.ts'
import {
  freshImage,
  opensslVerify,
  readSigManifest,
  startWorld,
  registryFlags,
  type World
} from '../support/world.ts'
import { listReferrers } from '../../src/oci/index.ts'
import { fromBase64, fromUtf8 } from '../../src/util/index.ts'
import { ANNOTATION_SIGNATURE } from '../../src/cosign/index.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
let w: World
let vault: VaultEmulator
let oidc: GitHubOidc
let aws: AwsEmulator
let gcp: GcpEmulator

before(async () => {
  ;[w, vault, oidc, aws, gcp] = await Promise.all([
    startWorld({ mode: 'htpasswd' }),
    startVault({ jwks: jwks() }),
    startGitHubOidc(),
    startAwsKms({ jwks: jwks() }),
    startGcpKms({ jwks: jwks() })
  ])
})
after(async () => {
  await Promise.all([
    w?.stop(),
    vault?.stop(),
    oidc?.stop(),
    aws?.stop(),
    gcp?.stop()
  ])
})

const reg = (): string[] => registryFlags(w)
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: w.tmp,
  VAULT_ADDR: vault.url,
  ...extra
})

/** `sigil sign --key KEY` of one image, both formats, logged in the
 * loopback Rekor. */
const signBoth = (
  key: string,
  ref: string,
  e: NodeJS.ProcessEnv
): ReturnType<typeof execNode> =>
  execNode(
    CLI,
    [
      'sign',
      '--key',
      key,
      '--format',
      'both',
      '--rekor-url',
      w.stack.rekorUrl,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...reg(),
      ref
    ],
    { env: e }
  )

/** `sigil verify --key KEY` of one image. */
const verifyKey = (
  key: string,
  ref: string,
  e: NodeJS.ProcessEnv
): ReturnType<typeof execNode> =>
  execNode(
    CLI,
    [
      'verify',
      '--key',
      key,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...reg(),
      ref
    ],
    { env: e }
  )

/** The image holds exactly a legacy and a bundle signature, and
 * @sigstore/verify accepts both with `publicKeyPem`. */
async function assertBothVerify(
  img: { repo: string; digest: string },
  publicKeyPem: string
): Promise<void> {
  assert.deepEqual(
    (await oracleKeyed(img.repo, img.digest, publicKeyPem)).sort(),
    ['bundle', 'legacy']
  )
}

/** openssl verifies the first legacy layer with the PEM at `pubPath`. */
async function assertOpensslVerifies(
  img: { repo: string; digest: string },
  pubPath: string
): Promise<void> {
  const layer = (await readSigManifest(w, img.repo, img.digest))!.layers[0]!
  assert.ok(
    opensslVerify(
      pubPath,
      await w.client.getBlob(img.repo, layer.digest),
      fromBase64(layer.annotations![ANNOTATION_SIGNATURE]!),
      w.tmp
    ),
    'openssl verifies the legacy signature'
  )
}

/** Every signature stored for `digest`, checked by @sigstore/verify with
 * `publicKeyPem` (legacy layers as cosign turns them into bundles, and
 * bundle referrers). */
async function oracleKeyed(
  repo: string,
  digest: string,
  publicKeyPem: string
): Promise<string[]> {
  const seen: string[] = []
  const m = await readSigManifest(w, repo, digest)
  for (const layer of m?.layers ?? []) {
    const payload = await w.client.getBlob(repo, layer.digest)
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: legacyLayerAsBundle(layer.annotations ?? {}, payload),
      artifact: payload,
      publicKeyPem
    })
    seen.push('legacy')
  }
  const { descriptors } = await listReferrers(w.client, repo, digest)
  for (const d of descriptors) {
    const rm = (await w.client.getManifest(repo, d.digest)).manifest as {
      layers: { digest: string }[]
    }
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: JSON.parse(
        fromUtf8(await w.client.getBlob(repo, rm.layers[0]!.digest))
      ) as unknown,
      publicKeyPem
    })
    seen.push('bundle')
  }
  return seen
}

describe('hashivault:// through the CLI', () => {
  test('generate-key-pair --kms → public-key → sign (both formats) → verify; @sigstore/verify and openssl agree', async () => {
    const token = vault.addToken({
      'transit/keys/cli': ['read', 'create'],
      'transit/sign/cli/*': ['update']
    })
    const gen = await execNode(
      CLI,
      ['generate-key-pair', '--kms', 'hashivault://cli'],
      { env: env({ VAULT_TOKEN: token }), cwd: w.tmp }
    )
    assert.equal(gen.code, 0, gen.stderr)
    const pubPath = join(w.tmp, 'cosign.pub')
    const pub = readFileSync(pubPath, 'utf8')
    assert.equal(pub, vault.publicKeyPem('cli'))
    const pk = await execNode(
      CLI,
      ['public-key', '--key', 'hashivault://cli'],
      {
        env: env({ VAULT_TOKEN: token })
      }
    )
    assert.equal(pk.code, 0, pk.stderr)
    assert.equal(pk.stdout, pub)

    const img = await freshImage(w)
    const sign = await signBoth(
      'hashivault://cli',
      img.ref,
      env({ VAULT_TOKEN: token })
    )
    assert.equal(sign.code, 0, sign.stderr)
    assert.match(sign.stderr, /signing with the KMS key hashivault:\/\/cli/)
    assert.ok(!sign.stderr.includes(token), 'the Vault token is never printed')

    await assertBothVerify(img, pub)
    await assertOpensslVerifies(img, pubPath)

    for (const key of ['hashivault://cli', pubPath]) {
      const v = await verifyKey(key, img.ref, env({ VAULT_TOKEN: token }))
      assert.equal(v.code, 0, `${key}: ${v.stderr}`)
      assert.match(v.stderr, /verified against the specified public key/)
    }
  })

  test('verify --policy: a ClusterImagePolicy key.kms authority takes its public key from Vault', async () => {
    vault.createKey('policy-key')
    vault.createKey('policy-other')
    const token = vault.addToken({
      'transit/keys/policy-key': ['read'],
      'transit/sign/policy-key/*': ['update'],
      'transit/keys/policy-other': ['read']
    })
    const img = await freshImage(w)
    const sign = await execNode(
      CLI,
      [
        'sign',
        '--key',
        'hashivault://policy-key',
        '--rekor-url',
        w.stack.rekorUrl,
        '--trusted-root',
        w.stack.trustedRootPath,
        ...reg(),
        img.ref
      ],
      { env: env({ VAULT_TOKEN: token }) }
    )
    assert.equal(sign.code, 0, sign.stderr)
    const policy = (key: string): string => {
      const f = join(w.tmp, `kms-policy-${key}.yaml`)
      writeFileSync(
        f,
        `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: release-kms
spec:
  images:
  - glob: "${w.registry.host}/**"
  authorities:
  - name: vault
    key:
      kms: hashivault://${key}
    ctlog:
      url: ${w.stack.rekorUrl}
`
      )
      return f
    }
    const verify = (key: string, vaultToken: string) =>
      execNode(
        CLI,
        [
          'verify',
          '--policy',
          policy(key),
          '--trusted-root',
          w.stack.trustedRootPath,
          '-o',
          'json',
          ...reg(),
          img.ref
        ],
        { env: env({ VAULT_TOKEN: vaultToken }) }
      )
    const ok = await verify('policy-key', token)
    assert.equal(ok.code, 0, ok.stderr)
    assert.ok(!ok.stderr.includes(token), 'the Vault token is never printed')

    const other = await verify('policy-other', token)
    assert.equal(other.code, 12, other.stderr)

    const noRead = vault.addToken({ 'transit/sign/policy-key/*': ['update'] })
    const denied = await verify('policy-key', noRead)
    assert.equal(denied.code, 12, denied.stderr)
    const json = JSON.parse(denied.stdout) as {
      images: {
        policies: { authorities: { code?: string; reason?: string }[] }[]
      }[]
    }
    const a = json.images[0]!.policies[0]!.authorities[0]!
    assert.match(a.code ?? '', /^KMS_/)
    assert.match(a.reason ?? '', /transit\/keys\/policy-key/)
  })

  test('a token without the sign capability: nothing written, the error names the Vault policy path', async () => {
    vault.createKey('readonly')
    const token = vault.addToken({ 'transit/keys/readonly': ['read'] })
    const img = await freshImage(w)
    const r = await execNode(
      CLI,
      [
        'sign',
        '--key',
        'hashivault://readonly',
        '--tlog-upload=false',
        ...reg(),
        img.ref
      ],
      { env: env({ VAULT_TOKEN: token }) }
    )
    assert.equal(r.code, 7, r.stderr)
    assert.match(r.stderr, /KMS_PERMISSION_DENIED/)
    assert.match(r.stderr, /path "transit\/sign\/readonly\/\*"/)
    assert.equal(await readSigManifest(w, img.repo, img.digest), undefined)
  })

  test('Vault throttling within the retry budget still signs; no credentials is a coded error', async () => {
    vault.createKey('busy')
    const token = vault.addToken(signerPolicy('busy'))
    const img = await freshImage(w)
    vault.throttle(3)
    const r = await execNode(
      CLI,
      [
        'sign',
        '--key',
        'hashivault://busy',
        '--tlog-upload=false',
        ...reg(),
        img.ref
      ],
      { env: env({ VAULT_TOKEN: token }) }
    )
    assert.equal(r.code, 0, r.stderr)
    const none = await execNode(
      CLI,
      [
        'sign',
        '--key',
        'hashivault://busy',
        '--tlog-upload=false',
        ...reg(),
        img.ref
      ],
      { env: env() }
    )
    assert.equal(none.code, 7)
    assert.match(none.stderr, /KMS_CREDENTIALS_MISSING/)
    assert.match(none.stderr, /VAULT_AUTH_ROLE/)
  })
})

describe('hashivault:// through the GitHub action', () => {
  test("sign logs in to Vault with the job's OIDC token; verify reads the public key from Vault", async () => {
    vault.createKey('action')
    vault.addRole('release', {
      boundAudiences: ['vault'],
      boundClaims: { repository: 'acme/app' },
      policy: signerPolicy('action')
    })
    const img = await freshImage(w)
    const registryInputs = {
      'registry-username': w.registry.username ?? '',
      'registry-password': w.registry.password ?? ''
    }
    const r = await runAction(root, {
      inputs: {
        images: img.ref,
        key: 'hashivault://action',
        format: 'both',
        'rekor-url': w.stack.rekorUrl,
        'trusted-root': w.stack.trustedRootPath,
        ...registryInputs
      },
      env: {
        ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
        VAULT_ADDR: vault.url,
        VAULT_AUTH_ROLE: 'release'
      }
    })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(oidc.lastAudience, 'vault')
    const jobToken = oidc.tokens[oidc.tokens.length - 1] ?? ''
    assert.ok(!r.stdout.replace(/^::add-mask::.*$/gm, '').includes(jobToken))
    assert.deepEqual(
      (
        await oracleKeyed(img.repo, img.digest, vault.publicKeyPem('action'))
      ).sort(),
      ['bundle', 'legacy']
    )
    const v = await runAction(join(root, 'verify'), {
      inputs: {
        images: img.ref,
        key: 'hashivault://action',
        'trusted-root': w.stack.trustedRootPath,
        ...registryInputs
      },
      env: {
        VAULT_ADDR: vault.url,
        VAULT_TOKEN: vault.addToken(signerPolicy('action'))
      }
    })
    assert.equal(v.exitCode, 0, v.stdout + v.stderr)
    assert.equal(v.outputs.verified, img.digest)
  })
})

describe('awskms:// through the CLI and the action', () => {
  const awsEnv = (
    u: { accessKeyId: string; secretAccessKey: string },
    extra: Record<string, string> = {}
  ): Record<string, string> => ({
    AWS_ACCESS_KEY_ID: u.accessKeyId,
    AWS_SECRET_ACCESS_KEY: u.secretAccessKey,
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: aws.url,
    ...extra
  })

  test('generate-key-pair --kms → sign (both formats) → verify; @sigstore/verify and openssl agree; a missing IAM action is named', async () => {
    const user = aws.addUser()
    const dir = join(w.tmp, 'aws')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(dir, { recursive: true })
    const gen = await execNode(
      CLI,
      ['generate-key-pair', '--kms', 'awskms:///alias/release'],
      { env: env(awsEnv(user)), cwd: dir }
    )
    assert.equal(gen.code, 0, gen.stderr)
    const pubPath = join(dir, 'cosign.pub')
    const pub = readFileSync(pubPath, 'utf8')
    assert.equal(pub, aws.publicKeyPem('alias/release'))

    const img = await freshImage(w)
    const sign = await signBoth(
      'awskms:///alias/release',
      img.ref,
      env(awsEnv(user))
    )
    assert.equal(sign.code, 0, sign.stderr)
    assert.ok(!sign.stderr.includes(user.secretAccessKey))
    await assertBothVerify(img, pub)
    await assertOpensslVerifies(img, pubPath)
    const v = await verifyKey(
      'awskms:///alias/release',
      img.ref,
      env(awsEnv(user))
    )
    assert.equal(v.code, 0, v.stderr)

    const readOnly = aws.addUser(['kms:GetPublicKey'])
    const other = await freshImage(w)
    const denied = await execNode(
      CLI,
      [
        'sign',
        '--key',
        'awskms:///alias/release',
        '--tlog-upload=false',
        ...reg(),
        other.ref
      ],
      { env: env(awsEnv(readOnly)) }
    )
    assert.equal(denied.code, 7, denied.stderr)
    assert.match(denied.stderr, /KMS_PERMISSION_DENIED/)
    assert.match(denied.stderr, /"kms:Sign"/)
    assert.equal(await readSigManifest(w, other.repo, other.digest), undefined)
  })

  test("the sign action assumes AWS_ROLE_ARN with the job's OIDC token; the verify action reads the public key from KMS", async () => {
    aws.createKey('alias/action')
    const roleArn = aws.addRole('gha-signer', {
      audience: 'sts.amazonaws.com',
      subject: 'repo:acme/app:ref:refs/heads/main',
      actions: ['kms:GetPublicKey', 'kms:Sign']
    })
    const img = await freshImage(w)
    const registryInputs = {
      'registry-username': w.registry.username ?? '',
      'registry-password': w.registry.password ?? ''
    }
    const r = await runAction(root, {
      inputs: {
        images: img.ref,
        key: 'awskms:///alias/action',
        'rekor-url': w.stack.rekorUrl,
        'trusted-root': w.stack.trustedRootPath,
        ...registryInputs
      },
      env: {
        ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
        AWS_ROLE_ARN: roleArn,
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL: aws.url
      }
    })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(oidc.lastAudience, 'sts.amazonaws.com')
    assert.ok(
      aws.calls.some(
        c => c.api === 'AssumeRoleWithWebIdentity' && c.status === 200
      )
    )
    assert.deepEqual(
      await oracleKeyed(img.repo, img.digest, aws.publicKeyPem('alias/action')),
      ['legacy']
    )
    const v = await runAction(join(root, 'verify'), {
      inputs: {
        images: img.ref,
        key: 'awskms:///alias/action',
        'trusted-root': w.stack.trustedRootPath,
        ...registryInputs
      },
      env: awsEnv(aws.addUser(['kms:GetPublicKey']))
    })
    assert.equal(v.exitCode, 0, v.stdout + v.stderr)
    assert.equal(v.outputs.verified, img.digest)
  })
})

describe('gcpkms:// through the CLI and the action', () => {
  const KEY = 'projects/proj/locations/global/keyRings/ci/cryptoKeys/release'

  test('a service account key signs (both formats); @sigstore/verify, openssl and verify --key gcpkms:// agree', async () => {
    const version = gcp.createKey(KEY)
    const { writeFileSync } = await import('node:fs')
    const credFile = join(w.tmp, 'gcp-sa.json')
    writeFileSync(credFile, JSON.stringify(gcp.serviceAccount()))
    const gcpEnv = {
      GOOGLE_APPLICATION_CREDENTIALS: credFile,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: `${gcp.url}/`
    }
    const img = await freshImage(w)
    const sign = await signBoth(`gcpkms://${KEY}`, img.ref, env(gcpEnv))
    assert.equal(sign.code, 0, sign.stderr)
    const pub = gcp.publicKeyPem(version)
    await assertBothVerify(img, pub)
    const pubPath = join(w.tmp, 'gcp.pub')
    const pk = await execNode(
      CLI,
      ['public-key', '--key', `gcpkms://${KEY}`, '--outfile', pubPath],
      { env: env(gcpEnv) }
    )
    assert.equal(pk.code, 0, pk.stderr)
    assert.equal(readFileSync(pubPath, 'utf8'), pub)
    await assertOpensslVerifies(img, pubPath)
    const v = await verifyKey(`gcpkms://${KEY}`, img.ref, env(gcpEnv))
    assert.equal(v.code, 0, v.stderr)
  })

  test('the sign action with workload identity federation (the file google-github-actions/auth writes)', async () => {
    const key = `${KEY}-wif`
    const version = gcp.createKey(key)
    const cfg = gcp.externalAccount({}) as {
      audience: string
      credential_source: object
    }
    cfg.credential_source = {
      url: `${oidc.requestUrl}&audience=${encodeURIComponent(`https:${cfg.audience}`)}`,
      headers: { Authorization: `Bearer ${oidc.requestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' }
    }
    const { writeFileSync } = await import('node:fs')
    const credFile = join(w.tmp, 'gcp-wif.json')
    writeFileSync(credFile, JSON.stringify(cfg))
    const img = await freshImage(w)
    const r = await runAction(root, {
      inputs: {
        images: img.ref,
        key: `gcpkms://${key}`,
        'rekor-url': w.stack.rekorUrl,
        'trusted-root': w.stack.trustedRootPath,
        'registry-username': w.registry.username ?? '',
        'registry-password': w.registry.password ?? ''
      },
      env: {
        ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
        GOOGLE_APPLICATION_CREDENTIALS: credFile,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: `${gcp.url}/`
      }
    })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.deepEqual(
      await oracleKeyed(img.repo, img.digest, gcp.publicKeyPem(version)),
      ['legacy']
    )
  })
})

describe('azurekms:// through the CLI', () => {
  test('a federated token signs (both formats); @sigstore/verify, openssl and verify --key azurekms:// agree', async () => {
    const kv = await startAzureKeyVault({ jwks: jwks() })
    try {
      kv.createKey('release')
      const app = kv.addApp({})
      const { writeFileSync } = await import('node:fs')
      const tokenFile = join(w.tmp, 'azure-token')
      const { makeJwt, githubClaims } = await import('../support/oidc.ts')
      writeFileSync(
        tokenFile,
        makeJwt(githubClaims('api://AzureADTokenExchange'))
      )
      const azEnv = {
        AZURE_CLIENT_ID: app.clientId,
        AZURE_TENANT_ID: app.tenantId,
        AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        AZURE_AUTHORITY_HOST: kv.url,
        SSL_CERT_FILE: kv.caFile
      }
      const uri = `azurekms://${kv.host}/release`
      const img = await freshImage(w)
      const sign = await signBoth(uri, img.ref, env(azEnv))
      assert.equal(sign.code, 0, sign.stderr)
      const pub = kv.publicKeyPem('release')
      await assertBothVerify(img, pub)
      const pubPath = join(w.tmp, 'azure.pub')
      writeFileSync(pubPath, pub)
      await assertOpensslVerifies(img, pubPath)
      const v = await verifyKey(uri, img.ref, env(azEnv))
      assert.equal(v.code, 0, v.stderr)
    } finally {
      await kv.stop()
    }
  })
})

describe('azurekms:// through the GitHub action', () => {
  test("the sign action exchanges the job's OIDC token (audience api://AzureADTokenExchange); the verify action reads the public key from Key Vault", async () => {
    const kv = await startAzureKeyVault({ jwks: jwks() })
    try {
      kv.createKey('action')
      const app = kv.addApp({})
      const azEnv = {
        AZURE_CLIENT_ID: app.clientId,
        AZURE_TENANT_ID: app.tenantId,
        AZURE_AUTHORITY_HOST: kv.url,
        SSL_CERT_FILE: kv.caFile
      }
      const uri = `azurekms://${kv.host}/action`
      const img = await freshImage(w)
      const registryInputs = {
        'registry-username': w.registry.username ?? '',
        'registry-password': w.registry.password ?? ''
      }
      // No AZURE_FEDERATED_TOKEN_FILE: on GitHub the job token is used.
      const r = await runAction(root, {
        inputs: {
          images: img.ref,
          key: uri,
          format: 'both',
          'rekor-url': w.stack.rekorUrl,
          'trusted-root': w.stack.trustedRootPath,
          ...registryInputs
        },
        env: {
          ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
          ...azEnv
        }
      })
      assert.equal(r.exitCode, 0, r.stdout + r.stderr)
      assert.equal(oidc.lastAudience, 'api://AzureADTokenExchange')
      const jobToken = oidc.tokens[oidc.tokens.length - 1] ?? ''
      assert.ok(!r.stdout.replace(/^::add-mask::.*$/gm, '').includes(jobToken))
      const pub = kv.publicKeyPem('action')
      await assertBothVerify(img, pub)
      const pubPath = join(w.tmp, 'azure-action.pub')
      writeFileSync(pubPath, pub)
      await assertOpensslVerifies(img, pubPath)
      const v = await runAction(join(root, 'verify'), {
        inputs: {
          images: img.ref,
          key: uri,
          'trusted-root': w.stack.trustedRootPath,
          ...registryInputs
        },
        env: {
          ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
          ...azEnv
        }
      })
      assert.equal(v.exitCode, 0, v.stdout + v.stderr)
      assert.equal(v.outputs.verified, img.digest)
    } finally {
      await kv.stop()
    }
  })
})

describe('hashivault:// through the GitLab component (gitlab-ci-local)', () => {
  test('the sign job logs in to Vault with VAULT_ID_TOKEN (id_tokens); the verify job reads the public key from Vault', async () => {
    requireBuiltEntry()
    const { stringify } = await import('yaml')
    const { rmSync } = await import('node:fs')
    vault.createKey('gitlab')
    vault.addRole('gitlab-signer', {
      boundAudiences: ['vault'],
      boundClaims: { project_path: 'group/project' },
      policy: signerPolicy('gitlab')
    })
    const img = await freshImage(w)
    const component = (name: string, inputs: object): object => ({
      component: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/${name}@$CI_COMMIT_SHA`,
      inputs: {
        image: 'node:24',
        command: GITLAB_ENTRY_COMMAND,
        images: img.ref,
        key: 'hashivault://gitlab',
        'trusted-root': w.stack.trustedRootPath,
        'registry-username': w.registry.username ?? '',
        ...inputs
      }
    })
    const ci = stringify({
      include: [
        component('sign', {
          stage: 'sign',
          format: 'both',
          'rekor-url': w.stack.rekorUrl
        }),
        component('verify', { stage: 'verify' })
      ],
      stages: ['sign', 'verify']
    })
    const repo = makeComponentRepo(ci)
    const idToken = makeGitLabIdToken({ aud: 'vault' })
    try {
      const r = await runGitlabCiLocal(repo, ['--shell-isolation'], {
        variables: {
          SIGIL_REGISTRY_PASSWORD: w.registry.password ?? '',
          VAULT_ADDR: vault.url,
          VAULT_AUTH_ROLE: 'gitlab-signer',
          // What GitLab puts in the job for id_tokens: VAULT_ID_TOKEN: aud: vault
          VAULT_ID_TOKEN: idToken
        }
      })
      assert.equal(r.exitCode, 0, r.output)
      assert.match(jobLog(r, 'sigil-verify'), /verified/)
      assert.ok(!r.output.includes(idToken), 'the id token is never printed')
      assert.deepEqual(
        (
          await oracleKeyed(img.repo, img.digest, vault.publicKeyPem('gitlab'))
        ).sort(),
        ['bundle', 'legacy']
      )
    } finally {
      rmSync(repo.dir, { recursive: true, force: true })
    }
  })
})
