// A small mutation probe of our own: every security check of the verifier
// (`src/sigstore/verify/`) and of the verify paths of `src/cosign/` is made
// to always pass, one at a time, and the offline tests run against it. A check
// is an `if (<condition>)` on one line whose body throws within the next
// three lines; the mutant is `if (false && (<condition>))`. Killed: some test
// failed. Survived: no test noticed; every survivor must be explained in
// EXPLAINED below (an unexplained survivor fails the run).
//
// usage: npm run mutate -- [--list] [--write-readme] [id|file...] [--tests <file>...]
//   id     `src/sigstore/verify/sct.ts:37` (or a unique part of it): only
//          that mutant; a file path: only that file's mutants.
//   --list          print the mutants and exit
//   --write-readme  put the score and the survivors into README.md
// Each mutant runs the test files two at a time and stops at the first that
// fails, starting with the files that killed this source file's mutants
// before: a killed mutant costs a second or two, a survivor the whole set
// (the sigstore and cosign unit suites and the offline vector test).
// Runs outside `npm test`; restores every file it touches.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const list = args.includes('--list')
const writeReadme = args.includes('--write-readme')
const testsAt = args.indexOf('--tests')
const positional = args.filter(
  (a, i) => !a.startsWith('--') && (testsAt < 0 || i < testsAt)
)

/**
 * Survivors that are not untested checks, keyed by file and condition (line
 * numbers move). Each says why no test can (or needs to) kill it.
 */
const EXPLAINED = {
  'src/sigstore/verify/verifier.ts  if (!issuer)':
    'unreachable: verifyCertificateChain only returns a path of the leaf plus at least one CA certificate (chain.ts builds it as [cert, ...ca.certChain.slice(k)])'
}

function walk(dir) {
  return readdirSync(dir).flatMap(n => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []
  })
}

const tests =
  testsAt >= 0
    ? args.slice(testsAt + 1).filter(a => !a.startsWith('--'))
    : [
        ...walk(join(root, '__tests__/unit/sigstore')),
        ...walk(join(root, '__tests__/unit/cosign')),
        join(root, '__tests__/integration/vectors.test.ts')
      ]
        .filter(f => f.endsWith('.test.ts'))
        .map(f => relative(root, f))

const sources = [
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
    const rel = relative(root, file)
    out.push({
      file,
      id: `${rel}:${i + 1}`,
      key: `${rel}  if (${m[2]})`,
      line: i + 1,
      condition: m[2]
    })
  })
  return out
}

function runFile(test) {
  return new Promise(resolve => {
    const child = spawn(
      process.execPath,
      [
        '--test',
        '--test-reporter=dot',
        '--test-timeout=60000',
        '--disable-warning=ExperimentalWarning',
        test
      ],
      { cwd: root, stdio: 'ignore', env: { ...process.env } }
    )
    running.add(child)
    child.on('exit', code => {
      running.delete(child)
      resolve(code === 0)
    })
  })
}

const running = new Set()
/** The first of `files` that fails (two at a time), or undefined. */
async function firstFailing(files) {
  const queue = [...files]
  let failed
  const worker = async () => {
    while (!failed && queue.length) {
      const t = queue.shift()
      if (!(await runFile(t)) && !failed) {
        failed = t
        for (const c of running) c.kill()
      }
    }
  }
  await Promise.all([worker(), worker()])
  return failed
}

let all = sources.flatMap(mutants)
if (positional.length) {
  all = all.filter(m =>
    positional.some(p => m.id === p || m.id.includes(p) || m.file.endsWith(p))
  )
}
if (list) {
  for (const m of all) console.log(`${m.id}  if (${m.condition})`)
  console.log(`${all.length} mutants`)
  process.exit(0)
}

if (!positional.length) {
  const broken = await firstFailing(tests)
  if (broken) {
    console.error(`${broken} fails without any mutant: fix it first`)
    process.exit(2)
  }
}

/** Test files that killed a mutant of each source file, most recent first. */
const killers = new Map()
const survivors = []
let killed = 0
const started = Date.now()
for (const m of all) {
  const original = readFileSync(m.file, 'utf8')
  const lines = original.split('\n')
  lines[m.line - 1] = lines[m.line - 1].replace(
    `if (${m.condition}) {`,
    `if (false && (${m.condition})) {`
  )
  writeFileSync(m.file, lines.join('\n'))
  let by
  try {
    const first = killers.get(m.file) ?? []
    by = await firstFailing([
      ...first,
      ...tests.filter(t => !first.includes(t))
    ])
  } finally {
    writeFileSync(m.file, original)
  }
  if (by) {
    killed++
    killers.set(m.file, [
      by,
      ...(killers.get(m.file) ?? []).filter(t => t !== by)
    ])
    console.log(`killed   ${m.id}  (${by})`)
  } else {
    survivors.push(m)
    console.log(`SURVIVED ${m.id}  if (${m.condition})`)
  }
}
const score = all.length ? Math.round((killed / all.length) * 1000) / 10 : 100
const summary = `${killed}/${all.length} mutants killed (${score} %)`
console.log(`\n${summary} in ${Math.round((Date.now() - started) / 1000)} s`)
const unexplained = survivors.filter(s => !EXPLAINED[s.key])
for (const s of survivors) {
  console.log(
    `  ${s.key}\n    ${EXPLAINED[s.key] ?? 'UNEXPLAINED: add a test that kills it, or explain it in EXPLAINED'}`
  )
}

if (writeReadme) {
  if (positional.length || testsAt >= 0) {
    console.error('--write-readme needs the full run (no ids, no --tests)')
    process.exit(2)
  }
  const readme = join(root, 'README.md')
  const text = readFileSync(readme, 'utf8')
  const begin = '<!-- mutate:begin -->'
  const end = '<!-- mutate:end -->'
  const a = text.indexOf(begin)
  const b = text.indexOf(end)
  if (a < 0 || b < a) {
    console.error(`README.md has no ${begin} … ${end} block`)
    process.exit(2)
  }
  const block = [
    begin,
    `Mutation score (\`npm run mutate\`): **${summary}**, against the sigstore and cosign unit`,
    'suites and the offline vector test. Every survivor, and why it survives:',
    '',
    ...survivors.map(
      s =>
        `- \`${s.key.replace(/ {2}/, '` `')}\`: ${EXPLAINED[s.key] ?? 'unexplained'}`
    ),
    ...(survivors.length ? [] : ['- none']),
    end
  ].join('\n')
  writeFileSync(readme, text.slice(0, a) + block + text.slice(b + end.length))
  console.log('README.md updated')
}
process.exit(unexplained.length ? 1 : 0)
