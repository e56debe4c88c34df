// Runs a built entry point (dist/…/index.js) in a child node process,
// asynchronously, so loopback servers in the test process keep answering.
import { execFile } from 'node:child_process'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export function execNode(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}
): Promise<ExecResult> {
  return new Promise(resolve =>
    execFile(
      process.execPath,
      [script, ...args],
      {
        encoding: 'utf8',
        env: opts.env ?? process.env,
        ...(opts.cwd ? { cwd: opts.cwd } : {})
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout,
          stderr
        })
    )
  )
}
