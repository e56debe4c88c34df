// Renders (or, with --write, updates in README.md) the README blocks that
// come from the CLI itself: `sigil --help` (between <!-- cli-help -->
// markers) and the exit code table (<!-- exit-codes -->). A unit test fails
// when README.md and the code disagree. Run with Node 24:
//   node_modules/node/bin/node scripts/readme-cli.ts --write
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderMainHelp } from '../src/cli/help.ts'
import { EXIT_CODES } from '../src/cosign/exit-codes.ts'

const root = join(import.meta.dirname, '..')

export function cliBlocks(): Record<string, string> {
  const cell = (s: string): string => s.replace(/\|/g, '\\|')
  return {
    'cli-help': [
      '```text',
      '$ sigil --help',
      renderMainHelp().trimEnd(),
      '```'
    ].join('\n'),
    'exit-codes': [
      '| exit | when | error codes |',
      '|---|---|---|',
      ...EXIT_CODES.map(
        r =>
          `| ${r.exit} | ${cell(r.meaning)} | ${r.errors.map(e => `\`${e}\``).join(', ') || (r.exit === 0 ? '' : 'any other')} |`
      )
    ].join('\n')
  }
}

export function renderCliBlocks(text: string): string {
  let s = text
  for (const [marker, block] of Object.entries(cliBlocks())) {
    const re = new RegExp(`(<!-- ${marker} -->)[\\s\\S]*?(<!-- /${marker} -->)`)
    if (!re.test(s))
      throw new Error(`README.md lacks the <!-- ${marker} --> markers`)
    s = s.replace(re, () => `<!-- ${marker} -->\n${block}\n<!-- /${marker} -->`)
  }
  return s
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(root, 'README.md')
  const next = renderCliBlocks(readFileSync(path, 'utf8'))
  if (process.argv.includes('--write')) writeFileSync(path, next)
  else process.stdout.write(next)
}
