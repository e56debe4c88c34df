// The attestation and file inputs through the entry points as their runners
// run them: the sign/verify actions (action harness, GitHub OIDC emulator)
// and the GitLab component (gitlab-ci-local), on the real registry and the
// loopback Sigstore stack. What they write is judged by @sigstore/verify.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { stringify } from 'yaml'
import { runAction, type ActionRun } from '../support/run-action.ts'
import {
  GITLAB_ISSUER,
  GITLAB_SAN,
  githubClaims,
  makeGitLabIdToken,
  startGitHubOidc,
  type GitHubOidc
} from '../support/oidc.ts'
import {
  GITLAB_ENTRY_COMMAND,
  jobLog,
  makeComponentRepo,
  readArtifact,
  requireBuiltEntry,
  runGitlabCiLocal,
  type ComponentRepo
} from '../support/gitlab-ci-local.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  oracleCheckAll,
  startWorld,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
let w: World
let oidc: GitHubOidc
const repos: ComponentRepo[] = []

before(async () => {
  requireBuiltEntry()
  w = await startWorld({ mode: 'htpasswd' })
  oidc = await startGitHubOidc({ claims: githubClaims() })
})
after(async () => {
  await Promise.all([w?.stop(), oidc?.stop()])
  for (const r of repos) rmSync(r.dir, { recursive: true, force: true })
})

const registryInputs = (): Record<string, string> => ({
  'registry-username': w.registry.username ?? '',
  'registry-password': w.registry.password ?? ''
})

/** A GitHub workflow run's context, as the runner sets it. */
const GITHUB_CONTEXT = {
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'octo/app',
  GITHUB_REPOSITORY_ID: '42',
  GITHUB_REPOSITORY_OWNER_ID: '7',
  GITHUB_WORKFLOW_REF: 'octo/app/.github/workflows/release.yml@refs/heads/main',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_SHA: 'b'.repeat(40),
  GITHUB_RUN_ID: '99',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_EVENT_NAME: 'push',
  RUNNER_ENVIRONMENT: 'github-hosted'
}

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
      ...GITHUB_CONTEXT,
      ...env
    }
  })
}

function verify(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction(join(root, 'verify'), {
    inputs: {
      'trusted-root': w.stack.trustedRootPath,
      'certificate-identity': GITHUB_SAN,
      'certificate-oidc-issuer': GITHUB_ISSUER,
      ...registryInputs(),
      ...inputs
    }
  })
}

const errors = (r: ActionRun): string =>
  r.commands
    .filter(c => c.command === 'error')
    .map(c => c.message)
    .join('\n')

