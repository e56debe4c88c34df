// SLSA provenance v1 predicates built from the CI context, for `attest`
// without a predicate file. Pure functions of the job's environment (the
// variables the runners set; GitHub's are what @actions/github's context
// reads), documented field by field in the README ("SLSA provenance").
//
// GitHub: the same fields actions/attest-build-provenance records
// (buildType https://actions.github.io/buildtypes/workflow/v1), so
// `gh attestation verify` and SLSA verifiers read it as theirs.
// GitLab: Sigil's build type (below), builder id naming the project's runner
// as GitLab's own runner provenance does.
import { InputError } from '../util/index.ts'
import { SLSA_PROVENANCE_V1 } from './attestation.ts'

export const GITHUB_BUILD_TYPE =
  'https://actions.github.io/buildtypes/workflow/v1'
export const GITLAB_BUILD_TYPE =
  'https://github.com/sigil-sign/sigil/buildtypes/gitlab-ci/v1'

export type CiPlatform = 'github' | 'gitlab'

/** Which CI the job runs on, from its environment; undefined elsewhere. */
export function detectCi(env: NodeJS.ProcessEnv): CiPlatform | undefined {
  if (env.GITHUB_ACTIONS === 'true') return 'github'
  // GitLab sets GITLAB_CI=true; runners that emulate it (gitlab-ci-local
  // sets GITLAB_CI=false) still give the job's CI_* context.
  if (env.GITLAB_CI === 'true' || (env.CI_SERVER_URL && env.CI_JOB_ID))
    return 'gitlab'
  return undefined
}

function need(env: NodeJS.ProcessEnv, names: readonly string[]): void {
  const missing = names.filter(n => !env[n])
  if (missing.length > 0) {
    throw new InputError(
      'INPUT_PROVENANCE_CONTEXT_MISSING',
      `SLSA provenance needs the CI variables ${missing.join(', ')}, which are not set`,
      {
        remedy:
          'Run attest without a predicate inside the CI job itself, or pass a predicate file (--predicate / input "predicate").'
      }
    )
  }
}

/** A SLSA v1 provenance predicate for a GitHub Actions workflow run. */
export function githubProvenance(env: NodeJS.ProcessEnv): object {
  need(env, [
    'GITHUB_REPOSITORY',
    'GITHUB_WORKFLOW_REF',
    'GITHUB_REF',
    'GITHUB_SHA',
    'GITHUB_RUN_ID',
    'GITHUB_RUN_ATTEMPT',
    'GITHUB_EVENT_NAME'
  ])
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(
    /\/+$/,
    ''
  )
  const repo = env.GITHUB_REPOSITORY ?? ''
  // owner/repo/.github/workflows/release.yml@refs/tags/v1
  const workflowRef = env.GITHUB_WORKFLOW_REF ?? ''
  const at = workflowRef.indexOf('@')
  const workflowPath = (at < 0 ? workflowRef : workflowRef.slice(0, at)).slice(
    repo.length + 1
  )
  return {
    buildDefinition: {
      buildType: GITHUB_BUILD_TYPE,
      externalParameters: {
        workflow: {
          ref: at < 0 ? (env.GITHUB_REF ?? '') : workflowRef.slice(at + 1),
          repository: `${server}/${repo}`,
          path: workflowPath
        }
      },
      internalParameters: {
        github: {
          event_name: env.GITHUB_EVENT_NAME,
          repository_id: env.GITHUB_REPOSITORY_ID ?? '',
          repository_owner_id: env.GITHUB_REPOSITORY_OWNER_ID ?? '',
          runner_environment: env.RUNNER_ENVIRONMENT ?? ''
        }
      },
      resolvedDependencies: [
        {
          uri: `git+${server}/${repo}@${env.GITHUB_REF ?? ''}`,
          digest: { gitCommit: env.GITHUB_SHA }
        }
      ]
    },
    runDetails: {
      builder: { id: `${server}/${workflowRef}` },
      metadata: {
        invocationId: `${server}/${repo}/actions/runs/${env.GITHUB_RUN_ID ?? ''}/attempts/${env.GITHUB_RUN_ATTEMPT ?? ''}`
      }
    }
  }
}

/** A SLSA v1 provenance predicate for a GitLab CI/CD job. */
export function gitlabProvenance(env: NodeJS.ProcessEnv): object {
  need(env, [
    'CI_SERVER_URL',
    'CI_PROJECT_URL',
    'CI_PROJECT_PATH',
    'CI_COMMIT_SHA',
    'CI_PIPELINE_ID',
    'CI_JOB_ID'
  ])
  const ref = env.CI_COMMIT_TAG
    ? `refs/tags/${env.CI_COMMIT_TAG}`
    : env.CI_COMMIT_REF_NAME
      ? `refs/heads/${env.CI_COMMIT_REF_NAME}`
      : ''
  const optional = (
    pairs: [string, string | undefined][]
  ): Record<string, string> =>
    Object.fromEntries(pairs.filter((p): p is [string, string] => !!p[1]))
  const server = (env.CI_SERVER_URL ?? '').replace(/\/+$/, '')
  return {
    buildDefinition: {
      buildType: GITLAB_BUILD_TYPE,
      externalParameters: optional([
        ['source', env.CI_PROJECT_URL],
        ['ref', ref],
        ['configPath', env.CI_CONFIG_PATH ?? '.gitlab-ci.yml'],
        ['pipelineSource', env.CI_PIPELINE_SOURCE],
        ['job', env.CI_JOB_NAME]
      ]),
      internalParameters: {
        gitlab: optional([
          ['project_id', env.CI_PROJECT_ID],
          ['pipeline_id', env.CI_PIPELINE_ID],
          ['job_id', env.CI_JOB_ID],
          ['runner_id', env.CI_RUNNER_ID],
          ['runner_description', env.CI_RUNNER_DESCRIPTION],
          ['runner_version', env.CI_RUNNER_VERSION],
          ['runner_executable_arch', env.CI_RUNNER_EXECUTABLE_ARCH]
        ])
      },
      resolvedDependencies: [
        {
          uri: `git+${env.CI_PROJECT_URL ?? ''}${ref ? `@${ref}` : ''}`,
          digest: { gitCommit: env.CI_COMMIT_SHA }
        }
      ]
    },
    runDetails: {
      builder: {
        id: `${server}/${env.CI_PROJECT_PATH ?? ''}/-/runners/${env.CI_RUNNER_ID ?? 'unknown'}`
      },
      metadata: {
        invocationId:
          env.CI_JOB_URL ??
          `${env.CI_PROJECT_URL ?? ''}/-/jobs/${env.CI_JOB_ID ?? ''}`,
        ...(env.CI_JOB_STARTED_AT ? { startedOn: env.CI_JOB_STARTED_AT } : {})
      }
    }
  }
}

/**
 * The predicate `attest` signs when no predicate file is given: SLSA
 * provenance v1 of the CI job running it. Outside CI it is an input error.
 */
export function provenanceFromCi(env: NodeJS.ProcessEnv): {
  predicateType: string
  predicate: object
} {
  const ci = detectCi(env)
  if (!ci) {
    throw new InputError(
      'INPUT_PREDICATE_REQUIRED',
      'no predicate file was given, and this is not a GitHub Actions or GitLab CI job, whose context would give SLSA provenance',
      {
        remedy:
          'Pass a predicate file and its type, e.g. --predicate sbom.spdx.json --type spdxjson.'
      }
    )
  }
  return {
    predicateType: SLSA_PROVENANCE_V1,
    predicate: ci === 'github' ? githubProvenance(env) : gitlabProvenance(env)
  }
}
