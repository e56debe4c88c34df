// The policy inputs (toVerifyInputs) and `sigil policy validate` in-process:
// conflicts and values checked before any network call; the validate
// command's text, JSON and exit codes on the shared samples.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { runCliWith } from '../../../src/cli/main.ts'
import { toVerifyInputs } from '../../../src/cosign/inputs.ts'
import { MemoryLogger } from '../../../src/util/index.ts'
import { policiesDir } from '../../support/vectors.ts'

const tmp = mkdtempSync(join(tmpdir(), 'sigil-policy-unit-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

async function cli(argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await runCliWith(argv, {
    stdout: s => {
      stdout += s
    },
    stderr: s => {
      stderr += s
    },
    env: {}
  })
  return { code, stdout, stderr }
}

test('policy replaces the identity policy and conflicts with it', async () => {
  const log = new MemoryLogger()
  const ok = await toVerifyInputs(
    { images: 'a', policy: 'p.yaml\nq/', 'no-match': 'warn' },
    {},
    log
  )
  assert.deepEqual(ok.policy, {
    paths: ['p.yaml', 'q/'],
    noMatch: 'warn',
    skipUnsupportedPolicies: false
  })
  // The action passes every default: those are not conflicts.
  const defaults = await toVerifyInputs(
    {
      images: 'a',
      policy: 'p.yaml',
      'insecure-ignore-tlog': 'false',
      'skip-unsupported-policies': 'true'
    },
    {},
    log
  )
  assert.equal(defaults.policy?.skipUnsupportedPolicies, true)
  for (const extra of [
    { 'certificate-identity': 'x' },
    { 'certificate-oidc-issuer-regexp': 'x' },
    { key: '-----BEGIN PUBLIC KEY-----' },
    { 'certificate-github-workflow-ref': 'refs/heads/main' },
    { 'insecure-ignore-tlog': 'true' },
    { annotations: 'env=prod' }
  ])
    await assert.rejects(
      toVerifyInputs({ images: 'a', policy: 'p.yaml', ...extra }, {}, log),
      { code: 'INPUT_CONFLICT' },
      JSON.stringify(extra)
    )
  await assert.rejects(
    toVerifyInputs({ images: 'a', policy: 'p', 'no-match': 'maybe' }, {}, log),
    { code: 'INPUT_INVALID_NO_MATCH' }
  )
  await assert.rejects(
    toVerifyInputs(
      {
        images: 'a',
        'certificate-identity': 'x',
        'certificate-oidc-issuer': 'y',
        'no-match': 'allow'
      },
      {},
      log
    ),
    /only applies with input "policy"/
  )
})

describe('sigil policy validate', () => {
  const samples = policiesDir()
  test(
    'the shared samples: each valid, deprecated values warned',
    { skip: samples.skip },
    async () => {
      const gh = join(
        samples.dir!,
        'examples_policies_signed-by-github-actions.yaml'
      )
      const sbom = join(
        samples.dir!,
        'examples_policies_keyless-attestation-sbom-spdxjson.yaml'
      )
      const r = await cli(['policy', 'validate', gh, sbom])
      assert.equal(r.code, 0, r.stderr)
      assert.match(
        r.stdout,
        /^valid: .*signed-by-github-actions\.yaml \(ClusterImagePolicy "image-is-signed-by-github-actions"\): images \*\*; authorities authority-0$/m
      )
      assert.match(
        r.stderr,
        /warning: .*predicateType: invalid value "spdxjson"/
      )
      const json = await cli(['policy', 'validate', '-o', 'json', gh])
      const doc = JSON.parse(json.stdout) as {
        ok: boolean
        policies: { name: string; images: string[] }[]
      }
      assert.equal(doc.ok, true)
      assert.deepEqual(doc.policies[0]?.images, ['**'])
    }
  )

  test('an invalid document: exit 2, each problem with document, field path and fix', async () => {
    const f = join(tmp, 'bad.yaml')
    writeFileSync(
      f,
      'apiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: bad}\nspec:\n  images: [{glob: "**"}]\n  authorities:\n  - key: {data: x}\n    keyless: {identities: [{issuer: a, subject: b}]}\n'
    )
    const r = await cli(['policy', 'validate', f])
    assert.equal(r.code, 2)
    assert.match(
      r.stderr,
      /error: .*bad\.yaml \(ClusterImagePolicy "bad"\): spec\.authorities\[0\]: expected exactly one, got both: key, keyless, static\n {2}fix: split it/
    )
    assert.match(r.stderr, /Error \[INPUT_POLICY_INVALID\]/)
    const usage = await cli(['policy', 'check', f])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /usage: sigil policy validate/)
  })
})
