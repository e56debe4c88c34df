// What an entry point loads before it can say anything. The figures are in
// `npm run bench`; this pins the cause: none of the entries may start by
// loading modules that only some runs need (child_process for
// @actions/core's platform details, zlib and the rest of undici's fetch for
// @actions/http-client, which @actions/core imports for getIDToken alone).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '../..')
const NOT_AT_START = [
  'child_process',
  'zlib',
  'assert',
  'dgram',
  'worker_threads'
]

function builtinsLoaded(args: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-load-'))
  const hook = join(dir, 'hook.cjs')
  const out = join(dir, 'modules.txt')
  writeFileSync(
    hook,
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')))\n`
  )
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['-r', hook, ...args],
      // An action with no inputs: it fails on the first required input.
      { env: { PATH: process.env.PATH ?? '', HOME: dir }, cwd: dir },
      () => {
        try {
          resolve(
            readFileSync(out, 'utf8')
              .split('\n')
              .filter(l => l.startsWith('NativeModule '))
              .map(l => l.slice('NativeModule '.length))
          )
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)))
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      }
    )
  )
}

for (const [name, args] of [
  ['sign action', ['dist/sign/index.js']],
  ['verify action', ['dist/verify/index.js']],
  ['GitLab entry', ['dist/gitlab/index.js']],
  ['CLI', ['dist/cli/index.js', 'version']]
] as const) {
  test(`${name}: starts without ${NOT_AT_START.join(', ')}`, async () => {
    const loaded = await builtinsLoaded(
      args.map(a => (a.startsWith('dist/') ? join(root, a) : a))
    )
    assert.ok(
      loaded.includes('crypto'),
      'the hook saw the run (crypto is loaded)'
    )
    assert.deepEqual(
      NOT_AT_START.filter(m => loaded.includes(m)),
      []
    )
  })
}
