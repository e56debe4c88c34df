// cosign's --type names, the predicate built per type, the statement, and
// SLSA provenance from the CI context (pure functions of the environment).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  buildPredicate,
  buildStatement,
  resolvePredicateType
} from '../../../src/cosign/attestation.ts'
import {
  detectCi,
  githubProvenance,
  gitlabProvenance,
  provenanceFromCi
} from '../../../src/cosign/provenance.ts'
import { InputError, utf8 } from '../../../src/util/index.ts'

const NOW = new Date('2026-01-02T03:04:05.678Z')

test('--type names map to cosign predicate type URIs; URIs pass; others are refused', () => {
  for (const [name, uri] of [
    ['custom', 'https://cosign.sigstore.dev/attestation/v1'],
    ['slsaprovenance', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance02', 'https://slsa.dev/provenance/v0.2'],
    ['slsaprovenance1', 'https://slsa.dev/provenance/v1'],
    ['spdx', 'https://spdx.dev/Document'],
    ['spdxjson', 'https://spdx.dev/Document'],
    ['cyclonedx', 'https://cyclonedx.org/bom'],
    ['link', 'https://in-toto.io/Link/v1'],
    ['vuln', 'https://cosign.sigstore.dev/attestation/vuln/v1'],
    ['openvex', 'https://openvex.dev/ns'],
    ['https://example.com/p/v1', 'https://example.com/p/v1']
  ])
    assert.equal(resolvePredicateType(name!), uri, name)
  for (const bad of ['sbom', 'SPDX', '', 'not a uri'])
    assert.throws(
      () => resolvePredicateType(bad),
      (e: unknown) =>
        e instanceof InputError && e.code === 'INPUT_INVALID_PREDICATE_TYPE'
    )
})

test('predicates as cosign builds them', () => {
  assert.deepEqual(buildPredicate('custom', utf8('hello'), NOW), {
    Data: 'hello',
    Timestamp: '2026-01-02T03:04:05Z'
  })
  assert.equal(
    buildPredicate('spdx', utf8('SPDXVersion: 2.3'), NOW),
    'SPDXVersion: 2.3'
  )
  assert.deepEqual(buildPredicate('cyclonedx', utf8('{"a":1}'), NOW), { a: 1 })
  assert.deepEqual(
    buildPredicate('https://example.com/p', utf8('{"b":2}'), NOW),
    { b: 2 }
  )
  const code = (f: () => unknown): string | undefined => {
    try {
      f()
    } catch (e) {
      return (e as InputError).code
    }
    return undefined
  }
  assert.equal(
    code(() => buildPredicate('spdxjson', utf8('no'), NOW)),
    'INPUT_INVALID_PREDICATE'
  )
  assert.equal(
    code(() => buildPredicate('https://x.example/p', utf8('[1]'), NOW)),
    'INPUT_INVALID_PREDICATE'
  )
  assert.equal(
    code(() =>
      buildPredicate('slsaprovenance1', utf8('{"buildDefinition":{}}'), NOW)
    ),
    'INPUT_INVALID_PREDICATE',
    'runDetails missing'
  )
  assert.equal(
    code(() =>
      buildPredicate(
        'slsaprovenance1',
        utf8('{"buildDefinition":{},"runDetails":{}}'),
        NOW
      )
    ),
    undefined
  )
})

test('statements: v0.1 for images (cosign attest), v1 for files', () => {
  const s = JSON.parse(
    new TextDecoder().decode(
      buildStatement(
        'v0.1',
        [{ name: 'r/x', digest: { sha256: 'ab' } }],
        'https://t',
        { k: 1 }
      )
    )
  ) as Record<string, unknown>
  assert.deepEqual(s, {
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ name: 'r/x', digest: { sha256: 'ab' } }],
    predicateType: 'https://t',
    predicate: { k: 1 }
  })
  const v1 = JSON.parse(
    new TextDecoder().decode(buildStatement('v1', [], 'https://t', {}))
  ) as { _type: string }
  assert.equal(v1._type, 'https://in-toto.io/Statement/v1')
})

