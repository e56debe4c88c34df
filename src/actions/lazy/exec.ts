// Build-time stand-in for `@actions/exec` (tsconfig.json "paths", which ncc
// follows). @actions/core imports it at its top level for platform.getDetails
// alone, and with it child_process, @actions/io and their modules, which
// every action start then loaded for nothing. Both functions are async, so
// this module loads the real package on first call and forwards to it.
import type * as Real from '../../../node_modules/@actions/exec/lib/exec.js'

type RealModule = typeof Real

let real: Promise<RealModule> | undefined
function load(): Promise<RealModule> {
  real ??= import('../../../node_modules/@actions/exec/lib/exec.js')
  return real
}

export async function exec(
  ...args: Parameters<RealModule['exec']>
): Promise<number> {
  return (await load()).exec(...args)
}

export async function getExecOutput(
  ...args: Parameters<RealModule['getExecOutput']>
): ReturnType<RealModule['getExecOutput']> {
  return (await load()).getExecOutput(...args)
}