describe('actions: attest and verify-attestation', () => {
  test('predicate-type slsaprovenance1 without a predicate: provenance of the run, .att and referrer; verify gates on it', async () => {
    const img = await freshImage(w, 'demo/action-attest')
    const fulcio = w.stack.counts.fulcio
    const r = await sign({
      images: img.ref,
      'predicate-type': 'slsaprovenance1',
      format: 'both'
    })
    assert.equal(r.exitCode, 0, errors(r) || r.stdout)
    assert.equal(w.stack.counts.fulcio - fulcio, 1)
    assert.equal(r.outputs.digests, img.digest)
    assert.match(r.outputs.signatures ?? '', /\.att\n.*@sha256:/)

    // The .att layer judged like a legacy signature is not possible (DSSE):
    // the referrer bundle by @sigstore/verify through the shared walk.
    const checked = await oracleCheckAll(w, img.repo, img.digest)
    assert.deepEqual(
      checked.map(c => c.format),
      ['bundle']
    )

    const v = await verify({
      images: img.ref,
      'predicate-type': 'slsaprovenance1'
    })
    assert.equal(v.exitCode, 0, errors(v) || v.stdout)
    assert.equal(v.outputs.verified, img.digest)
    const lines = (v.outputs.attestations ?? '').split('\n')
    assert.equal(lines.length, 2, 'legacy and bundle')
    for (const l of lines) {
      const st = JSON.parse(l) as {
        predicateType: string
        predicate: { runDetails: { builder: { id: string } } }
      }
      assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1')
      assert.equal(
        st.predicate.runDetails.builder.id,
        'https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main'
      )
    }
    const wrong = await verify({ images: img.ref, 'predicate-type': 'spdx' })
    assert.equal(wrong.exitCode, 1)
    assert.match(errors(wrong), /\[NO_MATCHING_ATTESTATIONS\]/)
  })

  test('subject-path with a glob: one bundle per file, listed in outputs, verified by @sigstore/verify', async () => {
    const dir = join(w.tmp, 'release')
    mkdirSync(dir, { recursive: true })
    const files = ['app-linux-amd64', 'app-linux-arm64'].map(f => {
      const p = join(dir, f)
      writeFileSync(p, `binary ${f}`)
      return p
    })
    const r = await sign({ 'subject-path': `${dir}/app-*` })
    assert.equal(r.exitCode, 0, errors(r) || r.stdout)
    assert.deepEqual(
      (r.outputs.bundles ?? '').split('\n'),
      files.map(f => `${f}.sigstore.json`)
    )
    for (const f of files)
      verifyWithSigstoreJs({
        trustedRoot: w.stack.trustedRoot,
        bundle: JSON.parse(
          readFileSync(`${f}.sigstore.json`, 'utf8')
        ) as unknown,
        artifact: readFileSync(f),
        san: GITHUB_SAN,
        issuer: GITHUB_ISSUER
      })
    assert.match(r.summary, /files signed/)

    const none = await sign({ 'subject-path': `${dir}/nothing-*` })
    assert.equal(none.exitCode, 1)
    assert.match(errors(none), /\[INPUT_NO_MATCHING_FILES\]/)
    const both = await sign({
      'subject-path': files[0] ?? '',
      images: 'registry.example/x@sha256:' + 'a'.repeat(64)
    })
    assert.equal(both.exitCode, 1)
    assert.match(errors(both), /\[INPUT_CONFLICT\]/)
  })
})

describe('action: push-to-github-attestations', () => {
  test("each attestation is POSTed to the repository's attestations API in GitHub's request shape; a refusal fails the step with a code", async () => {
    const seen: {
      method?: string
      url?: string
      headers: IncomingHttpHeaders
      body: string
    }[] = []
    let status = 201
    const api = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body
        })
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(
          status === 201
            ? '{"id":"4711"}'
            : '{"message":"Resource not accessible by integration"}'
        )
      })
    })
    await new Promise<void>(r => api.listen(0, '127.0.0.1', r))
    const port = (api.address() as AddressInfo).port
    try {
      const img = await freshImage(w, 'demo/gh-store')
      const env = { GITHUB_API_URL: `http://127.0.0.1:${port}` }
      const inputs = {
        images: img.ref,
        'predicate-type': 'slsaprovenance1',
        format: 'bundle',
        'push-to-github-attestations': 'true',
        'github-token': 'ghs_attestations_token_0123456789'
      }
      const r = await sign(inputs, env)
      assert.equal(r.exitCode, 0, errors(r) || r.stdout)
      assert.equal(seen.length, 1)
      const req = seen[0]!
      assert.equal(req.method, 'POST')
      assert.equal(req.url, '/repos/octo/app/attestations')
      assert.equal(
        req.headers.authorization,
        'Bearer ghs_attestations_token_0123456789'
      )
      assert.equal(req.headers.accept, 'application/vnd.github+json')
      assert.equal(req.headers['x-github-api-version'], '2022-11-28')
      assert.equal(req.headers['content-type'], 'application/json')
      const body = JSON.parse(req.body) as { bundle: { mediaType: string } }
      assert.deepEqual(Object.keys(body), ['bundle'])
      assert.equal(
        body.bundle.mediaType,
        'application/vnd.dev.sigstore.bundle.v0.3+json'
      )
      verifyWithSigstoreJs({
        trustedRoot: w.stack.trustedRoot,
        bundle: body.bundle,
        san: GITHUB_SAN,
        issuer: GITHUB_ISSUER
      })
      assert.ok(
        !(r.stdout + r.stderr)
          .split('\n')
          .filter(l => !l.startsWith('::add-mask::'))
          .some(l => l.includes('ghs_attestations_token_0123456789')),
        'the token is never shown'
      )

      status = 403
      const refused = await sign(inputs, env)
      assert.equal(refused.exitCode, 1)
      assert.match(errors(refused), /\[GITHUB_ATTESTATIONS_FAILED\].*HTTP 403/)
      assert.match(refused.stdout, /attestations: write/)
    } finally {
      await new Promise(r => api.close(r))
    }
  })
})

