// Runs the test suites with Node's built-in runner on the Node 24 binary that
// the `node@24` devDependency puts first on the PATH of npm scripts.
// usage: node scripts/test.mjs [unit|integration|<file or glob>...]
import { spawnSync } from 'node:child_process'
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
const r = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=3',
    '--test-timeout=120000',
    '--disable-warning=ExperimentalWarning',
    ...globs
  ],
  { stdio: 'inherit' }
)
process.exit(r.status ?? 1)
