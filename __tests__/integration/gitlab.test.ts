// The GitLab component as a pipeline runs it: templates/sign.yml and
// templates/verify.yml included with `component: …@$CI_COMMIT_SHA` in a
// throwaway component project, run by gitlab-ci-local (shell executor) with
// the built dist/gitlab entry as `command`, against a real htpasswd registry
// and the loopback Sigstore stack. SIGSTORE_ID_TOKEN is a GitLab-shaped token
// passed with --variable (gitlab-ci-local does not mint id_tokens).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import {
  GITLAB_ENTRY_COMMAND,
  REPO_ROOT,
  jobLog,
  makeComponentRepo,
  parseDotenv,
  readArtifact,
  requireBuiltEntry,
  runGitlabCiLocal,
  type ComponentRepo,
  type GclRun
} from '../support/gitlab-ci-local.ts'
import {
  GITLAB_ISSUER,
  GITLAB_SAN,
  makeGitLabIdToken
} from '../support/oidc.ts'
import { freshImage, startWorld, type World } from '../support/world.ts'

let w: World
const repos: ComponentRepo[] = []
const TOKEN = makeGitLabIdToken({ job_workflow_url: GITLAB_SAN })
const WRONG_SAN =
  'https://gitlab.com/other/project//.gitlab-ci.yml@refs/heads/main'

before(async () => {
  requireBuiltEntry()
  w = await startWorld({ mode: 'htpasswd' })
})
after(async () => {
  await w?.stop()
  for (const r of repos) rmSync(r.dir, { recursive: true, force: true })
})

type Inputs = Record<string, string | number | boolean>

/** The consumer .gitlab-ci.yml: the component included by $CI_COMMIT_SHA. */
function pipeline(o: {
  sign?: Inputs
  verify?: Inputs
  jobs?: Record<string, object>
}): string {
  const include = []
  if (o.sign)
    include.push({
      component: '$CI_SERVER_FQDN/$CI_PROJECT_PATH/sign@$CI_COMMIT_SHA',
      inputs: {
        stage: 'sign',
        image: 'node:24',
        command: GITLAB_ENTRY_COMMAND,
        'fulcio-url': w.stack.fulcioUrl,
        'rekor-url': w.stack.rekorUrl,
        'trusted-root': w.stack.trustedRootPath,
        'registry-username': w.registry.username ?? '',
        ...o.sign
      }
    })
  if (o.verify)
    include.push({
      component: '$CI_SERVER_FQDN/$CI_PROJECT_PATH/verify@$CI_COMMIT_SHA',
      inputs: {
        stage: 'verify',
        image: 'node:24',
        command: GITLAB_ENTRY_COMMAND,
        'trusted-root': w.stack.trustedRootPath,
        'registry-username': w.registry.username ?? '',
        'certificate-identity': GITLAB_SAN,
        'certificate-oidc-issuer': GITLAB_ISSUER,
        ...o.verify
      }
    })
  return stringify({
    include,
    stages: ['sign', 'verify', 'deploy'],
    ...o.jobs
  })
}

/** Downstream of the verify job: runs only when verification passed. */
const DEPLOY = {
  deploy: {
    stage: 'deploy',
    needs: ['sigil-verify'],
    script: ['echo "deploying $SIGIL_VERIFIED"']
  }
}

async function run(
  ci: string,
  o: {
    args?: string[]
    variables?: Record<string, string>
    files?: Record<string, string>
  } = {}
): Promise<{ repo: ComponentRepo; r: GclRun }> {
  const repo = makeComponentRepo(ci, o.files)
  repos.push(repo)
  const r = await runGitlabCiLocal(repo, o.args ?? ['--shell-isolation'], {
    variables: {
      SIGIL_REGISTRY_PASSWORD: w.registry.password ?? '',
      ...(o.variables ?? { SIGSTORE_ID_TOKEN: TOKEN })
    }
  })
  return { repo, r }
}

