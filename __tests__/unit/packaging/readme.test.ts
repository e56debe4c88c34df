import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-expect-error plain JS build script without types
import { renderReadme } from '../../../scripts/readme-tables.mjs'
import { SIGIL_VERSION } from '../../../src/version.ts'

const root = join(import.meta.dirname, '../../..')

test('README input/output tables match action.yml and verify/action.yml', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  assert.equal(
    (renderReadme as (s: string) => string)(readme),
    readme,
    'README tables are stale: run node scripts/readme-tables.mjs --write'
  )
})

test('README opens with the two commands a newcomer runs', () => {
  const head = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .slice(0, 30)
    .join('\n')
  assert.match(head, /npm run demo/)
  assert.match(head, /npm test/)
})

test('the version constant matches package.json', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string
  }
  assert.equal(SIGIL_VERSION, pkg.version)
})

test('README shows the true `sigil --help` and the exit code table', async () => {
  const { renderCliBlocks } = await import('../../../scripts/readme-cli.ts')
  const { runCliWith } = await import('../../../src/cli/main.ts')
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  assert.equal(
    renderCliBlocks(readme),
    readme,
    'README CLI blocks are stale: run node_modules/node/bin/node scripts/readme-cli.ts --write'
  )
  // The block is what the command prints, byte for byte.
  let out = ''
  const code = await runCliWith(['--help'], {
    stdout: s => (out += s),
    stderr: () => {},
    env: {}
  })
  assert.equal(code, 0)
  assert.ok(out.endsWith('\n'), 'sigil --help ends with a newline')
  assert.ok(
    readme.includes(`\`\`\`text\n$ sigil --help\n${out}\`\`\``),
    'README shows sigil --help output'
  )
})

test('the CLI help descriptions are generated from action.yml (src/cosign/input-docs.generated.ts is fresh)', async () => {
  // @ts-expect-error plain JS build script without types
  const { render, OUT } = await import('../../../scripts/input-docs.mjs')
  assert.equal(
    readFileSync(OUT as string, 'utf8'),
    (render as () => string)(),
    'stale: run node scripts/input-docs.mjs --write'
  )
})
