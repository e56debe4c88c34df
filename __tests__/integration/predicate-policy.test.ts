// CEL predicate policies through the bundled CLI (verify-attestation
// --policy, verify-blob-attestation --policy) and the verify action
// (predicate-policy), on the real registry and the loopback Sigstore stack:
// a policy that holds passes both storage formats; a rule that fails, errors
// or does not compile, and CUE/Rego files, give their codes; a statement
// tampered to satisfy the policy is still rejected by its signature.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { execNode } from '../support/exec.ts'
import {
  GITLAB_ENTRY_COMMAND,
  jobLog,
  makeComponentRepo,
  readArtifact,
  requireBuiltEntry,
  runGitlabCiLocal,
  type ComponentRepo
} from '../support/gitlab-ci-local.ts'
import {
  GITLAB_ISSUER,
  GITLAB_SAN,
  githubClaims,
  makeGitLabIdToken,
  startGitHubOidc
} from '../support/oidc.ts'
import { runAction, type ActionRun } from '../support/run-action.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  startWorld,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
let w: World
let image: { ref: string; digest: string; repo: string }
let file: string
let blobBundle: string

const PROVENANCE = {
  buildDefinition: {
    buildType: 'https://example.com/build/v1',
    externalParameters: { workflow: { ref: 'refs/heads/main' } }
  },
  runDetails: { builder: { id: 'https://example.com/builder' } }
}

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: w.tmp,
  ...extra
})
const reg = (): string[] => [
  '--registry-username',
  w.registry.username ?? '',
  '--registry-password',
  w.registry.password ?? ''
]
const sigstore = (): string[] => [
  '--fulcio-url',
  w.stack.fulcioUrl,
  '--rekor-url',
  w.stack.rekorUrl,
  '--trusted-root',
  w.stack.trustedRootPath
]
const who = (): string[] => [
  '--certificate-identity',
  GITHUB_SAN,
  '--certificate-oidc-issuer',
  GITHUB_ISSUER,
  '--trusted-root',
  w.stack.trustedRootPath
]

let n = 0
function policy(ext: string, text: string): string {
  const p = join(w.tmp, `policy-${++n}${ext}`)
  writeFileSync(p, text)
  return p
}

const ALLOW_MAIN = [
  'validations:',
  '  - name: our-builder',
  '    expression: predicate.runDetails.builder.id == "https://example.com/builder"',
  '  - name: main-only',
  '    expression: predicate.buildDefinition.externalParameters.workflow.ref == "refs/heads/main"',
  '    message: only builds of main deploy',
  ''
].join('\n')
const RELEASE_ONLY = ALLOW_MAIN.replace(
  'ref == "refs/heads/main"',
  'ref == "refs/heads/release"'
)

before(async () => {
  w = await startWorld({ mode: 'htpasswd' })
  const predicate = join(w.tmp, 'provenance.json')
  writeFileSync(predicate, JSON.stringify(PROVENANCE))
  image = await freshImage(w, 'demo/policy')
  const a = await execNode(
    CLI,
    [
      'attest',
      '--predicate',
      predicate,
      '--type',
      'slsaprovenance1',
      '--format',
      'both',
      ...sigstore(),
      ...reg(),
      image.ref
    ],
    { env: env({ SIGSTORE_ID_TOKEN: w.token }) }
  )
  assert.equal(a.code, 0, a.stderr)
  file = join(w.tmp, 'release.tar')
  writeFileSync(file, 'release bytes')
  blobBundle = join(w.tmp, 'release.intoto.json')
  const b = await execNode(
    CLI,
    [
      'attest-blob',
      '--predicate',
      predicate,
      '--type',
      'slsaprovenance1',
      '--bundle',
      blobBundle,
      ...sigstore(),
      file
    ],
    { env: env({ SIGSTORE_ID_TOKEN: w.token }) }
  )
  assert.equal(b.code, 0, b.stderr)
})
const repos: ComponentRepo[] = []
after(async () => {
  await w?.stop()
  for (const r of repos) rmSync(r.dir, { recursive: true, force: true })
})

const verifyAttestation = (args: string[], ref = image.ref) =>
  execNode(
    CLI,
    [
      'verify-attestation',
      '--type',
      'slsaprovenance1',
      ...who(),
      ...reg(),
      ...args,
      ref
    ],
    { env: env() }
  )

