// Runs a `runs.using: node24` action the way the GitHub runner does: inputs
// from action.yml (defaults applied) as INPUT_<NAME> env vars, file commands
// (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE, GITHUB_STEP_SUMMARY) read back, the
// bundled `runs.main` executed by node in a child process, the exit code kept.
// Async spawn, so loopback servers in the test process keep answering.
import { spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  readFileSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'

export interface ActionRun {
  exitCode: number
  outputs: Record<string, string>
  summary: string
  /** Directories added to PATH for later steps (GITHUB_PATH). */
  paths: string[]
  stdout: string
  stderr: string
  commands: { command: string; props?: string; message: string }[]
  unexpected: string[]
}

interface ActionMeta {
  inputs?: Record<string, { default?: unknown }>
  runs: { using: string; main: string }
}

export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    if (!line) continue
    const h = /^([^=]+?)<<(.+)$/.exec(line)
    const e = line.indexOf('=')
    if (h && (e < 0 || line.indexOf('<<') < e)) {
      const body: string[] = []
      while (++i < lines.length && lines[i] !== h[2]) body.push(lines[i] ?? '')
      out[h[1] ?? ''] = body.join('\n')
    } else if (e > 0) out[line.slice(0, e)] = line.slice(e + 1)
  }
  return out
}

export async function runAction(
  actionDir: string,
  opts: {
    inputs?: Record<string, string>
    env?: Record<string, string>
    node?: string
  } = {}
): Promise<ActionRun> {
  const dir = resolve(actionDir)
  const meta = parseYaml(
    readFileSync(join(dir, 'action.yml'), 'utf8')
  ) as ActionMeta
  if (meta.runs.using !== 'node24')
    throw new Error(`expected node24, got ${meta.runs.using}`)
  const inputs = opts.inputs ?? {}
  const declared = meta.inputs ?? {}
  const unexpected = Object.keys(inputs).filter(k => !(k in declared))
  const inputEnv: Record<string, string> = {}
  for (const [name, spec] of Object.entries(declared)) {
    // The runner evaluates `${{ github.token }}` defaults; here the job has
    // no token unless the test passes one.
    const fallback = /^\$\{\{\s*github\.token\s*\}\}$/.test(
      String(spec.default ?? '')
    )
      ? ''
      : (spec.default ?? '')
    const v = name in inputs ? inputs[name] : fallback
    inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(v)
  }
  const tmp = mkdtempSync(join(tmpdir(), 'run-action-'))
  const ws = join(tmp, 'workspace')
  mkdirSync(ws, { recursive: true })
  const files = {
    GITHUB_OUTPUT: join(tmp, 'output'),
    GITHUB_ENV: join(tmp, 'env'),
    GITHUB_PATH: join(tmp, 'path'),
    GITHUB_STATE: join(tmp, 'state'),
    GITHUB_STEP_SUMMARY: join(tmp, 'summary')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const target = join(dir, meta.runs.main)
  if (!existsSync(target))
    throw new Error(`${target} does not exist: run npm run build`)
  const r = await run(opts.node ?? process.execPath, [target], {
    cwd: ws,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmp,
      // never the public TUF mirror (tests use loopback or explicit roots)
      SIGIL_TUF_OFFLINE: '1',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      RUNNER_TEMP: tmp,
      GITHUB_WORKSPACE: ws,
      GITHUB_ACTION_PATH: dir,
      ...files,
      ...(opts.env ?? {}),
      ...inputEnv
    }
  })
  const outputs = parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8'))
  const summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')
  const paths = readFileSync(files.GITHUB_PATH, 'utf8')
    .split(/\r?\n/)
    .filter(Boolean)
  rmSync(tmp, { recursive: true, force: true })
  return {
    exitCode: r.status,
    outputs,
    summary,
    paths,
    stdout: r.stdout,
    stderr: r.stderr,
    // Messages as the runner shows them: it undoes @actions/core's escaping
    // (% → %25, CR → %0D, LF → %0A), so a URL's %3A reads %3A, not %253A.
    commands: [...r.stdout.matchAll(/^::([\w-]+)(?: ([^:]*))?::(.*)$/gm)].map(
      m => ({
        command: m[1] ?? '',
        ...(m[2] ? { props: m[2] } : {}),
        message: unescapeData(m[3] ?? '')
      })
    ),
    unexpected
  }
}

/** The runner's reading of a workflow command's data (escapeData reversed). */
export function unescapeData(s: string): string {
  return s.replace(/%(25|0D|0A)/g, (_, c: string) =>
    c === '25' ? '%' : c === '0D' ? '\r' : '\n'
  )
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> }
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, opts)
    let stdout = ''
    let stderr = ''
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    c.on('error', rej).on('close', status =>
      res({ status: status ?? 1, stdout, stderr })
    )
  })
}
