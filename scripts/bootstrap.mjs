// Makes `npm test` and `npm run demo` work on a fresh clone: installs the
// Debian packages they need (when root or sudo is available), runs `npm ci`
// when node_modules is missing, and re-runs the caller under the Node 24
// binary of the `node@24` devDependency. Plain JS: it may start on Node 20.
//
// `npm ci` itself runs on Node 24 too (npmCi): several dev tools (sigstore-js,
// tuf-js, the npm libraries they use) declare Node ^22.22.2 || ^24.15, so npm
// on Node 20 would print an EBADENGINE warning for each. On an older Node we
// first fetch the pinned node@24 package alone into a temporary directory and
// run the same npm with it. The published package needs only Node >= 20.19.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) throw r.error
  return r.status ?? 1
}

/** True when `version` (x.y.z) satisfies ^22.22.2 || >=24.15 (the dev tools' engines). */
export function runsDevTools(version) {
  const [major, minor, patch] = version.split('.').map(Number)
  if (major === 22) return minor > 22 || (minor === 22 && patch >= 2)
  if (major === 24) return minor >= 15
  return major > 24
}

/** The npm CLI script of the `npm` on PATH (or of the npm running us). */
function npmCliPath() {
  if (process.env.npm_execpath?.endsWith('.js')) return process.env.npm_execpath
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'npm')
    if (dir && existsSync(candidate)) return realpathSync(candidate)
  }
  throw new Error('npm is not on PATH')
}

/** `npm ci --no-audit --no-fund` under a Node the dev tools accept. Returns the exit status. */
export function npmCi({ quiet = false } = {}) {
  const npm = npmCliPath()
  if (runsDevTools(process.versions.node)) {
    return run(process.execPath, [npm, 'ci', '--no-audit', '--no-fund'])
  }
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    .devDependencies.node
  const dir = mkdtempSync(join(tmpdir(), 'sigil-node24-'))
  try {
    if (!quiet) {
      console.error(
        `Node ${process.versions.node}: fetching node@${version} to run npm ci (the dev tools need Node ^22.22.2 or >=24.15)`
      )
    }
    // allowScripts: the node package's preinstall fetches the binary.
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ private: true, allowScripts: { node: true } })
    )
    const fetched = run(
      process.execPath,
      [
        npm,
        'install',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        `node@${version}`
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] }
    )
    const node24 = join(dir, 'node_modules/node/bin/node')
    if (fetched !== 0 || !existsSync(node24)) {
      console.error(`could not fetch node@${version} from the npm registry`)
      return 1
    }
    return run(node24, [npm, 'ci', '--no-audit', '--no-fund'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
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
    if (npmCi() !== 0) process.exit(1)
  }
  const r = spawnSync(node24, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, SIGIL_BOOTSTRAPPED: '1' }
  })
  process.exit(r.status ?? 1)
}
