// `sigil-gitlab install-cosign`: the GitLab job of templates/install-cosign.yml.
// Inputs from SIGIL_<INPUT> variables (the names of install/action.yml), a
// verified cosign in SIGIL_INSTALL_DIR (default .sigil/cosign in the project
// directory, which the template keeps as an artifact for later jobs and in
// the runner cache per version), its path and version in the dotenv report.
import { writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import {
  DEFAULT_COSIGN_VERSION,
  DEFAULT_INSTALL_BUDGET_S,
  INSTALL_INPUT_DOCS,
  createRuntime,
  installCosign,
  parseCosignVersion,
  cosignSourceFromInputs
} from '../cosign/index.ts'
import { InputError, type Logger } from '../util/index.ts'
import { SIGIL_VERSION } from '../version.ts'
import { readGitlabInputs } from './main.ts'

export const INSTALL_DOTENV = [
  'SIGIL_COSIGN_PATH',
  'SIGIL_COSIGN_DIR',
  'SIGIL_COSIGN_VERSION',
  'SIGIL_COSIGN_SHA256'
] as const

export async function installCosignJob(
  env: NodeJS.ProcessEnv,
  log: Logger
): Promise<void> {
  const raw = readGitlabInputs(Object.keys(INSTALL_INPUT_DOCS), env)
  const version = parseCosignVersion(
    raw['cosign-release'] || DEFAULT_COSIGN_VERSION
  )
  const budget = Number(raw['retry-budget'] || DEFAULT_INSTALL_BUDGET_S)
  if (!(budget > 0)) {
    throw new InputError(
      'INPUT_RETRY_BUDGET',
      `SIGIL_RETRY_BUDGET must be a positive number of seconds (got ${JSON.stringify(raw['retry-budget'])})`
    )
  }
  // GitLab runs the script in the project directory ($CI_PROJECT_DIR).
  const project = process.cwd()
  const dirInput = env.SIGIL_INSTALL_DIR || join('.sigil', 'cosign')
  const dir = isAbsolute(dirInput) ? dirInput : resolve(project, dirInput)
  const userAgent = `sigil/${SIGIL_VERSION} (gitlab-ci)`
  const runtime = createRuntime({
    userAgent,
    logger: log,
    env,
    retryBudgetMs: budget * 1000
  })
  try {
    const installed = await installCosign({
      dir,
      version,
      ...cosignSourceFromInputs(raw, { env, logger: log, userAgent }),
      http: runtime.http,
      logger: log
    })
    const rel = relative(project, installed.dir)
    await writeFile(
      env.SIGIL_DOTENV ?? 'sigil.env',
      [
        `SIGIL_COSIGN_PATH=${installed.path}`,
        `SIGIL_COSIGN_DIR=${rel.startsWith('..') ? installed.dir : rel}`,
        `SIGIL_COSIGN_VERSION=${installed.version}`,
        `SIGIL_COSIGN_SHA256=${installed.sha256}`,
        ''
      ].join('\n')
    )
    log.info(
      `cosign ${installed.version} ${installed.cached ? 'was already in' : 'installed in'} ${installed.dir}; later jobs: export PATH="$CI_PROJECT_DIR/${rel}:$PATH"`
    )
  } finally {
    await runtime.http.close()
  }
}