describe('sigil verify-attestation --policy', () => {
  test('a policy that holds: both formats pass, the statements are printed', async () => {
    for (const p of [
      policy('.yaml', ALLOW_MAIN),
      policy(
        '.cel',
        '// ours, from main\npredicate.runDetails.builder.id.startsWith("https://example.com/") &&\n  subject.exists(s, s.digest.sha256 == "' +
          image.digest.slice('sha256:'.length) +
          '")\n'
      )
    ]) {
      const r = await verifyAttestation(['--policy', p])
      assert.equal(r.code, 0, r.stderr)
      const lines = r.stdout.trim().split('\n')
      assert.equal(lines.length, 2, 'legacy .att and bundle referrer')
      for (const l of lines)
        assert.equal(
          (JSON.parse(l) as { predicateType: string }).predicateType,
          'https://slsa.dev/provenance/v1'
        )
    }
  })

  test('a failing rule rejects every attestation: exit 12, the rule and its message named', async () => {
    const r = await verifyAttestation([
      '--output',
      'json',
      '--policy',
      policy('.yaml', RELEASE_ONLY)
    ])
    assert.equal(r.code, 12, r.stderr)
    assert.match(r.stderr, /NO_MATCHING_ATTESTATIONS/)
    assert.match(
      r.stderr,
      /rule main-only \(predicate\.buildDefinition\.externalParameters\.workflow\.ref == "refs\/heads\/release"\) returned false \(boolean\): only builds of main deploy/
    )
    const out = JSON.parse(r.stdout) as {
      images: { candidates: { ok: boolean; code?: string }[] }[]
    }
    assert.deepEqual(
      out.images[0]?.candidates.map(c => [c.ok, c.code]),
      [
        [false, 'PREDICATE_POLICY_FAILED'],
        [false, 'PREDICATE_POLICY_FAILED']
      ]
    )
    // A rule over a field the predicate lacks errors: rejected too.
    const missing = await verifyAttestation([
      '--policy',
      policy('.cel', 'predicate.materials.size() > 0')
    ])
    assert.equal(missing.code, 12, missing.stderr)
    assert.match(missing.stderr, /failed to evaluate: No such key: materials/)
    assert.match(missing.stderr, /has\(\)/)
  })

  test('a policy that does not compile, or is CUE/Rego, stops the run before the registry: exit 2', async () => {
    // An image the registry does not have: reaching it would exit 4 or 10.
    const absent = image.ref.replace(/\/demo\/policy@/, '/demo/absent@')
    const good = await verifyAttestation(
      ['--policy', policy('.yaml', ALLOW_MAIN)],
      absent
    )
    assert.notEqual(good.code, 0)
    assert.notEqual(good.code, 2, good.stderr)
    const bad = await verifyAttestation(
      ['--policy', policy('.cel', 'predicate.x ==')],
      absent
    )
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(
      bad.stderr,
      /INPUT_PREDICATE_POLICY_INVALID.*rule policy-\d+\.cel does not compile/
    )
    for (const ext of ['.rego', '.cue']) {
      const r = await verifyAttestation(
        ['--policy', policy(ext, 'package sigil')],
        absent
      )
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /sigil does not evaluate CUE or Rego/)
      assert.match(r.stderr, /written in CEL/)
    }
  })

  test('a statement tampered to satisfy the policy is rejected by its signature, not passed by the policy', async () => {
    const tag = `${image.digest.replace(':', '-')}.att`
    const m = (await w.client.getManifest(image.repo, tag)).manifest as {
      mediaType?: string
      layers: { digest: string; size: number }[]
    }
    const first = m.layers[0]!
    const envelope = JSON.parse(
      Buffer.from(await w.client.getBlob(image.repo, first.digest)).toString()
    ) as { payload: string }
    const st = JSON.parse(
      Buffer.from(envelope.payload, 'base64').toString()
    ) as typeof PROVENANCE & { predicate: typeof PROVENANCE }
    st.predicate.buildDefinition.externalParameters.workflow.ref =
      'refs/heads/release'
    envelope.payload = Buffer.from(JSON.stringify(st)).toString('base64')
    const forged = Buffer.from(JSON.stringify(envelope))
    await w.client.uploadBlob(image.repo, forged)
    const { ociDigest } = await import('../../src/util/index.ts')
    // The .att edited in place (restored after): its first layer now claims
    // a build of refs/heads/release, which the policy would accept.
    const original = JSON.stringify(m)
    m.layers[0] = { ...first, digest: ociDigest(forged), size: forged.length }
    const put = (body: string) =>
      w.client.putManifest(
        image.repo,
        tag,
        Buffer.from(body),
        m.mediaType ?? 'application/vnd.oci.image.manifest.v1+json'
      )
    await put(JSON.stringify(m))
    try {
      const r = await verifyAttestation([
        '--output',
        'json',
        '--policy',
        policy('.yaml', RELEASE_ONLY)
      ])
      assert.equal(r.code, 12, r.stderr)
      const out = JSON.parse(r.stdout) as {
        images: { candidates: { format: string; code?: string }[] }[]
      }
      const codes = Object.fromEntries(
        out.images[0]!.candidates.map(c => [c.format, c.code])
      )
      assert.match(codes.legacy ?? '', /TLOG_BODY_MISMATCH|SIGNATURE_INVALID/)
      assert.equal(codes.bundle, 'PREDICATE_POLICY_FAILED')
    } finally {
      await put(original)
    }
  })
})

