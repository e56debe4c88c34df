// Static checks of the GitLab component templates against action.yml: the
// same input names, the same defaults, every declared input used, no signing
// in after_script, and the id_tokens block keyless signing needs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments, parse } from 'yaml'
import { SIGN_INPUTS, VERIFY_INPUTS } from '../../../src/cosign/inputs.ts'
import { INSTALL_INPUT_DOCS } from '../../../src/cosign/input-docs.generated.ts'
import { variableName } from '../../../src/gitlab/main.ts'

const root = join(import.meta.dirname, '../../..')
const GITLAB_ONLY = new Set([
  'stage',
  'job-name',
  'image',
  'command',
  'install-dir'
])
// Secrets are never component inputs (inputs are visible in the pipeline
// configuration): they come from masked CI/CD variables instead.
const SECRET_VARIABLES: Record<string, string> = {
  'key-password': 'COSIGN_PASSWORD or SIGIL_KEY_PASSWORD',
  'registry-password': 'CI_REGISTRY_PASSWORD or SIGIL_REGISTRY_PASSWORD',
  'identity-token': 'SIGSTORE_ID_TOKEN from id_tokens'
}
// The certificate-github-workflow-* inputs are not GitHub-only: a GitLab
// pipeline verifying an image signed on GitHub needs them too.
const GITHUB_ONLY = new Set(['github-token', 'push-to-github-attestations'])

interface Spec {
  spec: {
    component?: string[]
    inputs: Record<
      string,
      { default?: unknown; type?: string; options?: string[] }
    >
  }
}

function load(name: string): {
  spec: Spec['spec']
  text: string
  body: Record<string, Record<string, unknown>>
} {
  const text = readFileSync(join(root, 'templates', `${name}.yml`), 'utf8')
  const docs = parseAllDocuments(text)
  assert.equal(docs.length, 2, `${name}.yml: a spec header, ---, then the job`)
  const header = docs[0]!.toJS() as Spec
  const bodyText = text.slice(text.indexOf('\n---\n') + 5)
  const body = parse(bodyText.replace(/\$\[\[[^\]]*\]\]/g, 'X')) as Record<
    string,
    Record<string, unknown>
  >
  return { spec: header.spec, text: bodyText, body }
}

const actionInputs = (file: string): Record<string, { default?: string }> =>
  (
    parse(readFileSync(join(root, file), 'utf8')) as {
      inputs: Record<string, { default?: string }>
    }
  ).inputs

for (const [name, file, engineNames] of [
  ['sign', 'action.yml', SIGN_INPUTS],
  ['verify', 'verify/action.yml', VERIFY_INPUTS],
  ['install-cosign', 'install/action.yml', Object.keys(INSTALL_INPUT_DOCS)]
] as const) {
  test(`templates/${name}.yml mirrors ${file}`, () => {
    const { spec, text } = load(name)
    const action = actionInputs(file)
    const used = new Set(
      [...text.matchAll(/\$\[\[\s*inputs\.([\w-]+)/g)].map(m => m[1])
    )
    for (const input of Object.keys(spec.inputs)) {
      assert.ok(used.has(input), `input "${input}" is declared but never used`)
      if (GITLAB_ONLY.has(input)) continue
      assert.ok(input in action, `input "${input}" is not in ${file}`)
      assert.ok(
        (engineNames as readonly string[]).includes(input),
        `input "${input}" is not read by the engine`
      )
      assert.match(
        text,
        new RegExp(
          `${variableName(input)}: ["']\\$\\[\\[ inputs\\.${input} \\]\\]["']`
        ),
        `input "${input}" must reach the job as ${variableName(input)}`
      )
      const d = spec.inputs[input]?.default
      assert.equal(
        String(d ?? ''),
        String(action[input]?.default ?? ''),
        `default of "${input}" differs from ${file}`
      )
    }
    for (const u of used)
      assert.ok(u && u in spec.inputs, `"${u}" is used but not declared`)
    for (const input of Object.keys(action)) {
      if (input in spec.inputs) continue
      assert.ok(
        input in SECRET_VARIABLES || GITHUB_ONLY.has(input),
        `${file} input "${input}" is missing from templates/${name}.yml`
      )
    }
    assert.deepEqual(spec.component, ['version'])
  })
}

test('the sign job signs in script:, with a Sigstore id token', () => {
  for (const name of ['sign', 'verify', 'install-cosign']) {
    const { body } = load(name)
    const job = Object.values(body)[0]!
    assert.equal(
      job.after_script,
      undefined,
      `${name}: never sign or verify in after_script`
    )
    assert.ok(Array.isArray(job.script))
    assert.equal(JSON.stringify(body).includes('after_script'), false)
  }
  const job = Object.values(load('sign').body)[0]!
  assert.deepEqual(job.id_tokens, { SIGSTORE_ID_TOKEN: { aud: 'sigstore' } })
})

test('format options match the engine', () => {
  assert.deepEqual(load('sign').spec.inputs.format?.options, [
    'legacy',
    'bundle',
    'both'
  ])
})

test('templates/verify.yml passes the certificate-github-workflow-* inputs to the GitLab entry', () => {
  const { spec, text } = load('verify')
  for (const k of ['trigger', 'sha', 'name', 'repository', 'ref']) {
    const input = `certificate-github-workflow-${k}`
    assert.ok(input in spec.inputs, `${input} is missing`)
    assert.ok((VERIFY_INPUTS as readonly string[]).includes(input))
    assert.match(
      text,
      new RegExp(`${variableName(input)}: '\\$\\[\\[ inputs\\.${input} \\]\\]'`)
    )
  }
})
