// A small argv parser with cosign-like flags: `--flag value`, `--flag=value`,
// boolean `--flag` / `--flag=false`, repeatable flags, and positionals.
import { InputError } from '../util/index.ts'

export type FlagKind = 'string' | 'boolean' | 'multi'

export interface FlagSpec {
  kind: FlagKind
  alias?: string
}

export interface ParsedArgs {
  flags: Record<string, string | undefined>
  multi: Record<string, string[]>
  positionals: string[]
}

export function parseArgs(
  argv: readonly string[],
  spec: Record<string, FlagSpec>
): ParsedArgs {
  const flags: Record<string, string | undefined> = {}
  const multi: Record<string, string[]> = {}
  const positionals: string[] = []
  const byAlias = new Map(
    Object.entries(spec)
      .filter(([, s]) => s.alias)
      .map(([name, s]) => [s.alias as string, name])
  )
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const rawName = (eq >= 0 ? arg.slice(0, eq) : arg).replace(/^--?/, '')
    const name = arg.startsWith('--')
      ? rawName
      : (byAlias.get(rawName) ?? rawName)
    const s = spec[name]
    if (!s) {
      throw new InputError(
        'USAGE',
        `unknown flag ${JSON.stringify(arg.slice(0, eq >= 0 ? eq : undefined))}`
      )
    }
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined
    if (s.kind === 'boolean') {
      flags[name] = value ?? 'true'
      continue
    }
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined)
        throw new InputError('USAGE', `flag --${name} needs a value`)
    }
    if (s.kind === 'multi') (multi[name] ??= []).push(value)
    else flags[name] = value
  }
  return { flags, multi, positionals }
}
