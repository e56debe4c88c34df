// CEL predicate policies (verify-attestation --policy): the file forms, the
// variables an expression sees, and failing closed with a code that names
// the rule — false, non-boolean, evaluation errors, files that do not
// compile, and CUE/Rego files refused with what to use instead.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPredicatePolicy } from '../../../src/cosign/predicate-policy.ts'
import type { InTotoStatement } from '../../../src/cosign/payload.ts'
import { AppError, InputError } from '../../../src/util/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'sigil-cel-'))
let n = 0
function policyFile(ext: string, text: string): string {
  const p = join(dir, `policy-${++n}${ext}`)
  writeFileSync(p, text)
  return p
}

const STATEMENT: InTotoStatement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'ghcr.io/org/app', digest: { sha256: 'ab'.repeat(32) } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://example.com/build/v1',
      externalParameters: { workflow: { ref: 'refs/heads/main' }, runs: 2 }
    },
    runDetails: { builder: { id: 'https://example.com/builder' } }
  }
}

function rejects(fn: () => unknown, code: string, message: RegExp): AppError {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  assert.ok(
    caught instanceof AppError,
    `expected ${code}, got ${String(caught)}`
  )
  assert.equal(caught.code, code)
  assert.match(caught.message, message)
  return caught
}

test('a .cel file is one rule over predicate, predicateType, subject and statement', async () => {
  const p = await loadPredicatePolicy(
    policyFile(
      '.cel',
      [
        '// builds from main by our builder',
        'predicateType == "https://slsa.dev/provenance/v1" &&',
        'predicate.buildDefinition.externalParameters.workflow.ref == "refs/heads/main" &&',
        'predicate.buildDefinition.externalParameters.runs >= 1 &&',
        'subject.all(s, s.digest.sha256.size() == 64) &&',
        'statement._type.startsWith("https://in-toto.io/")'
      ].join('\n')
    )
  )
  assert.equal(p.rules.length, 1)
  p.check(STATEMENT)
})

test('a rule that returns false rejects with PREDICATE_POLICY_FAILED naming the rule and its message', async () => {
  const path = policyFile(
    '.yaml',
    [
      'validations:',
      '  - expression: predicate.runDetails.builder.id == "https://example.com/builder"',
      '  - name: main-only',
      '    expression: predicate.buildDefinition.externalParameters.workflow.ref == "refs/heads/release"',
      '    message: only release builds deploy'
    ].join('\n')
  )
  const p = await loadPredicatePolicy(path)
  assert.deepEqual(
    p.rules.map(r => r.name),
    ['validations[0]', 'main-only']
  )
  rejects(
    () => p.check(STATEMENT),
    'PREDICATE_POLICY_FAILED',
    /rule main-only \(predicate\.buildDefinition.*\) returned false \(boolean\): only release builds deploy/
  )
  // The first rule fails first.
  const other = {
    ...STATEMENT,
    predicate: { runDetails: { builder: { id: 'x' } } }
  }
  rejects(
    () => p.check(other),
    'PREDICATE_POLICY_FAILED',
    /rule validations\[0\]/
  )
})

test('fail closed: a missing field errors (PREDICATE_POLICY_ERROR), a non-boolean result is not true', async () => {
  const missing = await loadPredicatePolicy(
    policyFile('.cel', 'predicate.materials[0].uri == "git+https://x"')
  )
  const e = rejects(
    () => missing.check(STATEMENT),
    'PREDICATE_POLICY_ERROR',
    /failed to evaluate: No such key: materials/
  )
  assert.match(e.remedy ?? '', /has\(\)/)
  const guarded = await loadPredicatePolicy(
    policyFile('.cel', '!has(predicate.materials)')
  )
  guarded.check(STATEMENT)
  const dyn = await loadPredicatePolicy(
    policyFile('.cel', 'predicate.runDetails.builder.id')
  )
  rejects(
    () => dyn.check(STATEMENT),
    'PREDICATE_POLICY_FAILED',
    /returned "https:\/\/example\.com\/builder" \(string\)/
  )
})

test('JSON form; a statement without a predicate sees predicate == null', async () => {
  const p = await loadPredicatePolicy(
    policyFile(
      '.json',
      JSON.stringify({ validations: [{ expression: 'predicate == null' }] })
    )
  )
  p.check({ ...STATEMENT, predicate: undefined })
  rejects(() => p.check(STATEMENT), 'PREDICATE_POLICY_FAILED', /returned false/)
})

test('files that do not compile stop the run with INPUT_PREDICATE_POLICY_INVALID', async () => {
  for (const [ext, text, message] of [
    [
      '.cel',
      'predicate.x ==',
      /rule policy-\d+\.cel does not compile: Unexpected token/
    ],
    [
      '.cel',
      'image.digest == "x"',
      /does not compile: Unknown variable: image/
    ],
    ['.cel', '1 + 2', /does not compile: it returns int, not bool/],
    ['.cel', '  \n', /the file is empty/],
    ['.yaml', 'validations: []', /non-empty list/],
    ['.yaml', 'rules: [x]', /unknown field rules/],
    [
      '.yaml',
      'validations:\n  - expr: x',
      /validations\[0\]: unknown field expr/
    ],
    ['.yaml', 'validations: [ {', /not valid YAML/],
    ['.json', '{', /not valid JSON/],
    ['.txt', 'true', /unknown policy file type ".txt"/]
  ] as const) {
    const path = policyFile(ext, text)
    await assert.rejects(
      loadPredicatePolicy(path, '--policy'),
      (e: unknown) => {
        assert.ok(e instanceof InputError)
        assert.equal(e.code, 'INPUT_PREDICATE_POLICY_INVALID', `${ext} ${text}`)
        assert.match(e.message, message)
        assert.match(e.message, /^--policy "/)
        return true
      }
    )
  }
  await assert.rejects(loadPredicatePolicy(join(dir, 'absent.cel')), {
    code: 'INPUT_PREDICATE_POLICY_INVALID',
    message: /cannot read it/
  })
})

test('CUE and Rego files are refused: not supported, write CEL', async () => {
  for (const [ext, lang] of [
    ['.cue', 'CUE'],
    ['.rego', 'Rego']
  ] as const) {
    await assert.rejects(
      loadPredicatePolicy(
        policyFile(ext, 'package x'),
        'input "predicate-policy"'
      ),
      (e: unknown) => {
        assert.ok(e instanceof InputError)
        assert.equal(e.code, 'INPUT_PREDICATE_POLICY_UNSUPPORTED')
        assert.match(
          e.message,
          new RegExp(`is a ${lang} policy; sigil does not evaluate CUE or Rego`)
        )
        assert.match(e.message, /written in CEL/)
        assert.match(e.remedy ?? '', /\.cel file/)
        return true
      }
    )
  }
})
