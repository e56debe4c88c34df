// The long fuzz run: the property-based fuzz tests of __tests__/unit/fuzz
// with many more cases than `npm test` runs (60 per property there).
// usage: npm run fuzz -- [runs per property, default 3000]
import { spawnSync } from 'node:child_process'

const runs = process.argv[2] ?? '3000'
const r = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-timeout=3600000',
    '--disable-warning=ExperimentalWarning',
    '__tests__/unit/fuzz/**/*.test.ts'
  ],
  {
    stdio: 'inherit',
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, SIGIL_FUZZ_RUNS: runs }
  }
)
process.exit(r.status ?? 1)
