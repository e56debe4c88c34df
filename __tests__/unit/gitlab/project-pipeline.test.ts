// Static checks of the component project's own .gitlab-ci.yml, which our CI
// never runs on GitLab: it tests this commit's components (@$CI_COMMIT_SHA),
// signs only in script:, passes only inputs the templates declare (GitLab
// rejects unknown ones; gitlab-ci-local does not), and releases with the
// `release:` keyword on semver tags.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'

const root = join(import.meta.dirname, '../../..')

interface Include {
  component?: string
  local?: string
  inputs?: Record<string, unknown>
}
type Job = Record<string, unknown>

const ci = parse(readFileSync(join(root, '.gitlab-ci.yml'), 'utf8')) as {
  stages: string[]
  include: Include[]
  default?: Job
} & Record<string, unknown>

const GLOBAL = new Set([
  'stages',
  'include',
  'default',
  'variables',
  'workflow',
  'spec'
])
const jobs = Object.entries(ci).filter(
  (e): e is [string, Job] => !GLOBAL.has(e[0]) && !e[0].startsWith('.')
)

function declaredInputs(name: string): Set<string> {
  const text = readFileSync(join(root, 'templates', `${name}.yml`), 'utf8')
  const header = parseAllDocuments(text)[0]!.toJS() as {
    spec: { inputs: Record<string, unknown> }
  }
  return new Set(Object.keys(header.spec.inputs))
}

test('stages are test and release', () => {
  assert.deepEqual(ci.stages, ['test', 'release'])
})

test('includes this commit of both components, with declared inputs only', () => {
  const names = ci.include.map(i => {
    const m =
      /^\$CI_SERVER_FQDN\/\$CI_PROJECT_PATH\/([\w-]+)@\$CI_COMMIT_SHA$/.exec(
        i.component ?? ''
      )
    assert.ok(m, `include ${JSON.stringify(i)} is not …/<name>@$CI_COMMIT_SHA`)
    const name = m[1]!
    const declared = declaredInputs(name)
    for (const k of Object.keys(i.inputs ?? {}))
      assert.ok(declared.has(k), `${name}: input "${k}" is not declared`)
    assert.equal(i.inputs?.command, 'node dist/gitlab/index.js')
    assert.ok(i.inputs?.images, `${name}: images is mandatory`)
    return name
  })
  assert.deepEqual(names.sort(), ['sign', 'verify'])
  const verify = ci.include.find(i => i.component?.includes('/verify@'))
  assert.ok(verify?.inputs?.['certificate-identity'])
  assert.ok(verify?.inputs?.['certificate-oidc-issuer'])
})

test('no job (and no default) uses after_script', () => {
  assert.ok(jobs.length > 0)
  for (const [name, job] of jobs)
    assert.ok(!('after_script' in job), `${name} has after_script`)
  assert.ok(!ci.default || !('after_script' in ci.default))
})

test('the test job runs npm ci and npm test in Node 24', () => {
  const t = ci.test as { stage: string; image: string; script: string[] }
  assert.equal(t.stage, 'test')
  assert.match(t.image, /^node:24/)
  assert.match(t.script.join('\n'), /npm ci[\s\S]*npm test/)
})

test('verify waits for sign; neither overrides the template script', () => {
  const sign = ci['sigil-sign'] as Job
  const verify = ci['sigil-verify'] as Job
  assert.deepEqual(verify.needs, ['sigil-sign'])
  for (const job of [sign, verify]) {
    assert.ok(!('script' in job) && !('id_tokens' in job))
    assert.ok(!('variables' in job), 'inputs, not variables')
  }
})

test('release: on semver tags only, with the release keyword', () => {
  const r = ci.release as {
    stage: string
    rules: { if: string }[]
    release: { tag_name: string; description: string }
    script: string[]
  }
  assert.equal(r.stage, 'release')
  assert.equal(r.release.tag_name, '$CI_COMMIT_TAG')
  assert.ok(r.release.description)
  assert.ok(r.script.length > 0, 'a job needs a script even with release:')
  assert.equal(r.rules.length, 1)
  assert.match(r.rules[0]!.if, /^\$CI_COMMIT_TAG =~ /)
  const re = new RegExp(/=~ \/(.+)\/$/.exec(r.rules[0]!.if)![1]!)
  assert.ok(re.test('1.2.3') && !re.test('v1.2.3') && !re.test('main'))
})
