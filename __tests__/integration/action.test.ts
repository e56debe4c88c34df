// The GitHub entry points as the runner runs them: action.yml + dist/ in a
// child node process, inputs as INPUT_* env vars, OIDC from a loopback
// emulator of ACTIONS_ID_TOKEN_REQUEST_*, outputs and summary read back.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../support/run-action.ts'
import {
  startGitHubOidc,
  githubClaims,
  type GitHubOidc
} from '../support/oidc.ts'
import { startFaultProxy } from '../support/fault-proxy.ts'
import { startRegistry, type TestRegistry } from '../support/registry.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  freshIndex,
  oracleCheckAll,
  startWorld,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
let w: World
let oidc: GitHubOidc

before(async () => {
  w = await startWorld({ mode: 'token' })
  oidc = await startGitHubOidc({ claims: githubClaims() })
})
after(async () => {
  await Promise.all([w?.stop(), oidc?.stop()])
})

const registryInputs = (): Record<string, string> => ({
  'registry-username': w.registry.username ?? '',
  'registry-password': w.registry.password ?? ''
})

function sign(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  return runAction(root, {
    inputs: {
      'fulcio-url': w.stack.fulcioUrl,
      'rekor-url': w.stack.rekorUrl,
      'trusted-root': w.stack.trustedRootPath,
      ...registryInputs(),
      ...inputs
    },
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
      ...env
    }
  })
}

function verify(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction(join(root, 'verify'), {
    inputs: {
      'trusted-root': w.stack.trustedRootPath,
      ...registryInputs(),
      ...inputs
    }
  })
}

/** No ::warning:: after the first ::error:: (the error is read last). */
function assertNoWarningAfterError(r: ActionRun): void {
  const first = r.commands.findIndex(c => c.command === 'error')
  if (first < 0) return
  const late = r.commands.slice(first).filter(c => c.command === 'warning')
  assert.deepEqual(late, [], 'a warning came after the error')
}

const errors = (r: ActionRun): string =>
  r.commands
    .filter(c => c.command === 'error')
    .map(c => c.message)
    .join('\n')

