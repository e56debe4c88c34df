// A small mutation probe of our own: every security check of the verifier
// (`src/sigstore/verify/`) and of the verify paths of `src/cosign/` is made
// to always pass, one at a time, and the unit tests run against it. A check
// is an `if (<condition>)` on one line whose body throws within the next
// three lines; the mutant is `if (false && (<condition>))`. Killed: some test
// failed. Survived: no test noticed, so the check is untested by the unit
// suite (the integration suite is too slow to run per mutant).
// usage: npm run mutate -- [--list] [file...] [--tests <glob>...]
// (default tests: the sigstore and cosign unit suites, ~15 s a run).
// Runs outside `npm test` (`npm run mutate`); restores every file it touches.
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const list = args.includes('--list')
const testsAt = args.indexOf('--tests')
const tests =
  testsAt >= 0
    ? args.slice(testsAt + 1).filter(a => !a.startsWith('--'))
    : [
        '__tests__/unit/sigstore/**/*.test.ts',
        '__tests__/unit/cosign/**/*.test.ts'
      ]
const explicit = args.filter(
  (a, i) => !a.startsWith('--') && (testsAt < 0 || i < testsAt)
)

function walk(dir) {
  return readdirSync(dir).flatMap(n => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []
  })
}

const files = explicit.length
  ? explicit.map(f => join(root, f))
  : [
      ...walk(join(root, 'src/sigstore/verify')),
      ...[
        'verify-image.ts',
        'verify-blob.ts',
        'legacy-signature.ts',
        'payload.ts'
      ].map(f => join(root, 'src/cosign', f))
    ]

const IF = /^(\s*)(?:\} else )?if \((.+)\) \{$/
function mutants(file) {
  const lines = readFileSync(file, 'utf8').split('\n')
  const out = []
  lines.forEach((line, i) => {
    const m = IF.exec(line)
    if (!m) return
    const body = lines.slice(i + 1, i + 4).join('\n')
    if (
      !/throw new \w*Error\(|throw (bad|invalid|mismatch|fail)\w*\(/.test(body)
    )
      return
    out.push({ file, line: i + 1, condition: m[2] })
  })
  return out
}

function runTests() {
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-concurrency=2',
      '--test-reporter=dot',
      '--test-timeout=60000',
      '--disable-warning=ExperimentalWarning',
      ...tests
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env } }
  )
  return r.status === 0
}

const all = files.flatMap(mutants)
if (list) {
  for (const m of all)
    console.log(`${relative(root, m.file)}:${m.line}  if (${m.condition})`)
  console.log(`${all.length} mutants`)
  process.exit(0)
}

if (!runTests()) {
  console.error('the unit tests fail without any mutant: fix them first')
  process.exit(2)
}
const survivors = []
let killed = 0
for (const m of all) {
  const original = readFileSync(m.file, 'utf8')
  const lines = original.split('\n')
  lines[m.line - 1] = lines[m.line - 1].replace(
    `if (${m.condition}) {`,
    `if (false && (${m.condition})) {`
  )
  writeFileSync(m.file, lines.join('\n'))
  let dead
  try {
    dead = !runTests()
  } finally {
    writeFileSync(m.file, original)
  }
  const where = `${relative(root, m.file)}:${m.line}`
  if (dead) killed++
  else survivors.push(`${where}  if (${m.condition})`)
  console.log(`${dead ? 'killed  ' : 'SURVIVED'} ${where}`)
}
const score = all.length ? Math.round((killed / all.length) * 1000) / 10 : 100
console.log(`\n${killed}/${all.length} mutants killed (${score} %)`)
if (survivors.length) console.log(`survivors:\n  ${survivors.join('\n  ')}`)