describe('sigil verify-blob-attestation --policy', () => {
  test('passes with a policy that holds; a failing rule is exit 12 naming it', async () => {
    const run = (p: string) =>
      execNode(
        CLI,
        [
          'verify-blob-attestation',
          '--bundle',
          blobBundle,
          '--type',
          'slsaprovenance1',
          '--policy',
          p,
          ...who(),
          file
        ],
        { env: env() }
      )
    const ok = await run(policy('.yaml', ALLOW_MAIN))
    assert.equal(ok.code, 0, ok.stderr)
    const no = await run(policy('.yaml', RELEASE_ONLY))
    assert.equal(no.code, 12, no.stderr)
    assert.match(no.stderr, /\[PREDICATE_POLICY_FAILED\].*rule main-only/)
  })
})

describe('verify action: predicate-policy', () => {
  const verify = (inputs: Record<string, string>): Promise<ActionRun> =>
    runAction(join(root, 'verify'), {
      inputs: {
        images: image.ref,
        'predicate-type': 'slsaprovenance1',
        'trusted-root': w.stack.trustedRootPath,
        'certificate-identity': GITHUB_SAN,
        'certificate-oidc-issuer': GITHUB_ISSUER,
        'registry-username': w.registry.username ?? '',
        'registry-password': w.registry.password ?? '',
        ...inputs
      }
    })
  const errors = (r: ActionRun): string =>
    r.commands
      .filter(c => c.command === 'error')
      .map(c => c.message)
      .join('\n')

  test('passes, with the attestations output and a job summary; a failing rule fails the step with its code', async () => {
    const ok = await verify({ 'predicate-policy': policy('.yaml', ALLOW_MAIN) })
    assert.equal(ok.exitCode, 0, errors(ok) || ok.stdout)
    assert.equal(ok.outputs.verified, image.digest)
    assert.equal((ok.outputs.attestations ?? '').split('\n').length, 2)
    assert.match(ok.summary, /Sigil: attestation verification passed/)
    assert.match(ok.summary, /https:\/\/slsa\.dev\/provenance\/v1/)
    assert.match(
      ok.summary,
      /predicate policy <code>.*policy-\d+\.yaml<\/code>/
    )
    assert.match(ok.summary, /✅ 2 verified/)
    assert.match(ok.summary, /legacy: <code>/)

    const no = await verify({
      'predicate-policy': policy('.yaml', RELEASE_ONLY)
    })
    assert.equal(no.exitCode, 1)
    assert.match(errors(no), /\[NO_MATCHING_ATTESTATIONS\].*rule main-only/s)
    assert.equal(no.outputs.verified, '')
    assert.match(no.summary, /attestation verification FAILED/)
    assert.match(no.summary, /❌ NO_MATCHING_ATTESTATIONS/)

    const rego = await verify({
      'predicate-policy': policy('.rego', 'package sigil')
    })
    assert.equal(rego.exitCode, 1)
    assert.match(
      errors(rego),
      /\[INPUT_PREDICATE_POLICY_UNSUPPORTED\] input "predicate-policy"|INPUT_PREDICATE_POLICY_UNSUPPORTED/
    )
    const alone = await verify({
      'predicate-type': '',
      'predicate-policy': policy('.yaml', ALLOW_MAIN)
    })
    assert.equal(alone.exitCode, 1)
    assert.match(errors(alone), /INPUT_CONFLICT.*predicate-type/s)
  })
})

