// `npm run bench`: installs what is missing (Debian packages, node_modules),
// re-runs itself on the Node 24 of the `node@24` devDependency, builds dist/
// when absent, then runs bench/main.ts. Plain JS: it may start on Node 20.
// usage: npm run bench [-- --write-readme] [-- --runs N]
//        npm run bench:durability [-- --write-readme] [-- --quick]
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ensureReady, root } from '../scripts/bootstrap.mjs'

ensureReady()

if (!existsSync(join(root, 'dist/lib/index.js'))) {
  console.error('dist/ is missing: running npm run build')
  const b = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], {
    stdio: 'inherit',
    cwd: root
  })
  if (b.status !== 0) process.exit(b.status ?? 1)
}

const [first, ...rest] = process.argv.slice(2)
const durability = first === 'durability'
const r = spawnSync(
  process.execPath,
  [
    '--disable-warning=ExperimentalWarning',
    join(root, durability ? 'bench/durability.ts' : 'bench/main.ts'),
    ...(durability ? rest : process.argv.slice(2))
  ],
  { stdio: 'inherit', cwd: root }
)
process.exit(r.status ?? 1)