describe('sign action', () => {
  test('keyless: single image on the token-auth registry, outputs and summary', async () => {
    const img = await freshImage(w)
    const r = await sign({ images: img.ref })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(oidc.lastAudience, 'sigstore')
    assert.equal(r.outputs.digests, img.digest)
    assert.equal(r.outputs['certificate-identity'], GITHUB_SAN)
    assert.equal(r.outputs['certificate-issuer'], GITHUB_ISSUER)
    assert.match(
      r.outputs.signatures ?? '',
      new RegExp(`${img.digest.replace(':', '-')}\\.sig$`)
    )
    assert.match(r.outputs['rekor-log-indexes'] ?? '', /^\d+$/)
    const result = JSON.parse(r.outputs.result ?? '{}')
    assert.equal(result.images[0].digest, img.digest)
    assert.match(r.summary, /Rekor log index/)
    assert.ok(r.summary.includes(img.digest))
    assert.ok(
      r.commands.some(c => c.command === 'add-mask'),
      'the OIDC token is masked'
    )
  })

  test('keyless + recursive: a multi-platform index and its children', async () => {
    const idx = await freshIndex(w)
    const r = await sign({ images: idx.ref, recursive: 'true', format: 'both' })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.deepEqual(
      (r.outputs.digests ?? '').split('\n').sort(),
      [idx.digest, ...idx.children].sort()
    )
    // Independently: @sigstore/verify accepts every legacy layer and every
    // bundle referrer the action wrote, with the expected SAN.
    for (const digest of [idx.digest, ...idx.children]) {
      const checked = await oracleCheckAll(w, idx.repo, digest)
      assert.deepEqual(
        checked.map(c => [c.format, c.san]),
        [
          ['legacy', GITHUB_SAN],
          ['bundle', GITHUB_SAN]
        ]
      )
    }
    const v = await verify({
      images: idx.ref,
      recursive: 'true',
      'certificate-identity': GITHUB_SAN,
      'certificate-oidc-issuer': GITHUB_ISSUER
    })
    assert.equal(v.exitCode, 0, v.stdout + v.stderr)
    assert.equal((v.outputs.verified ?? '').split('\n').length, 3)
    assert.match(
      v.outputs.identities ?? '',
      new RegExp(GITHUB_SAN.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    )
    assert.match(v.summary, /verification passed/)
  })

  test('no id-token permission: fails before any network call and shows the YAML', async () => {
    const before = w.stack.counts.fulcio
    const img = await freshImage(w)
    const r = await runAction(root, {
      inputs: {
        images: img.ref,
        'fulcio-url': w.stack.fulcioUrl,
        ...registryInputs()
      }
    })
    assert.equal(r.exitCode, 1)
    assert.match(errors(r), /IDENTITY_TOKEN_UNAVAILABLE/)
    assert.match(r.stdout, /permissions:%0A|permissions:\n/)
    assert.match(r.stdout, /id-token: write/)
    assert.equal(w.stack.counts.fulcio, before)
  })

  test('the token endpoint refuses the request token (401): neither Fulcio nor the id-token permission is blamed', async () => {
    const before = w.stack.counts.fulcio
    const img = await freshImage(w)
    const r = await sign(
      { images: img.ref },
      { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-refused-0123456789' }
    )
    assert.equal(r.exitCode, 1)
    const error = errors(r)
    assert.match(
      error,
      /^\[IDENTITY_TOKEN_UNAVAILABLE\] No OIDC identity token from GitHub Actions: GitHub's OIDC token endpoint refused this job's request token \(HTTP 401: Bad credentials\)/
    )
    assert.doesNotMatch(error, /Fulcio/)
    assert.match(error, /does have the id-token permission/)
    assert.doesNotMatch(error, /Give the job permission/)
    // Only the mask command itself (which the runner consumes) names it.
    const shown = (r.stdout + r.stderr)
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
    assert.ok(!shown.some(l => l.includes('req-refused-0123456789')))
    assert.equal(w.stack.counts.fulcio, before)
  })

  test('malformed image input names the input, and the reference once', async () => {
    const r = await sign({ images: 'Not A Reference!!' })
    assert.equal(r.exitCode, 1)
    assert.match(
      errors(r),
      /\[INPUT_INVALID_REFERENCE\] input "images": invalid image reference "Not A Reference!!"/
    )
    assert.equal(errors(r).split('Not A Reference!!').length, 2)
    assertNoWarningAfterError(r)
  })

  test('registry 403 names the permission; nothing half-written', async () => {
    const reg: TestRegistry = await startRegistry({
      mode: 'token',
      users: [
        { username: 'reader', password: 'readpass', pullOnly: true },
        { username: 'writer', password: 'writepass' }
      ]
    })
    try {
      const { RegistryClient } = await import('../../src/oci/index.ts')
      const { HttpClient } = await import('../../src/http/index.ts')
      const { pushTestImage } = await import('../support/registry.ts')
      const admin = new RegistryClient(reg.host, {
        http: new HttpClient({ userAgent: 't' }),
        credentials: { username: 'writer', password: 'writepass' }
      })
      const img = await pushTestImage(admin, 'locked/app', 'v1', 'locked')
      const r = await sign({
        images: `${reg.host}/locked/app@${img.digest}`,
        'registry-username': 'reader',
        'registry-password': 'readpass'
      })
      assert.equal(r.exitCode, 1)
      assert.match(errors(r), /REGISTRY_DENIED/)
      assert.match(r.stdout, /push/)
      assert.equal(
        await admin.findManifest(
          'locked/app',
          `${img.digest.replace(':', '-')}.sig`
        ),
        undefined
      )
    } finally {
      await reg.stop()
    }
  })

  test('one image refused: outputs, summary and the error list both images (issue: partial results)', async () => {
    const proxy = await startFaultProxy(w.registry.url)
    try {
      const good = await freshImage(w, 'partial/good')
      const bad = await freshImage(w, 'partial/bad')
      proxy.rules = [
        {
          method: 'PUT',
          path: /\/partial\/bad\/manifests\/sha256-/,
          faults: [{ kind: 'status', status: 400 }]
        }
      ]
      const r = await sign({
        images: [good, bad]
          .map(i => `${proxy.host}/${i.repo}@${i.digest}`)
          .join('\n')
      })
      assert.equal(r.exitCode, 1)
      assert.equal(r.outputs.digests, good.digest)
      assert.match(
        r.outputs.failed ?? '',
        new RegExp(`^${proxy.host}/partial/bad@${bad.digest} REGISTRY_ERROR `)
      )
      const result = JSON.parse(r.outputs.result ?? '{}') as {
        images: { digest: string; status: string }[]
      }
      assert.deepEqual(
        result.images.map(i => [i.digest, i.status]).sort(),
        [
          [good.digest, 'signed'],
          [bad.digest, 'failed']
        ].sort()
      )
      assert.match(r.summary, /1 of 2 images signed/)
      assert.match(r.summary, /not signed: <code>REGISTRY_ERROR<\/code>/)
      assert.match(errors(r), /1 of 2 images could not be signed \(1 signed/)
    } finally {
      await proxy.stop()
    }
  })

  test('Rekor down past the retry budget: names the service, nothing pushed', async () => {
    const img = await freshImage(w)
    w.stack.failNext('rekor', 503, 1000)
    try {
      const r = await sign({ images: img.ref, 'retry-budget': '2' })
      assert.equal(r.exitCode, 1)
      assert.match(errors(r), /Rekor at http:\/\/127\.0\.0\.1:\d+/)
      assert.match(errors(r), /nothing was pushed/)
      assert.equal(
        await w.client.findManifest(
          img.repo,
          `${img.digest.replace(':', '-')}.sig`
        ),
        undefined
      )
    } finally {
      w.stack.failNext('rekor', 503, 0)
    }
  })

  test('Fulcio unreachable: names the service, nothing pushed', async () => {
    const img = await freshImage(w)
    const r = await sign({
      images: img.ref,
      'fulcio-url': 'http://127.0.0.1:9',
      'retry-budget': '2'
    })
    assert.equal(r.exitCode, 1)
    assert.match(errors(r), /Fulcio at http:\/\/127\.0\.0\.1:9/)
    assert.match(errors(r), /nothing was pushed/)
  })

  test('debug output never contains the OIDC token, the registry password or the GitHub token', async () => {
    const img = await freshImage(w)
    const githubToken = `ghs_${'x7'.repeat(18)}`
    const r = await sign(
      { images: img.ref, format: 'both', 'github-token': githubToken },
      { ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1' }
    )
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.ok(
      r.commands.some(
        c => c.command === 'add-mask' && c.message === githubToken
      ),
      'the github-token input is masked'
    )
    assert.ok(
      r.commands.some(c => c.command === 'debug'),
      'debug lines were produced'
    )
    // Query strings read once-encoded, as the runner shows them.
    const uploads = r.commands.filter(
      c => c.command === 'debug' && /blobs\/uploads\/\?digest=/.test(c.message)
    )
    assert.ok(uploads.length > 0, 'upload URLs are in the debug output')
    for (const u of uploads) {
      assert.match(u.message, /\?digest=sha256%3A[0-9a-f]{64}/)
      assert.doesNotMatch(u.message, /%25/)
    }
    const visible = (r.stdout + r.stderr)
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    const token = oidc.tokens.at(-1) ?? ''
    assert.ok(token.length > 20)
    for (const secret of [
      token,
      ...token.split('.').filter(p => p.length > 20),
      w.registry.password ?? '',
      githubToken
    ]) {
      assert.equal(
        visible.includes(secret),
        false,
        'a secret leaked into the log'
      )
    }
  })
})

describe('key pair through the actions', () => {
  test('key PEM from a secret: signed, masked, verified with the public key', async () => {
    const { writeKeyPair } = await import('../support/world.ts')
    const { readFileSync } = await import('node:fs')
    const kp = writeKeyPair(w.tmp, 's3cret', 'action')
    const pem = readFileSync(kp.keyPath, 'utf8')
    const img = await freshImage(w)
    const r = await runAction(root, {
      inputs: {
        images: img.ref,
        key: pem,
        'key-password': 's3cret',
        'rekor-url': w.stack.rekorUrl,
        'trusted-root': w.stack.trustedRootPath,
        ...registryInputs()
      }
    })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(r.outputs['certificate-identity'], '')
    const masked = r.commands
      .filter(c => c.command === 'add-mask')
      .map(c => c.message)
    assert.ok(masked.includes('s3cret'))
    const visible = (r.stdout + r.stderr)
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    for (const line of pem
      .split('\n')
      .filter(l => l.length >= 16 && !l.startsWith('-----'))) {
      assert.equal(visible.includes(line), false, 'a key line leaked')
    }
    const v = await verify({ images: img.ref, key: kp.pubPem })
    assert.equal(v.exitCode, 0, v.stdout + v.stderr)
    assert.equal(v.outputs.verified, img.digest)
  })
})

describe('verify action', () => {
  test('passes for the right identity, fails the step for the wrong one', async () => {
    const img = await freshImage(w)
    assert.equal((await sign({ images: img.ref })).exitCode, 0)
    const ok = await verify({
      images: img.ref,
      'certificate-identity': GITHUB_SAN,
      'certificate-oidc-issuer': GITHUB_ISSUER
    })
    assert.equal(ok.exitCode, 0, ok.stdout)
    assert.equal(ok.outputs.verified, img.digest)
    assert.equal(JSON.parse(ok.outputs.result ?? '{}').ok, true)
    const bad = await verify({
      images: img.ref,
      'certificate-identity':
        'https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main',
      'certificate-oidc-issuer': GITHUB_ISSUER
    })
    assert.equal(bad.exitCode, 1)
    assert.match(errors(bad), /NO_MATCHING_SIGNATURES/)
    assert.match(errors(bad), /evil/)
    assert.equal(bad.outputs.verified, '')
    assert.match(bad.summary, /FAILED/)
  })

  test('two signatures rejected for two reasons: the ::error:: line and the summary name both', async () => {
    const img = await freshImage(w)
    assert.equal((await sign({ images: img.ref })).exitCode, 0)
    const other = await startGitHubOidc({
      claims: {
        ...githubClaims(),
        job_workflow_url:
          'https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main'
      }
    })
    try {
      const second = await sign(
        { images: img.ref },
        {
          ACTIONS_ID_TOKEN_REQUEST_URL: other.requestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: other.requestToken
        }
      )
      assert.equal(second.exitCode, 0, second.stdout)
    } finally {
      await other.stop()
    }
    const r = await verify({
      images: img.ref,
      'certificate-identity': GITHUB_SAN,
      'certificate-oidc-issuer': GITHUB_ISSUER,
      'certificate-github-workflow-repository': 'evil/app'
    })
    assert.equal(r.exitCode, 1)
    const e = errors(r)
    assert.match(e, /\[NO_MATCHING_SIGNATURES\] none of the 2 signatures/)
    assert.match(
      e,
      /1 signature: certificate workflow repository mismatch: expected "evil\/app", got "acme\/app"/
    )
    assert.match(e, /1 signature: certificate identity mismatch/)
    assert.match(r.summary, /workflow repository mismatch/)
    assert.match(r.summary, /identity mismatch/)
    assertNoWarningAfterError(r)
  })

  test('no identity policy: refuses, with the inputs to add', async () => {
    const img = await freshImage(w)
    const r = await verify({ images: img.ref })
    assert.equal(r.exitCode, 1)
    assert.match(errors(r), /INPUT_POLICY_REQUIRED/)
  })

  test('unsigned image fails with NO_SIGNATURES_FOUND', async () => {
    const img = await freshImage(w)
    const r = await verify({
      images: img.ref,
      'certificate-identity': GITHUB_SAN,
      'certificate-oidc-issuer': GITHUB_ISSUER
    })
    assert.equal(r.exitCode, 1)
    assert.match(errors(r), /NO_SIGNATURES_FOUND/)
  })
})