describe('GitLab component: verify with predicate-type and predicate-policy', () => {
  test('the policy in the project holds: deploy runs; a failing rule fails the job with exit 12', async () => {
    requireBuiltEntry()
    const pipeline = (policyPath: string): string =>
      stringify({
        include: [
          {
            component: '$CI_SERVER_FQDN/$CI_PROJECT_PATH/verify@$CI_COMMIT_SHA',
            inputs: {
              stage: 'verify',
              image: 'node:24',
              command: GITLAB_ENTRY_COMMAND,
              images: image.ref,
              'predicate-type': 'slsaprovenance1',
              'predicate-policy': policyPath,
              'certificate-identity': GITHUB_SAN,
              'certificate-oidc-issuer': GITHUB_ISSUER,
              'trusted-root': w.stack.trustedRootPath,
              'registry-username': w.registry.username ?? ''
            }
          }
        ],
        stages: ['verify', 'deploy'],
        deploy: {
          stage: 'deploy',
          needs: ['sigil-verify'],
          script: ['echo "deploying $SIGIL_VERIFIED"']
        }
      })
    const run = async (policyPath: string) => {
      const repo = makeComponentRepo(pipeline(policyPath), {
        'policy/provenance.yaml': ALLOW_MAIN,
        'policy/release-only.yaml': RELEASE_ONLY
      })
      repos.push(repo)
      return {
        repo,
        r: await runGitlabCiLocal(repo, ['--shell-isolation'], {
          variables: { SIGIL_REGISTRY_PASSWORD: w.registry.password ?? '' }
        })
      }
    }
    const ok = await run('policy/provenance.yaml')
    assert.equal(ok.r.exitCode, 0, ok.r.output)
    assert.ok(
      jobLog(ok.r, 'deploy').includes(`deploying ${image.digest}`),
      ok.r.stdout
    )
    assert.equal(
      readArtifact(ok.repo, 'sigil-verify', 'sigil-attestations.jsonl')
        .trim()
        .split('\n').length,
      2
    )
    const no = await run('policy/release-only.yaml')
    assert.equal(no.r.exitCode, 1, no.r.output)
    const log = jobLog(no.r, 'sigil-verify')
    assert.match(log, /NO_MATCHING_ATTESTATIONS/)
    assert.match(log, /rule main-only/)
    assert.match(no.r.stderr, /FAIL 12\b/)
    assert.doesNotMatch(no.r.output, /deploying sha256/)
  })
})

/** The fenced block of README.md whose first line is `first` (indentation removed). */
function readmeBlock(first: string): string {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n')
  const at = lines.findIndex(l => l.trim() === first)
  assert.ok(at > 0, `README has no block starting ${first}`)
  const indent = /^ */.exec(lines[at] ?? '')?.[0].length ?? 0
  const end = lines.findIndex((l, i) => i > at && l.trim() === '```')
  return `${lines
    .slice(at, end)
    .map(l => l.slice(indent))
    .join('\n')}\n`
}

