// Runs the test suites with Node's built-in runner on the Node 24 binary that
// the `node@24` devDependency puts first on the PATH of npm scripts.
// usage: node scripts/test.mjs [unit|integration|<file or glob>...]
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { ensureReady } from './bootstrap.mjs'

ensureReady()

// Tests never contact a public TUF mirror: trust comes from explicit
// trusted roots, loopback TUF repositories, or the embedded root.
process.env.SIGIL_TUF_OFFLINE ??= '1'

const args = process.argv.slice(2)
const globs =
  args.length === 0
    ? ['__tests__/unit/**/*.test.ts', '__tests__/integration/**/*.test.ts']
    : args.flatMap(a =>
        a === 'unit' || a === 'integration'
          ? [`__tests__/${a}/**/*.test.ts`]
          : [a]
      )
// Files that start many processes at once (16 concurrent signers) run on
// their own, after the rest: they test our write protocol against each
// other, not against unrelated suites competing for this machine's cores.
const ALONE = new Set(['__tests__/integration/durability.test.ts'])

// fs.globSync is Node 22+: this runs after ensureReady re-ran us on Node 24.
const files = [...new Set(globs.flatMap(g => fs.globSync(g)))].sort()
const together = files.filter(f => !ALONE.has(f))
const alone = files.filter(f => ALONE.has(f))

const run = (list, concurrency) =>
  list.length === 0
    ? 0
    : (spawnSync(
        process.execPath,
        [
          '--test',
          `--test-concurrency=${concurrency}`,
          '--test-timeout=120000',
          '--disable-warning=ExperimentalWarning',
          ...list
        ],
        { stdio: 'inherit' }
      ).status ?? 1)

if (files.length === 0) {
  console.error(`no test files match ${globs.join(' ')}`)
  process.exit(1)
}
const first = run(together, 3)
const second = run(alone, 1)
process.exit(first || second)
