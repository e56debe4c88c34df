// Runs the GitLab component (templates/*.yml) through gitlab-ci-local, the
// way a pipeline of the component project itself includes it:
// `component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/sign@$CI_COMMIT_SHA` in a
// throwaway git repo whose origin sets CI_SERVER_FQDN / CI_PROJECT_PATH.
// Shell executor (no Docker: `image:` is ignored), async spawn so loopback
// servers in the test process keep answering. gitlab-ci-local ignores
// `id_tokens:`, so SIGSTORE_ID_TOKEN is passed with --variable.
// See /work/shared/docs/runners.md §3.
import { execFileSync, spawn } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { requireTool } from './registry.ts'

/** The repository root (templates/, dist/, node_modules/). */
export const REPO_ROOT = join(import.meta.dirname, '../..')
export const GITLAB_CI_LOCAL_JS = join(
  REPO_ROOT,
  'node_modules/gitlab-ci-local/dist/index.js'
)
/** gitlab-ci-local needs Node 24 (on Node 20 it crashes: `kW.union is not a
 * function`): always the node@24 devDependency's binary, whatever Node runs
 * the tests. */
export const NODE24 = join(REPO_ROOT, 'node_modules/node/bin/node')
/** What the templates' `command` input is set to in tests. */
export const GITLAB_ENTRY_COMMAND = `node ${join(REPO_ROOT, 'dist/gitlab/index.js')}`
export const COMPONENT_ORIGIN = 'https://gitlab.example.com/acme/sigil.git'

/** Fails early and clearly when dist/ has not been built. */
export function requireBuiltEntry(): void {
  if (!existsSync(join(REPO_ROOT, 'dist/gitlab/index.js')))
    throw new Error('dist/gitlab/index.js is missing: run npm run build')
}

export interface ComponentRepo {
  dir: string
  /** HEAD, i.e. $CI_COMMIT_SHA */
  sha: string
}

/**
 * A git repo with the component's templates/ and `ci` as .gitlab-ci.yml,
 * committed, origin `COMPONENT_ORIGIN` (and origin/HEAD, so gitlab-ci-local
 * does not warn about the default branch).
 */
export function makeComponentRepo(
  ci: string,
  files: Record<string, string> = {}
): ComponentRepo {
  requireTool('git', 'git')
  requireTool('rsync', 'rsync')
  const dir = mkdtempSync(join(tmpdir(), 'sigil-gcl-'))
  cpSync(join(REPO_ROOT, 'templates'), join(dir, 'templates'), {
    recursive: true
  })
  writeFileSync(join(dir, '.gitlab-ci.yml'), ci)
  writeFileSync(join(dir, '.gitignore'), '.gitlab-ci-local/\n')
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: dir, stdio: 'pipe', encoding: 'utf8' })
  git('init', '-q', '-b', 'main')
  git('remote', 'add', 'origin', COMPONENT_ORIGIN)
  git('add', '-A')
  git(
    '-c',
    'user.email=test@example.com',
    '-c',
    'user.name=test',
    '-c',
    'commit.gpgsign=false',
    'commit',
    '-qm',
    'component under test'
  )
  git('update-ref', 'refs/remotes/origin/main', 'HEAD')
  git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main')
  return { dir, sha: git('rev-parse', 'HEAD').trim() }
}

export interface GclRun {
  exitCode: number
  stdout: string
  stderr: string
  /** stdout + stderr */
  output: string
}

/**
 * The host environment minus what would leak into the run: GCL_* (read by
 * gitlab-ci-local as options), CI and Sigil variables, the node:test context.
 * `node` on PATH is Node 24 (NODE24).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(GCL|CI_|SIGIL_|SIGSTORE_|COSIGN_|GITLAB_|NODE_TEST)/.test(k))
      continue
    if (k === 'CI' || k === 'NODE_OPTIONS') continue
    env[k] = v
  }
  env.PATH = [dirname(NODE24), env.PATH ?? ''].join(delimiter)
  env.NO_COLOR = '1'
  return env
}

/** `gitlab-ci-local --no-color --force-shell-executor [--variable K=V]… args`. */
export function runGitlabCiLocal(
  repo: ComponentRepo,
  args: string[],
  o: { variables?: Record<string, string>; timeoutMs?: number } = {}
): Promise<GclRun> {
  const variables = Object.entries(o.variables ?? {}).flatMap(([k, v]) => [
    '--variable',
    `${k}=${v}`
  ])
  return new Promise((resolve, reject) => {
    const child = spawn(
      NODE24,
      [
        GITLAB_CI_LOCAL_JS,
        '--no-color',
        '--force-shell-executor',
        ...variables,
        ...args
      ],
      { cwd: repo.dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }
    )
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000)
    child.on('error', e => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', code => {
      clearTimeout(timer)
      resolve({
        exitCode: code ?? 1,
        stdout,
        stderr,
        output: `${stdout}\n${stderr}`
      })
    })
  })
}

/** The lines a job printed (`<job> > …` and `<job> $ …`), prefix removed. */
export function jobLog(run: GclRun, job: string): string {
  const re = new RegExp(`^${job.replace(/[-.]/g, '\\$&')}\\s+[>$] ?(.*)$`)
  return run.output
    .split('\n')
    .map(l => re.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .join('\n')
}

/** A file a job left as an artifact (gitlab-ci-local's artifacts folder). */
export function readArtifact(
  repo: ComponentRepo,
  job: string,
  file: string
): string {
  const stored = join(repo.dir, '.gitlab-ci-local/artifacts', job, file)
  const report = join(
    repo.dir,
    '.gitlab-ci-local/artifacts',
    job,
    '.gitlab-ci-reports/dotenv',
    file
  )
  for (const p of [stored, report])
    if (existsSync(p)) return readFileSync(p, 'utf8')
  throw new Error(`${job} left no artifact ${file}`)
}

/** KEY=value lines → object (what GitLab reads from a dotenv report). */
export function parseDotenv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter(l => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
}
