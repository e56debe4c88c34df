// The bundled CLI (dist/cli, dist/conformance) as users run it: key-pair and
// keyless signing, verification with cosign-like output and exit codes,
// verify-blob and the sigstore-conformance verify-bundle protocol against
// real public-good bundles with the embedded trusted root.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  pushTestImage,
  startRegistry,
  trustingClient,
  type TestRegistry
} from '../support/registry.ts'
import { vectorsDir, vectorsSkipReason } from '../support/vectors.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  startWorld,
  registryFlags,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
/** A Node 20 binary on PATH (the machine's own), outside node_modules. */
const node20 = (
  spawnSync('sh', ['-c', 'which -a node'], { encoding: 'utf8' }).stdout ?? ''
)
  .split('\n')
  .filter(p => p && !p.includes('node_modules'))
  .find(
    p =>
      spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout?.startsWith(
        'v20.'
      ) ?? false
  )
const CLI = join(root, 'dist/cli/index.js')
const CONFORMANCE = join(root, 'dist/conformance/index.js')
let w: World

before(async () => {
  w = await startWorld({ mode: 'htpasswd' })
})
after(async () => {
  await w?.stop()
})

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: w.tmp,
  SIGIL_TUF_OFFLINE: '1',
  ...extra
})
const reg = (): string[] => registryFlags(w)
const sigstore = (): string[] => [
  '--fulcio-url',
  w.stack.fulcioUrl,
  '--rekor-url',
  w.stack.rekorUrl,
  '--trusted-root',
  w.stack.trustedRootPath
]