describe('GitLab component: attest and verify predicate-type', () => {
  test('provenance of the pipeline job attested; verify with predicate-type passes and the deploy job runs', async () => {
    const img = await freshImage(w, 'demo/gitlab-attest')
    const component = (name: string, inputs: object): object => ({
      component: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/${name}@$CI_COMMIT_SHA`,
      inputs: {
        stage: name,
        image: 'node:24',
        command: GITLAB_ENTRY_COMMAND,
        'trusted-root': w.stack.trustedRootPath,
        'registry-username': w.registry.username ?? '',
        ...inputs
      }
    })
    const ci = stringify({
      include: [
        component('sign', {
          images: img.ref,
          'predicate-type': 'slsaprovenance1',
          format: 'bundle',
          'fulcio-url': w.stack.fulcioUrl,
          'rekor-url': w.stack.rekorUrl
        }),
        component('verify', {
          images: img.ref,
          'predicate-type': 'slsaprovenance1',
          'certificate-identity': GITLAB_SAN,
          'certificate-oidc-issuer': GITLAB_ISSUER
        })
      ],
      stages: ['sign', 'verify', 'deploy'],
      deploy: {
        stage: 'deploy',
        needs: ['sigil-verify'],
        script: ['echo "deploying $SIGIL_VERIFIED"']
      }
    })
    const repo = makeComponentRepo(ci)
    repos.push(repo)
    const r = await runGitlabCiLocal(repo, ['--shell-isolation'], {
      variables: {
        SIGIL_REGISTRY_PASSWORD: w.registry.password ?? '',
        SIGSTORE_ID_TOKEN: makeGitLabIdToken({ job_workflow_url: GITLAB_SAN })
      }
    })
    assert.equal(r.exitCode, 0, r.output)
    assert.ok(jobLog(r, 'deploy').includes(`deploying ${img.digest}`), r.stdout)
    const lines = readArtifact(repo, 'sigil-verify', 'sigil-attestations.jsonl')
      .trim()
      .split('\n')
    assert.equal(lines.length, 1)
    const st = JSON.parse(lines[0] ?? '') as {
      predicateType: string
      predicate: {
        buildDefinition: {
          buildType: string
          resolvedDependencies: { digest: { gitCommit: string } }[]
        }
        runDetails: { builder: { id: string } }
      }
    }
    assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1')
    assert.equal(
      st.predicate.buildDefinition.buildType,
      'https://github.com/sigil-sign/sigil/buildtypes/gitlab-ci/v1'
    )
    assert.match(
      st.predicate.buildDefinition.resolvedDependencies[0]?.digest.gitCommit ??
        '',
      /^[0-9a-f]{40}$/
    )
    assert.match(st.predicate.runDetails.builder.id, /\/-\/runners\//)
    const checked = await oracleCheckAll(w, img.repo, img.digest, {
      san: GITLAB_SAN,
      issuer: GITLAB_ISSUER
    })
    assert.deepEqual(
      checked.map(c => c.format),
      ['bundle']
    )
  })
})
