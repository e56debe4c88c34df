// The shared verification vectors are required only where .ci/run asks for
// them (SIGIL_REQUIRE_VECTORS=1); hosted CI (CI=true) and clones skip them
// and say why.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { vectorsSkipReason } from '../../support/vectors.ts'

const root = join(import.meta.dirname, '../../..')

test('missing vectors: skipped with a reason under CI=true, an error only with SIGIL_REQUIRE_VECTORS=1', t => {
  const empty = mkdtempSync(join(tmpdir(), 'sigil-novectors-'))
  t.after(() => rmSync(empty, { recursive: true, force: true }))
  const reason = vectorsSkipReason({ CI: 'true', SIGIL_VECTORS: empty })
  assert.equal(typeof reason, 'string')
  assert.match(
    reason as string,
    /verification vectors not found at .*sigil-novectors-/
  )
  assert.match(reason as string, /SIGIL_VECTORS/)
  assert.equal(typeof vectorsSkipReason({ SIGIL_VECTORS: empty }), 'string')
  assert.throws(
    () =>
      vectorsSkipReason({
        CI: 'true',
        SIGIL_REQUIRE_VECTORS: '1',
        SIGIL_VECTORS: empty
      }),
    {
      name: 'Error',
      message:
        /SIGIL_REQUIRE_VECTORS=1 but the verification vectors are missing/
    }
  )
})

test('present vectors run, whether or not they are required', t => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-vectors-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'index.json'), '{"vectors":[]}')
  assert.equal(vectorsSkipReason({ SIGIL_VECTORS: dir }), false)
  assert.equal(
    vectorsSkipReason({ SIGIL_VECTORS: dir, SIGIL_REQUIRE_VECTORS: '1' }),
    false
  )
})

test('.ci/run requires the vectors; the hosted pipelines do not', () => {
  assert.match(
    readFileSync(join(root, '.ci/run'), 'utf8'),
    /^export SIGIL_REQUIRE_VECTORS=1$/m
  )
  for (const f of ['.github/workflows/ci.yml', '.gitlab-ci.yml']) {
    assert.doesNotMatch(
      readFileSync(join(root, f), 'utf8'),
      /SIGIL_REQUIRE_VECTORS/,
      `${f} runs where ../shared is absent`
    )
  }
})
