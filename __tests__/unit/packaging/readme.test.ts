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
