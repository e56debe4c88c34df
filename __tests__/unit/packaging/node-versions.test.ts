// Node versions (issue 11 item 8): the dev tools need Node ^22.22.2 or
// >=24.15, so npm ci runs under Node 24 when the machine's Node is older,
// and gitlab-ci-local always runs on the node@24 devDependency.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-expect-error plain JS script without types
import { runsDevTools } from '../../../scripts/bootstrap.mjs'
import { GITLAB_CI_LOCAL_JS, NODE24 } from '../../support/gitlab-ci-local.ts'

const root = join(import.meta.dirname, '../../..')
const devTools = runsDevTools as (v: string) => boolean

test('which Node runs the dev tools without EBADENGINE', () => {
  for (const v of [
    '20.19.0',
    '20.20.2',
    '22.21.9',
    '22.22.1',
    '23.11.0',
    '24.14.1'
  ])
    assert.equal(devTools(v), false, v)
  for (const v of ['22.22.2', '22.23.0', '24.15.0', '24.21.0', '26.0.0'])
    assert.equal(devTools(v), true, v)
})

test('the rule matches what the locked dev dependencies declare', () => {
  const lock = JSON.parse(
    readFileSync(join(root, 'package-lock.json'), 'utf8')
  ) as {
    packages: Record<string, { engines?: { node?: string }; dev?: boolean }>
  }
  const strictest = new Set(
    Object.values(lock.packages)
      .map(p => p.engines?.node)
      .filter((n): n is string => !!n && /^\^2[2-9]/.test(n))
  )
  assert.deepEqual([...strictest], ['^22.22.2 || ^24.15.0 || >=26.0.0'])
  // Runtime dependencies accept the published package's engines (Node 20).
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path && !p.dev && p.engines?.node)
      assert.doesNotMatch(p.engines.node, /^\^22\.22\.2/, path)
  }
})

test('.ci/run installs through scripts/npm-ci.mjs; the node package may run its install script', () => {
  const ci = readFileSync(join(root, '.ci/run'), 'utf8')
  assert.match(ci, /^node scripts\/npm-ci\.mjs$/m)
  assert.doesNotMatch(ci, /^npm ci/m)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>
  }
  assert.deepEqual(pkg.allowScripts, { node: true })
})

test('gitlab-ci-local runs on the node@24 binary', () => {
  assert.match(
    execFileSync(NODE24, ['--version'], { encoding: 'utf8' }),
    /^v24\./
  )
  assert.match(
    execFileSync(NODE24, [GITLAB_CI_LOCAL_JS, '--version'], {
      encoding: 'utf8'
    }),
    /^\d+\.\d+\.\d+/
  )
  const src = readFileSync(
    join(root, '__tests__/support/gitlab-ci-local.ts'),
    'utf8'
  )
  assert.match(src, /spawn\(\s*NODE24,/)
})