describe('sigil CLI', () => {
  test('version and usage', async () => {
    const pkg = JSON.parse(
      readFileSync(join(root, 'package.json'), 'utf8')
    ) as { version: string }
    assert.equal(
      (await execNode(CLI, ['version'])).stdout.trim(),
      `sigil ${pkg.version}`
    )
    const r = await execNode(CLI, ['bogus'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Usage: sigil/)
  })

  test('generate-key-pair → sign --key → verify --key (cosign exit codes)', async () => {
    const pw = { COSIGN_PASSWORD: 'correct horse' }
    const gen = await execNode(CLI, ['generate-key-pair'], {
      env: env(pw),
      cwd: w.tmp
    })
    assert.equal(gen.code, 0, gen.stderr)
    assert.match(
      readFileSync(join(w.tmp, 'cosign.key'), 'utf8'),
      /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/
    )
    const again = await execNode(CLI, ['generate-key-pair'], {
      env: env(pw),
      cwd: w.tmp
    })
    assert.equal(again.code, 2, 'refuses to overwrite cosign.key')

    const img = await freshImage(w)
    const sign = await execNode(
      CLI,
      [
        'sign',
        '--key',
        join(w.tmp, 'cosign.key'),
        ...sigstore(),
        ...reg(),
        '-a',
        'env=prod',
        img.ref
      ],
      { env: env(pw) }
    )
    assert.equal(sign.code, 0, sign.stderr)
    assert.match(sign.stdout, /legacy .*\.sig logIndex=\d+/)

    const verify = await execNode(
      CLI,
      [
        'verify',
        '--key',
        join(w.tmp, 'cosign.pub'),
        '--trusted-root',
        w.stack.trustedRootPath,
        ...reg(),
        '-a',
        'env=prod',
        img.ref
      ],
      { env: env() }
    )
    assert.equal(verify.code, 0, verify.stderr)
    assert.match(
      verify.stderr,
      /The signatures were verified against the specified public key/
    )
    const claims = JSON.parse(verify.stdout.trim()) as {
      critical: { image: Record<string, string> }
      optional: Record<string, string>
    }[]
    assert.equal(
      claims[0]?.critical.image['docker-manifest-digest'],
      img.digest
    )
    assert.deepEqual(claims[0]?.optional, { env: 'prod' })

    const wrongPw = await execNode(
      CLI,
      [
        'sign',
        '--key',
        join(w.tmp, 'cosign.key'),
        ...sigstore(),
        ...reg(),
        img.ref
      ],
      { env: env({ COSIGN_PASSWORD: 'nope' }) }
    )
    assert.equal(wrongPw.code, 6, wrongPw.stderr)
    assert.match(wrongPw.stderr, /KEY_DECRYPTION_FAILED/)
    assert.match(wrongPw.stderr, /COSIGN_PASSWORD/)

    const otherDir = join(w.tmp, 'other')
    mkdirSync(otherDir)
    await execNode(CLI, ['generate-key-pair'], {
      env: env({ COSIGN_PASSWORD: '' }),
      cwd: otherDir
    })
    const wrongKey = await execNode(
      CLI,
      [
        'verify',
        '--key',
        join(otherDir, 'cosign.pub'),
        '--trusted-root',
        w.stack.trustedRootPath,
        ...reg(),
        img.ref
      ],
      { env: env() }
    )
    assert.equal(wrongKey.code, 12, wrongKey.stderr)

    const unsigned = await freshImage(w)
    const none = await execNode(
      CLI,
      [
        'verify',
        '--key',
        join(w.tmp, 'cosign.pub'),
        '--trusted-root',
        w.stack.trustedRootPath,
        ...reg(),
        unsigned.ref
      ],
      { env: env() }
    )
    assert.equal(none.code, 10)
    assert.match(none.stderr, /NO_SIGNATURES_FOUND/)
  })

  test('--insecure-ignore-tlog says what was and was not checked, and warns', async () => {
    const dir = join(w.tmp, 'ignore-tlog')
    mkdirSync(dir)
    const pw = { COSIGN_PASSWORD: '' }
    await execNode(CLI, ['generate-key-pair'], { env: env(pw), cwd: dir })
    const sign = (ref: string, upload: boolean) =>
      execNode(
        CLI,
        [
          'sign',
          '--key',
          join(dir, 'cosign.key'),
          ...sigstore(),
          ...reg(),
          `--tlog-upload=${upload}`,
          ref
        ],
        { env: env(pw) }
      )
    const verify = (ref: string) =>
      execNode(
        CLI,
        [
          'verify',
          '--key',
          join(dir, 'cosign.pub'),
          '--trusted-root',
          w.stack.trustedRootPath,
          '--insecure-ignore-tlog',
          ...reg(),
          ref
        ],
        { env: env() }
      )
    const unlogged = await freshImage(w)
    assert.equal((await sign(unlogged.ref, false)).code, 0)
    const v1 = await verify(unlogged.ref)
    assert.equal(v1.code, 0, v1.stderr)
    assert.match(v1.stderr, /insecure-ignore-tlog is set/)
    assert.match(v1.stderr, /not in a public log/)
    assert.match(v1.stderr, /The transparency log was NOT checked/)
    assert.doesNotMatch(v1.stderr, /verified offline/)

    const logged = await freshImage(w)
    assert.equal((await sign(logged.ref, true)).code, 0)
    const v2 = await verify(logged.ref)
    assert.equal(v2.code, 0, v2.stderr)
    assert.match(v2.stderr, /insecure-ignore-tlog is set/)
    assert.match(
      v2.stderr,
      /The transparency log entry of the signature was verified offline/
    )
    assert.doesNotMatch(v2.stderr, /NOT checked/)
  })

  test('keyless from SIGSTORE_ID_TOKEN, JSON output, identity policy required', async () => {
    const img = await freshImage(w)
    const sign = await execNode(
      CLI,
      [
        'sign',
        '--format',
        'both',
        '--output',
        'json',
        ...sigstore(),
        ...reg(),
        img.ref
      ],
      { env: env({ SIGSTORE_ID_TOKEN: w.token }) }
    )
    assert.equal(sign.code, 0, sign.stderr)
    const result = JSON.parse(sign.stdout) as {
      identity: { subject: string }
      images: { signatures: unknown[] }[]
    }
    assert.equal(result.identity.subject, GITHUB_SAN)
    assert.equal(result.images[0]?.signatures.length, 2)
    assert.equal(
      sign.stderr.includes(w.token),
      false,
      'the token is never printed'
    )

    const noPolicy = await execNode(
      CLI,
      ['verify', '--trusted-root', w.stack.trustedRootPath, ...reg(), img.ref],
      { env: env() }
    )
    assert.equal(noPolicy.code, 2)
    assert.match(noPolicy.stderr, /INPUT_POLICY_REQUIRED/)

    const v = await execNode(
      CLI,
      [
        'verify',
        '--certificate-identity-regexp',
        '^https://github\\.com/acme/app/.*',
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        '--trusted-root',
        w.stack.trustedRootPath,
        '--output',
        'json',
        ...reg(),
        img.ref
      ],
      { env: env() }
    )
    assert.equal(v.code, 0, v.stderr)
    const out = JSON.parse(v.stdout) as {
      ok: boolean
      images: { candidates: { ok: boolean; format: string }[] }[]
    }
    assert.equal(out.ok, true)
    assert.deepEqual(
      out.images[0]?.candidates.map(c => [c.format, c.ok]),
      [
        ['bundle', true],
        ['legacy', true]
      ]
    )

    const noToken = await execNode(
      CLI,
      ['sign', ...sigstore(), ...reg(), img.ref],
      { env: env() }
    )
    assert.equal(noToken.code, 3)
    assert.match(noToken.stderr, /SIGSTORE_ID_TOKEN/)
  })
})

describe('sigil CLI and a TLS registry on loopback', () => {
  let tls: TestRegistry
  before(async () => {
    tls = await startRegistry({ mode: 'htpasswd', tls: true })
  })
  after(() => tls?.stop())

  test('sign and verify find https on their own; the CA comes from SSL_CERT_FILE', async () => {
    const { http, client: admin } = trustingClient(tls, { scheme: 'https' })
    const img = await pushTestImage(admin, 'cli/tls', 'v1', 'over tls')
    await http.close()
    const ref = `${tls.host}/cli/tls@${img.digest}`
    const creds = [
      '--registry-username',
      tls.username ?? '',
      '--registry-password',
      tls.password ?? ''
    ]
    const trusted = env({ SSL_CERT_FILE: tls.caFile! })
    const sign = await execNode(CLI, ['sign', ...sigstore(), ...creds, ref], {
      env: { ...trusted, SIGSTORE_ID_TOKEN: w.token }
    })
    assert.equal(sign.code, 0, sign.stderr)
    assert.match(sign.stdout, /cli\/tls:sha256-[0-9a-f]{64}\.sig/)
    const verifyArgs = [
      'verify',
      '--certificate-identity',
      GITHUB_SAN,
      '--certificate-oidc-issuer',
      GITHUB_ISSUER,
      '--trusted-root',
      w.stack.trustedRootPath,
      ...creds,
      ref
    ]
    const v = await execNode(CLI, verifyArgs, { env: trusted })
    assert.equal(v.code, 0, v.stderr)
    // Without the CA: a clear registry error (exit 4) that names the remedy.
    const untrusted = await execNode(CLI, verifyArgs, { env: env() })
    assert.equal(untrusted.code, 4, untrusted.stderr)
    assert.match(untrusted.stderr, /SSL_CERT_FILE|NODE_EXTRA_CA_CERTS/)
  })

  // Node 20 has no tls.getCACertificates: the CA list is built from
  // tls.rootCertificates and the files we read (issue 11, item 13a).
  test(
    'on Node 20 too, SSL_CERT_FILE is honoured',
    { skip: node20 ? false : 'no Node 20 binary on PATH besides node_modules' },
    async () => {
      const { http, client: admin } = trustingClient(tls, { scheme: 'https' })
      const img = await pushTestImage(admin, 'cli/tls20', 'v1', 'node 20')
      await http.close()
      const args = [
        CLI,
        'verify',
        '--certificate-identity',
        GITHUB_SAN,
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        '--trusted-root',
        w.stack.trustedRootPath,
        '--registry-username',
        tls.username ?? '',
        '--registry-password',
        tls.password ?? '',
        `${tls.host}/cli/tls20@${img.digest}`
      ]
      const r = spawnSync(node20!, args, {
        encoding: 'utf8',
        env: env({ SSL_CERT_FILE: tls.caFile! })
      })
      // Reached the registry over TLS and found nothing to verify (exit 10);
      // before, Node 20 failed with "tls.getCACertificates is not a function".
      assert.doesNotMatch(r.stderr, /getCACertificates/)
      assert.equal(r.status, 10, r.stderr)
      assert.match(r.stderr, /NO_SIGNATURES_FOUND/)
    }
  )
})

describe(
  'verify-blob and sigil-conformance on real public-good bundles',
  { skip: vectorsSkipReason() },
  () => {
    const dir = vectorsDir() ?? ''
    const bundle = join(dir, 'sigstore-python/bundle_v3_github.whl.sigstore')
    const artifact = join(dir, 'sigstore-python/bundle_v3_github.whl')
    const identity =
      'https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2'

    test('conformance verify-bundle with the embedded trusted root', async () => {
      const ok = await execNode(CONFORMANCE, [
        'verify-bundle',
        '--bundle',
        bundle,
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        artifact
      ])
      assert.equal(ok.code, 0, ok.stderr)
      const wrong = await execNode(CONFORMANCE, [
        'verify-bundle',
        '--bundle',
        bundle,
        '--certificate-identity',
        'https://github.com/evil',
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        artifact
      ])
      assert.equal(wrong.code, 1)
      const tampered = join(w.tmp, 'tampered.whl')
      const bytes = readFileSync(artifact)
      bytes[100]! ^= 1
      writeFileSync(tampered, bytes)
      const bad = await execNode(CONFORMANCE, [
        'verify-bundle',
        '--bundle',
        bundle,
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        tampered
      ])
      assert.equal(bad.code, 1)
    })

    test('conformance verify-bundle with only the artifact digest (message signature)', async () => {
      const { createHash } = await import('node:crypto')
      const digest = `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`
      const ok = await execNode(CONFORMANCE, [
        'verify-bundle',
        '--bundle',
        bundle,
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        digest
      ])
      assert.equal(ok.code, 0, ok.stderr)
      const other = `sha256:${'0'.repeat(64)}`
      const bad = await execNode(CONFORMANCE, [
        'verify-bundle',
        '--bundle',
        bundle,
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        other
      ])
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /digest/)
    })

    test('sigil verify-blob', async () => {
      const ok = await execNode(CLI, [
        'verify-blob',
        '--bundle',
        bundle,
        '--certificate-identity',
        identity,
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        artifact
      ])
      assert.equal(ok.code, 0, ok.stderr)
      assert.match(ok.stderr, /Verified OK/)
    })
  }
)
