// `sigil install-cosign`: a verified cosign release in a directory (the
// engine: cosign/install-cosign.ts). Loaded only when the command runs.
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  DEFAULT_COSIGN_VERSION,
  DEFAULT_INSTALL_BUDGET_S,
  EXIT,
  createRuntime,
  installCosign,
  parseCosignVersion,
  cosignSourceFromInputs
} from '../cosign/index.ts'
import { InputError } from '../util/index.ts'
import { parseArgs } from './args.ts'
import { COMMANDS, specOf } from './help.ts'
import { checkOutput, startRun, type CliIo, type RunState } from './main.ts'
import { SIGIL_VERSION } from '../version.ts'

/** Where install-cosign puts `version` when no directory is given. */
export function defaultInstallDir(
  env: NodeJS.ProcessEnv,
  version: string
): string {
  return join(env.HOME || homedir(), '.sigil', 'cosign', version)
}

export async function cmdInstallCosign(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS['install-cosign']))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  if (parsed.positionals.length > 0) {
    throw new InputError(
      'USAGE',
      `usage: ${COMMANDS['install-cosign'].usage} (see sigil install-cosign --help)`
    )
  }
  const f = parsed.flags
  const version = parseCosignVersion(
    f['cosign-release'] || DEFAULT_COSIGN_VERSION
  )
  const budget = Number(f['retry-budget'] || DEFAULT_INSTALL_BUDGET_S)
  if (!(budget > 0)) {
    throw new InputError(
      'INPUT_RETRY_BUDGET',
      `--retry-budget must be a positive number of seconds (got ${JSON.stringify(f['retry-budget'])})`
    )
  }
  const dir = resolve(f['install-dir'] || defaultInstallDir(io.env, version))
  const userAgent = `sigil/${SIGIL_VERSION} (cli)`
  const runtime = createRuntime({
    userAgent,
    logger,
    env: io.env,
    retryBudgetMs: budget * 1000
  })
  try {
    const installed = await installCosign({
      dir,
      version,
      ...cosignSourceFromInputs(f, { env: io.env, logger, userAgent }),
      http: runtime.http,
      logger
    })
    if (f.output === 'json') {
      io.stdout(
        `${JSON.stringify(
          {
            path: installed.path,
            version: installed.version,
            sha256: installed.sha256,
            cached: installed.cached
          },
          null,
          2
        )}\n`
      )
    } else io.stdout(`${installed.path}\n`)
    io.stderr(
      `cosign ${installed.version} ${installed.cached ? 'already installed' : 'installed'} at ${installed.path}; add ${installed.dir} to PATH\n`
    )
    return EXIT.OK
  } finally {
    await runtime.http.close()
  }
}