describe("README: the worked examples' policies work", () => {
  test('sbom-policy.cel with verify-attestation --type cyclonedx: a clean SBOM passes, a GPL component is rejected', async () => {
    const cel = policy(
      '.cel',
      readmeBlock(
        '// sbom-policy.cel: a CycloneDX SBOM that lists components, none of them GPL-3.0'
      )
    )
    const attest = async (components: object[]) => {
      const img = await freshImage(w, 'demo/policy-sbom')
      const sbom = join(w.tmp, `sbom-${++n}.cdx.json`)
      writeFileSync(
        sbom,
        JSON.stringify({
          bomFormat: 'CycloneDX',
          specVersion: '1.5',
          components
        })
      )
      const r = await execNode(
        CLI,
        [
          'attest',
          '--predicate',
          sbom,
          '--type',
          'cyclonedx',
          ...sigstore(),
          ...reg(),
          img.ref
        ],
        { env: env({ SIGSTORE_ID_TOKEN: w.token }) }
      )
      assert.equal(r.code, 0, r.stderr)
      return execNode(
        CLI,
        [
          'verify-attestation',
          '--type',
          'cyclonedx',
          '--policy',
          cel,
          ...who(),
          ...reg(),
          img.ref
        ],
        { env: env() }
      )
    }
    const clean = await attest([
      {
        name: 'a',
        licenses: [
          { license: { id: 'MIT' } },
          { expression: 'MIT OR Apache-2.0' }
        ]
      },
      { name: 'b' }
    ])
    assert.equal(clean.code, 0, clean.stderr)
    const gpl = await attest([
      { name: 'a', licenses: [{ license: { id: 'GPL-3.0-only' } }] }
    ])
    assert.equal(gpl.code, 12, gpl.stderr)
    assert.match(gpl.stderr, /rule policy-\d+\.cel .* returned false/)
  })

  test('GitHub: provenance of a tag build passes .github/sigil/provenance-policy.yaml; a branch build is refused by tag-build', async () => {
    const file = policy(
      '.yaml',
      readmeBlock('# .github/sigil/provenance-policy.yaml')
    )
    const oidc = await startGitHubOidc({ claims: githubClaims() })
    try {
      const run = async (ref: string) => {
        const img = await freshImage(w, 'demo/policy-gh')
        const sign = await runAction(root, {
          inputs: {
            images: img.ref,
            'predicate-type': 'slsaprovenance1',
            'fulcio-url': w.stack.fulcioUrl,
            'rekor-url': w.stack.rekorUrl,
            'trusted-root': w.stack.trustedRootPath,
            'registry-username': w.registry.username ?? '',
            'registry-password': w.registry.password ?? ''
          },
          env: {
            ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
            GITHUB_ACTIONS: 'true',
            GITHUB_SERVER_URL: 'https://github.com',
            GITHUB_REPOSITORY: 'octo/app',
            GITHUB_REPOSITORY_ID: '42',
            GITHUB_REPOSITORY_OWNER_ID: '7',
            GITHUB_WORKFLOW_REF: `octo/app/.github/workflows/release.yml@${ref}`,
            GITHUB_REF: ref,
            GITHUB_SHA: 'c'.repeat(40),
            GITHUB_RUN_ID: '100',
            GITHUB_RUN_ATTEMPT: '1',
            GITHUB_EVENT_NAME: 'push',
            RUNNER_ENVIRONMENT: 'github-hosted'
          }
        })
        assert.equal(sign.exitCode, 0, sign.stdout)
        return runAction(join(root, 'verify'), {
          inputs: {
            images: img.ref,
            'predicate-type': 'slsaprovenance1',
            'predicate-policy': file,
            'trusted-root': w.stack.trustedRootPath,
            'certificate-identity': GITHUB_SAN,
            'certificate-oidc-issuer': GITHUB_ISSUER,
            'registry-username': w.registry.username ?? '',
            'registry-password': w.registry.password ?? ''
          }
        })
      }
      const tag = await run('refs/tags/v1.2.3')
      assert.equal(tag.exitCode, 0, tag.stdout)
      assert.equal((tag.outputs.attestations ?? '').split('\n').length, 1)
      const branch = await run('refs/heads/main')
      assert.equal(branch.exitCode, 1)
      assert.match(
        branch.commands
          .filter(c => c.command === 'error')
          .map(c => c.message)
          .join('\n'),
        /rule tag-build .*: only builds of a release tag deploy/
      )
    } finally {
      await oidc.stop()
    }
  })

  test('GitLab: provenance of a tag pipeline passes .gitlab/sigil/provenance-policy.yaml; a branch pipeline is refused', async () => {
    requireBuiltEntry()
    const run = async (variables: Record<string, string>) => {
      const img = await freshImage(w, 'demo/policy-gl')
      const component = (name: string, inputs: object): object => ({
        component: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/${name}@$CI_COMMIT_SHA`,
        inputs: {
          stage: name,
          image: 'node:24',
          command: GITLAB_ENTRY_COMMAND,
          images: img.ref,
          'trusted-root': w.stack.trustedRootPath,
          'registry-username': w.registry.username ?? '',
          ...inputs
        }
      })
      const repo = makeComponentRepo(
        stringify({
          include: [
            component('sign', {
              'predicate-type': 'slsaprovenance1',
              format: 'bundle',
              'fulcio-url': w.stack.fulcioUrl,
              'rekor-url': w.stack.rekorUrl
            }),
            component('verify', {
              'predicate-type': 'slsaprovenance1',
              'predicate-policy': '.gitlab/sigil/provenance-policy.yaml',
              'certificate-identity': GITLAB_SAN,
              'certificate-oidc-issuer': GITLAB_ISSUER
            })
          ],
          stages: ['sign', 'verify']
        }),
        {
          '.gitlab/sigil/provenance-policy.yaml': readmeBlock(
            '# .gitlab/sigil/provenance-policy.yaml'
          )
        }
      )
      repos.push(repo)
      return runGitlabCiLocal(repo, ['--shell-isolation'], {
        variables: {
          SIGIL_REGISTRY_PASSWORD: w.registry.password ?? '',
          SIGSTORE_ID_TOKEN: makeGitLabIdToken({
            job_workflow_url: GITLAB_SAN
          }),
          ...variables
        }
      })
    }
    const tag = await run({ CI_COMMIT_TAG: 'v1.2.3' })
    assert.equal(tag.exitCode, 0, tag.output)
    const branch = await run({})
    assert.equal(branch.exitCode, 1, branch.output)
    assert.match(
      jobLog(branch, 'sigil-verify'),
      /rule tag-pipeline .*: only tag pipelines deploy/
    )
  })
})