const GITHUB = {
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.example',
  GITHUB_REPOSITORY: 'o/r',
  GITHUB_REPOSITORY_ID: '1',
  GITHUB_REPOSITORY_OWNER_ID: '2',
  GITHUB_WORKFLOW_REF: 'o/r/.github/workflows/ci.yml@refs/pull/3/merge',
  GITHUB_REF: 'refs/pull/3/merge',
  GITHUB_SHA: 'c'.repeat(40),
  GITHUB_RUN_ID: '5',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_EVENT_NAME: 'pull_request',
  RUNNER_ENVIRONMENT: 'self-hosted'
}

test('GitHub provenance: every field from the workflow run', () => {
  assert.deepEqual(githubProvenance(GITHUB), {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: {
        workflow: {
          ref: 'refs/pull/3/merge',
          repository: 'https://github.example/o/r',
          path: '.github/workflows/ci.yml'
        }
      },
      internalParameters: {
        github: {
          event_name: 'pull_request',
          repository_id: '1',
          repository_owner_id: '2',
          runner_environment: 'self-hosted'
        }
      },
      resolvedDependencies: [
        {
          uri: 'git+https://github.example/o/r@refs/pull/3/merge',
          digest: { gitCommit: 'c'.repeat(40) }
        }
      ]
    },
    runDetails: {
      builder: {
        id: 'https://github.example/o/r/.github/workflows/ci.yml@refs/pull/3/merge'
      },
      metadata: {
        invocationId: 'https://github.example/o/r/actions/runs/5/attempts/1'
      }
    }
  })
  const { GITHUB_SHA: _sha, ...partial } = GITHUB
  assert.throws(
    () => githubProvenance(partial),
    (e: unknown) =>
      e instanceof InputError &&
      e.code === 'INPUT_PROVENANCE_CONTEXT_MISSING' &&
      /GITHUB_SHA/.test(e.message)
  )
})

test('GitLab provenance: the project, commit, pipeline job and runner', () => {
  const env = {
    GITLAB_CI: 'true',
    CI_SERVER_URL: 'https://gitlab.example',
    CI_PROJECT_URL: 'https://gitlab.example/g/p',
    CI_PROJECT_PATH: 'g/p',
    CI_PROJECT_ID: '10',
    CI_COMMIT_SHA: 'd'.repeat(40),
    CI_COMMIT_TAG: 'v2',
    CI_PIPELINE_ID: '20',
    CI_PIPELINE_SOURCE: 'push',
    CI_JOB_ID: '30',
    CI_JOB_NAME: 'release',
    CI_JOB_URL: 'https://gitlab.example/g/p/-/jobs/30',
    CI_CONFIG_PATH: '.gitlab-ci.yml',
    CI_RUNNER_ID: '40',
    CI_RUNNER_VERSION: '17.0.0'
  }
  assert.equal(detectCi(env), 'gitlab')
  const p = gitlabProvenance(env) as {
    buildDefinition: Record<string, unknown>
    runDetails: Record<string, unknown>
  }
  assert.deepEqual(p.buildDefinition.externalParameters, {
    source: 'https://gitlab.example/g/p',
    ref: 'refs/tags/v2',
    configPath: '.gitlab-ci.yml',
    pipelineSource: 'push',
    job: 'release'
  })
  assert.deepEqual(p.buildDefinition.resolvedDependencies, [
    {
      uri: 'git+https://gitlab.example/g/p@refs/tags/v2',
      digest: { gitCommit: 'd'.repeat(40) }
    }
  ])
  assert.deepEqual(p.runDetails, {
    builder: { id: 'https://gitlab.example/g/p/-/runners/40' },
    metadata: { invocationId: 'https://gitlab.example/g/p/-/jobs/30' }
  })
})

test('outside CI there is no provenance to build', () => {
  assert.equal(detectCi({}), undefined)
  assert.throws(
    () => provenanceFromCi({}),
    (e: unknown) =>
      e instanceof InputError && e.code === 'INPUT_PREDICATE_REQUIRED'
  )
  assert.equal(
    provenanceFromCi(GITHUB).predicateType,
    'https://slsa.dev/provenance/v1'
  )
})