const passed = (r: GclRun, job: string): boolean =>
  new RegExp(`^ PASS  ${job}\\s*$`, 'm').test(r.stdout)
const failed = (r: GclRun, job: string): boolean =>
  new RegExp(`^ FAIL  ${job}\\s*$`, 'm').test(r.stdout)
const ran = (r: GclRun, job: string): boolean =>
  new RegExp(`^${job}\\s+starting`, 'm').test(r.stdout)

describe('GitLab component through gitlab-ci-local', () => {
  let signed: { ref: string; digest: string }

  test('sign: job passes, dotenv report + sigil-result.json, identity printed, report reaches later jobs', async () => {
    signed = await freshImage(w)
    const { repo, r } = await run(
      pipeline({
        sign: { images: signed.ref },
        jobs: {
          'after-sign': {
            stage: 'verify',
            needs: ['sigil-sign'],
            script: [
              'echo "digests=$SIGIL_DIGESTS indexes=$SIGIL_REKOR_LOG_INDEXES"'
            ]
          }
        }
      })
    )
    assert.equal(r.exitCode, 0, r.output)
    assert.ok(passed(r, 'sigil-sign'), r.stdout)
    const log = jobLog(r, 'sigil-sign')
    assert.ok(log.includes(`Signing identity: ${GITLAB_SAN}`), log)
    assert.ok(
      log.includes(`certificate-oidc-issuer: ${GITLAB_ISSUER}`),
      'the issuer hint is the token issuer, not CI_SERVER_URL'
    )
    assert.match(log, /signed 1 image\(s\)/)

    const result = JSON.parse(
      readArtifact(repo, 'sigil-sign', 'sigil-result.json')
    )
    assert.equal(result.images[0].digest, signed.digest)
    assert.deepEqual(result.identity, {
      subject: GITLAB_SAN,
      issuer: GITLAB_ISSUER
    })
    const logIndex = result.images[0].signatures[0].logIndex
    assert.equal(typeof logIndex, 'number')

    const env = parseDotenv(readArtifact(repo, 'sigil-sign', 'sigil.env'))
    assert.deepEqual(env, {
      SIGIL_DIGESTS: signed.digest,
      SIGIL_FAILED: '',
      SIGIL_SIGNATURES: `${signed.ref.split('@')[0]}:${signed.digest.replace(':', '-')}.sig`,
      SIGIL_REKOR_LOG_INDEXES: String(logIndex),
      SIGIL_SIGNING_IDENTITY: GITLAB_SAN,
      SIGIL_SIGNING_ISSUER: GITLAB_ISSUER
    })
    // gitlab-ci-local, like GitLab, turns the report into variables of the
    // jobs that need the sign job.
    assert.ok(
      jobLog(r, 'after-sign').includes(
        `digests=${signed.digest} indexes=${logIndex}`
      ),
      r.stdout
    )
  })

  test('verify: right identity and issuer pass, the job that needs it runs', async () => {
    assert.ok(signed, 'the sign test ran first')
    const { repo, r } = await run(
      pipeline({ verify: { images: signed.ref }, jobs: DEPLOY }),
      { variables: {} }
    )
    assert.equal(r.exitCode, 0, r.output)
    assert.ok(passed(r, 'sigil-verify'), r.stdout)
    assert.ok(passed(r, 'deploy'), r.stdout)
    assert.match(
      jobLog(r, 'sigil-verify'),
      /verified \(https:\/\/gitlab\.com\//
    )
    assert.ok(
      jobLog(r, 'deploy').includes(`deploying ${signed.digest}`),
      r.stdout
    )
    const env = parseDotenv(readArtifact(repo, 'sigil-verify', 'sigil.env'))
    assert.deepEqual(env, {
      SIGIL_VERIFIED: signed.digest,
      SIGIL_IDENTITIES: GITLAB_SAN
    })
    const result = JSON.parse(
      readArtifact(repo, 'sigil-verify', 'sigil-result.json')
    )
    assert.equal(result.ok, true)
  })

  test('verify: a wrong identity fails the job with exit 12 and the downstream job never runs, even after sign in the same pipeline', async () => {
    // Sign and verify in one pipeline, as the README shows: the sign job's
    // dotenv report becomes variables of the verify job, and must not be
    // able to replace verify's certificate-identity input.
    const img = await freshImage(w)
    const { repo, r } = await run(
      pipeline({
        sign: { images: img.ref },
        verify: { images: img.ref, 'certificate-identity': WRONG_SAN },
        jobs: DEPLOY
      })
    )
    assert.equal(r.exitCode, 1, r.output)
    assert.ok(passed(r, 'sigil-sign'), r.stdout)
    assert.ok(failed(r, 'sigil-verify'), r.stdout)
    assert.match(r.stderr, /FAIL 12\b/)
    assert.match(jobLog(r, 'sigil-verify'), /NO_MATCHING_SIGNATURES/)
    assert.ok(!ran(r, 'deploy'), 'deploy must not start')
    assert.ok(!passed(r, 'deploy'))
    // artifacts: when: always — the failed verify still reports why.
    const result = JSON.parse(
      readArtifact(repo, 'sigil-verify', 'sigil-result.json')
    )
    assert.equal(result.ok, false)
  })

  test('verify with policy: the ClusterImagePolicy in the project decides; a wrong identity in it fails the job', async () => {
    assert.ok(signed, 'the sign test ran first')
    const policy = (subject: string): string =>
      stringify({
        apiVersion: 'policy.sigstore.dev/v1beta1',
        kind: 'ClusterImagePolicy',
        metadata: { name: 'gitlab-release' },
        spec: {
          images: [{ glob: `${w.registry.host}/**` }],
          authorities: [
            {
              name: 'gitlab',
              keyless: {
                url: w.stack.fulcioUrl,
                identities: [{ issuer: GITLAB_ISSUER, subject }]
              },
              ctlog: { url: w.stack.rekorUrl }
            }
          ]
        }
      })
    const verifyInputs = {
      images: signed.ref,
      policy: 'policies/',
      'certificate-identity': '',
      'certificate-oidc-issuer': ''
    }
    const { repo, r } = await run(
      pipeline({ verify: verifyInputs, jobs: DEPLOY }),
      { variables: {}, files: { 'policies/release.yaml': policy(GITLAB_SAN) } }
    )
    assert.equal(r.exitCode, 0, r.output)
    assert.ok(passed(r, 'sigil-verify'), r.stdout)
    assert.ok(passed(r, 'deploy'), r.stdout)
    assert.match(
      jobLog(r, 'sigil-verify'),
      /PASS ClusterImagePolicy "gitlab-release"/
    )
    assert.deepEqual(
      parseDotenv(readArtifact(repo, 'sigil-verify', 'sigil.env')),
      { SIGIL_VERIFIED: signed.digest, SIGIL_IDENTITIES: GITLAB_SAN }
    )
    const result = JSON.parse(
      readArtifact(repo, 'sigil-verify', 'sigil-result.json')
    )
    assert.equal(result.images[0].policies[0].authorities[0].status, 'passed')

    const bad = await run(pipeline({ verify: verifyInputs, jobs: DEPLOY }), {
      variables: {},
      files: { 'policies/release.yaml': policy(WRONG_SAN) }
    })
    assert.equal(bad.r.exitCode, 1, bad.r.output)
    assert.ok(failed(bad.r, 'sigil-verify'), bad.r.stdout)
    assert.match(jobLog(bad.r, 'sigil-verify'), /POLICY_DENIED/)
    assert.ok(!ran(bad.r, 'deploy'), 'deploy must not start')
  })

  test('sign without SIGSTORE_ID_TOKEN fails the job (exit 3) and shows the id_tokens YAML', async () => {
    const before = w.stack.counts.fulcio
    const img = await freshImage(w)
    const { r } = await run(pipeline({ sign: { images: img.ref } }), {
      variables: {}
    })
    assert.equal(r.exitCode, 1, r.output)
    assert.ok(failed(r, 'sigil-sign'), r.stdout)
    assert.match(r.stderr, /FAIL 3\b/)
    const log = jobLog(r, 'sigil-sign')
    assert.match(log, /IDENTITY_TOKEN_UNAVAILABLE/)
    assert.match(log, /id_tokens:\n\s*SIGSTORE_ID_TOKEN:\n\s*aud: sigstore/)
    assert.equal(w.stack.counts.fulcio, before, 'no Fulcio call')
  })

  test('bad input values are rejected when the pipeline is read (--list)', async () => {
    const cases: [Inputs, RegExp][] = [
      [
        { format: 'nope' },
        /`format` input: `nope` cannot be used because it is not in the list of allowed options/
      ],
      [
        { concurrency: 'x' },
        /`concurrency` input: provided value is not a number/
      ],
      [
        { recursive: 'yes' },
        /`recursive` input: provided value is not a boolean/
      ]
    ]
    for (const [inputs, message] of cases) {
      const { r } = await run(
        pipeline({ sign: { images: 'reg.example/app:1', ...inputs } }),
        { args: ['--list'] }
      )
      assert.equal(r.exitCode, 1, r.output)
      assert.match(r.output, message)
    }
    // images is optional: files (subject-path) are the alternative, and a
    // job with neither fails at run time with INPUT_NO_IMAGES.
    const ci = pipeline({ sign: { images: 'x' } }).replace(
      /^(\s+)images: x\n/m,
      '$1subject-path: dist/*.tgz\n'
    )
    const { r } = await run(ci, { args: ['--list'] })
    assert.equal(r.exitCode, 0, r.output)
  })

  test('--preview: the included sign job keeps id_tokens and signs in script, never after_script', async () => {
    const { r } = await run(
      pipeline({
        sign: { images: 'reg.example/app:1' },
        verify: { images: 'reg.example/app:1' }
      }),
      { args: ['--preview'] }
    )
    assert.equal(r.exitCode, 0, r.output)
    assert.match(
      r.stdout,
      /id_tokens:\n\s+SIGSTORE_ID_TOKEN:\n\s+aud: sigstore/
    )
    assert.ok(r.stdout.includes(`- ${GITLAB_ENTRY_COMMAND} sign`), r.stdout)
    assert.ok(r.stdout.includes(`- ${GITLAB_ENTRY_COMMAND} verify`), r.stdout)
    assert.doesNotMatch(r.stdout, /after_script/)
  })

  test("the project's own .gitlab-ci.yml loads: components merged with the local job keys", async () => {
    const { r } = await run(
      readFileSync(join(REPO_ROOT, '.gitlab-ci.yml'), 'utf8'),
      { args: ['--preview'] }
    )
    assert.equal(r.exitCode, 0, r.output)
    const jobs = parse(r.stdout) as Record<string, Record<string, unknown>>
    const sign = jobs['sigil-sign'] ?? {}
    const verify = jobs['sigil-verify'] ?? {}
    assert.deepEqual(sign.script, ['node dist/gitlab/index.js sign'])
    assert.deepEqual(sign.id_tokens, { SIGSTORE_ID_TOKEN: { aud: 'sigstore' } })
    assert.equal((sign.rules as { when: string }[])[0]?.when, 'manual')
    assert.deepEqual(verify.script, ['node dist/gitlab/index.js verify'])
    assert.equal((verify.needs as { job: string }[])[0]?.job, 'sigil-sign')
    assert.deepEqual(Object.keys(jobs.release?.release ?? {}).sort(), [
      'description',
      'name',
      'tag_name'
    ])
  })
})
