// A fresh `npm ci` started from the machine's Node 20 (as `npm test` and
// `npm run demo` do on a fresh clone, through scripts/bootstrap.mjs) prints
// no warning: npm runs on the node@24 package fetched for it. Needs the npm
// registry or cache; skipped without a Node 20 binary.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '../..')
const node20 = (
  spawnSync('sh', ['-c', 'which -a node'], { encoding: 'utf8' }).stdout ?? ''
)
  .split('\n')
  .filter(p => p && !p.includes('node_modules'))
  .find(p =>
    spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout?.startsWith('v20.')
  )

test(
  'npm ci from Node 20 through scripts/npm-ci.mjs: no EBADENGINE, no warning',
  {
    skip: node20 ? false : 'no Node 20 binary on PATH besides node_modules',
    timeout: 600_000
  },
  async t => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-fresh-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'scripts'))
    for (const f of [
      'package.json',
      'package-lock.json',
      'scripts/bootstrap.mjs',
      'scripts/npm-ci.mjs'
    ])
      copyFileSync(join(root, f), join(dir, f))
    const env = { ...process.env }
    for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k]
    const r = await new Promise<{ code: number; out: string }>(resolve =>
      execFile(
        node20!,
        ['scripts/npm-ci.mjs'],
        { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 24 },
        (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            out: stdout + stderr
          })
      )
    )
    assert.equal(r.code, 0, r.out)
    assert.doesNotMatch(r.out, /EBADENGINE/)
    assert.doesNotMatch(r.out, /npm warn/i)
    assert.match(r.out, /added \d+ packages/)
    assert.ok(existsSync(join(dir, 'node_modules/node/bin/node')))
  }
)
