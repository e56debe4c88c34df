// bench/verify-throughput.ts on a vector set with broken entries: each one
// is listed with its reason and skipped, the rest is measured, both engines
// interleaved. A short run (0.2 s per engine), not a benchmark.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import {
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  loadVectors,
  vectorsDir,
  vectorsSkipReason
} from '../support/vectors.ts'

const root = join(import.meta.dirname, '../..')

test(
  'the verification bench reports and skips vectors it cannot prepare',
  { skip: vectorsSkipReason() },
  async t => {
    const real = vectorsDir()!
    const good = loadVectors(real).find(
      v => v.kind === 'bundle' && v.expect === 'pass' && !v.key
    )!
    const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-vectors-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    for (const entry of readdirSync(real)) {
      if (entry !== 'index.json')
        symlinkSync(join(real, entry), join(dir, entry))
    }
    const vectors = [
      { ...good, id: 'broken/missing-bundle', bundle: 'nowhere/absent.json' },
      { ...good, id: 'broken/bad-trusted-root', trusted_root: good.bundle },
      good
    ]
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ vectors }))
    const r = await new Promise<{ code: number; out: string }>(resolve =>
      execFile(
        process.execPath,
        ['bench/verify-throughput.ts', '0.2'],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, SIGIL_VECTORS: dir }
        },
        (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            out: stdout + stderr
          })
      )
    )
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /^1 vectors verified by both engines \(2 skipped\)/m)
    assert.match(
      r.out,
      /skipped broken\/missing-bundle: could not be prepared \(.*ENOENT/
    )
    assert.match(
      r.out,
      /skipped broken\/bad-trusted-root: could not be prepared/
    )
    assert.match(r.out, /^sigil\s+\d+ verifications\/s$/m)
    assert.match(r.out, /^@sigstore\/verify\s+\d+ verifications\/s$/m)
    assert.match(r.out, /^ratio\s+[\d.]+x \(median of \d+ paired slices\)$/m)
    assert.doesNotMatch(r.out, /\n\s+at /, 'a stack trace')
  }
)
