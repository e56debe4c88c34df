import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseArgs } from '../../../src/cli/args.ts'

const spec = {
  key: { kind: 'string' as const },
  recursive: { kind: 'boolean' as const },
  'tlog-upload': { kind: 'boolean' as const },
  annotations: { kind: 'multi' as const, alias: 'a' }
}

test('flags, booleans with =false, repeatable -a, positionals', () => {
  const p = parseArgs(
    [
      '--key',
      'k',
      '--recursive',
      '--tlog-upload=false',
      '-a',
      'x=1',
      '-a=y=2',
      'img1',
      'img2'
    ],
    spec
  )
  assert.deepEqual(p.flags, {
    key: 'k',
    recursive: 'true',
    'tlog-upload': 'false'
  })
  assert.deepEqual(p.multi, { annotations: ['x=1', 'y=2'] })
  assert.deepEqual(p.positionals, ['img1', 'img2'])
})

test('unknown flags and missing values are usage errors', () => {
  assert.throws(() => parseArgs(['--nope'], spec), { code: 'USAGE' })
  assert.throws(() => parseArgs(['--key'], spec), { code: 'USAGE' })
})
