// `npm pack` yields a package that installs and runs on its own: the tarball
// is installed into an empty directory without dev dependencies (runtime
// dependencies from the npm cache or registry), then `npx sigil` and the
// installed bins run from there, outside the clone. Needs dist/ (npm run build).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '../..')

function sh(
  cmd: string,
  args: string[],
  cwd: string
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k]
  return new Promise(resolve =>
    execFile(
      cmd,
      args,
      { cwd, env, encoding: 'utf8', maxBuffer: 1 << 24 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout,
          stderr
        })
    )
  )
}

test(
  'npm pack → npm install --omit=dev in an empty directory → npx sigil runs',
  { timeout: 300_000 },
  async t => {
    assert.ok(
      existsSync(join(root, 'dist/cli/index.js')),
      'run npm run build first'
    )
    const dir = mkdtempSync(join(tmpdir(), 'sigil-pack-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const pack = await sh(
      'npm',
      ['pack', '--pack-destination', dir, '--json'],
      root
    )
    assert.equal(pack.code, 0, pack.stderr)
    const [info] = JSON.parse(pack.stdout) as {
      filename: string
      files: { path: string }[]
    }[]
    const files = info!.files.map(f => f.path)
    for (const f of [
      'package.json',
      'dist/cli/index.js',
      'dist/gitlab/index.js',
      'action.yml',
      'templates/sign.yml',
      'README.md',
      'LICENSE'
    ])
      assert.ok(files.includes(f), `${f} is packed`)
    assert.ok(
      !files.some(f => /^(src|__tests__|node_modules|scripts)\//.test(f)),
      'no sources or tests'
    )

    const app = join(dir, 'app')
    rmSync(app, { recursive: true, force: true })
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), '{"private":true}')
    const install = await sh(
      'npm',
      [
        'install',
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        join(dir, info!.filename)
      ],
      app
    )
    assert.equal(install.code, 0, install.stderr)
    assert.doesNotMatch(install.stderr, /EBADENGINE|npm warn/i)
    const installed = readdirSync(join(app, 'node_modules')).sort()
    assert.ok(installed.includes('sigil'))
    assert.ok(
      !installed.includes('typescript') && !installed.includes('node'),
      'no dev dependencies'
    )

    const version = await sh('npx', ['--no-install', 'sigil', 'version'], app)
    assert.equal(version.code, 0, version.stderr)
    assert.match(version.stdout, /^sigil \d+\.\d+\.\d+/)
    const help = await sh(join(app, 'node_modules/.bin/sigil'), ['--help'], app)
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /Usage: sigil <command>/)
    const gitlab = await sh(
      join(app, 'node_modules/.bin/sigil-gitlab'),
      [],
      app
    )
    assert.notEqual(gitlab.code, 0, 'no images configured')
    assert.doesNotMatch(
      gitlab.stderr,
      /Cannot find module|ERR_MODULE_NOT_FOUND|\n\s+at /
    )
  }
)
