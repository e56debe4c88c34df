// Makes `npm test` and `npm run demo` work on a fresh clone: installs the
// Debian packages they need (when root or sudo is available), runs `npm ci`
// when node_modules is missing, and re-runs the caller under the Node 24
// binary of the `node@24` devDependency. Plain JS: it may start on Node 20.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) throw r.error
  return r.status ?? 1
}

/** Returns only when already on Node 24 with everything installed. */
export function ensureReady({ systemDeps = true } = {}) {
  if (process.env.SIGIL_BOOTSTRAPPED === '1') return
  if (
    systemDeps &&
    run('bash', [join(root, 'scripts/install-system-deps.sh')]) !== 0
  ) {
    process.exit(1)
  }
  const node24 = join(root, 'node_modules/node/bin/node')
  if (!existsSync(node24)) {
    console.error('node_modules is missing: running npm ci')
    if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) process.exit(1)
  }
  const r = spawnSync(node24, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, SIGIL_BOOTSTRAPPED: '1' }
  })
  process.exit(r.status ?? 1)
}
