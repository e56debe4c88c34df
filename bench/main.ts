// `npm run bench`: every figure of the README's Performance section, measured
// side by side in one run on this machine, over loopback only.
//  1. size of dist/ against the 1 MB target;
//  2. time to first output of each entry point, and of bare node;
//  3. keyless signing of 1 and 10 fresh images: the Sigil CLI vs a signer
//     built on sigstore-js sign() (bench/peer-signer.mjs), both as child
//     processes against one docker-registry and one loopback Sigstore stack,
//     with Fulcio requests counted;
//  4. verification throughput (bench/verify-throughput.ts) vs @sigstore/verify.
// Prints a Markdown table; --write-readme puts it between the README's
// `<!-- bench -->` markers. Run through bench/run.mjs (Node 24).
// usage: node bench/main.ts [--write-readme] [--runs N]
import { spawn } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { githubClaims, makeJwt } from '../__tests__/support/oidc.ts'
import { vectorsDir } from '../__tests__/support/vectors.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  startWorld,
  type World
} from '../__tests__/support/world.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const node = process.execPath
const { values: flags } = parseArgs({
  options: {
    'write-readme': { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    'load-runs': { type: 'string', default: '15' },
    'verify-seconds': { type: 'string', default: '3' }
  }
})
const RUNS = Number(flags.runs)
const LOAD_RUNS = Number(flags['load-runs'])

const TARGETS = {
  sizeBytes: 1_000_000,
  loadMs: 150,
  signRatio: 0.5,
  verifyRatio: 2
}

const log = (m: string): void => void process.stderr.write(`${m}\n`)
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const mark = (ok: boolean): string => (ok ? '✅' : '❌')
const ms = (x: number): string => `${x.toFixed(0)} ms`
const sec = (x: number): string => `${(x / 1000).toFixed(2)} s`

// An environment without anything an entry point would pick up as input.
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      !/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_|CI_|SIGIL_|SIGSTORE_|COSIGN_)/.test(
        k
      ) && k !== 'CI'
  )
)

interface ChildResult {
  /** spawn → first byte on stdout or stderr (or exit), ms */
  firstOutput: number
  /** spawn → exit, ms */
  total: number
  code: number | null
  stdout: string
  stderr: string
}

function runChild(args: string[], env = cleanEnv): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    let first: number | undefined
    const out: Buffer[] = []
    const err: Buffer[] = []
    const child = spawn(node, args, { cwd: root, env })
    const seen = (): void => void (first ??= performance.now() - start)
    child.stdout.on('data', (d: Buffer) => (seen(), out.push(d)))
    child.stderr.on('data', (d: Buffer) => (seen(), err.push(d)))
    child.on('error', reject)
    child.on('close', code => {
      const total = performance.now() - start
      resolve({
        firstOutput: first ?? total,
        total,
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString()
      })
    })
  })
}

// dist/ snapshot ---------------------------------------------------------------

const ENTRY_FILES = [
  'lib/index.js',
  'cli/index.js',
  'sign/index.js',
  'verify/index.js',
  'package.json'
]

/**
 * A private copy of dist/, so that a `npm run build` running meanwhile (it
 * deletes dist/ first) cannot break or skew the run. Waits for a complete
 * build when dist/ is being rebuilt.
 */
async function snapshotDist(): Promise<string> {
  const src = join(root, 'dist')
  const deadline = Date.now() + 120_000
  for (;;) {
    const complete = (d: string): boolean =>
      ENTRY_FILES.every(f => existsSync(join(d, f)))
    if (complete(src)) {
      const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-dist-'))
      try {
        const before = statSync(join(src, 'lib/index.js')).mtimeMs
        cpSync(src, dir, { recursive: true })
        const after = statSync(join(src, 'lib/index.js')).mtimeMs
        if (before === after && complete(dir)) return dir
      } catch {
        // dist/ changed while we copied it: try again.
      }
      rmSync(dir, { recursive: true, force: true })
    }
    if (Date.now() > deadline)
      throw new Error('dist/ is incomplete: run npm run build')
    log('  waiting for dist/ (a build is running)')
    await new Promise(r => setTimeout(r, 1000))
  }
}

// 1. Size ---------------------------------------------------------------------

function dirBytes(dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size
  }
  return n
}

// 2. Entry load ---------------------------------------------------------------

interface LoadFigure {
  name: string
  median: number
}

async function measureLoad(dist: string): Promise<LoadFigure[]> {
  const cases: { name: string; args: string[] }[] = [
    // Bare node printing one byte: the floor for "time to first output".
    { name: 'bare node', args: ['-e', "process.stdout.write('0')"] },
    { name: 'cli (version)', args: [join(dist, 'cli/index.js'), 'version'] },
    { name: 'verify action', args: [join(dist, 'verify/index.js')] },
    { name: 'sign action', args: [join(dist, 'sign/index.js')] }
  ]
  for (const c of cases) {
    const r = await runChild(c.args)
    if (r.stdout === '' && r.stderr === '')
      throw new Error(`${c.args.join(' ')} printed nothing`)
  }
  const times = cases.map(() => [] as number[])
  for (let i = 0; i < LOAD_RUNS; i++) {
    for (const [j, c] of cases.entries()) {
      times[j]!.push((await runChild(c.args)).firstOutput)
    }
  }
  return cases.map((c, j) => ({ name: c.name, median: median(times[j]!) }))
}

// 3. Signing ------------------------------------------------------------------

type Signer = 'sigil' | 'peer'

interface SignRun {
  ms: number
  fulcio: number
}

async function signOnce(
  w: World,
  dist: string,
  who: Signer,
  n: number
): Promise<SignRun> {
  const refs: string[] = []
  for (let i = 0; i < n; i++)
    refs.push((await freshImage(w, `bench/${who}`)).ref)
  const common = [
    '--identity-token',
    makeJwt(githubClaims()),
    '--fulcio-url',
    w.stack.fulcioUrl,
    '--rekor-url',
    w.stack.rekorUrl,
    '--trusted-root',
    w.stack.trustedRootPath
  ]
  const args =
    who === 'sigil'
      ? [join(dist, 'cli/index.js'), 'sign', ...common, ...refs]
      : ['bench/peer-signer.mjs', ...common, ...refs]
  const before = w.stack.counts.fulcio
  const r = await runChild(args)
  if (r.code !== 0)
    throw new Error(
      `${who} failed to sign ${n} image(s) (exit ${r.code}):\n${r.stderr}${r.stdout}`
    )
  return { ms: r.total, fulcio: w.stack.counts.fulcio - before }
}

/** `sigil verify` on an image the peer signed: the peer writes real signatures. */
async function checkPeerOutput(w: World, dist: string): Promise<void> {
  const ref = (await freshImage(w, 'bench/check')).ref
  const common = [
    '--identity-token',
    makeJwt(githubClaims()),
    '--fulcio-url',
    w.stack.fulcioUrl,
    '--rekor-url',
    w.stack.rekorUrl,
    '--trusted-root',
    w.stack.trustedRootPath
  ]
  const s = await runChild(['bench/peer-signer.mjs', ...common, ref])
  const v = await runChild([
    join(dist, 'cli/index.js'),
    'verify',
    '--certificate-identity',
    GITHUB_SAN,
    '--certificate-oidc-issuer',
    GITHUB_ISSUER,
    '--trusted-root',
    w.stack.trustedRootPath,
    ref
  ])
  if (s.code !== 0 || v.code !== 0)
    throw new Error(
      `the peer's signature does not verify:\n${s.stderr}${v.stderr}`
    )
}

interface SignFigures {
  n: number
  sigil: number
  peer: number
  /** Median over rounds of sigil/peer, each pair measured back to back. */
  ratio: number
  sigilFulcio: number
  peerFulcio: number
}

async function measureSigning(w: World, dist: string): Promise<SignFigures[]> {
  await checkPeerOutput(w, dist)
  const sizes = [1, 10]
  for (const n of sizes) {
    await signOnce(w, dist, 'sigil', n) // warm-up (page cache, registry, stack JIT)
    await signOnce(w, dist, 'peer', n)
  }
  const runs = new Map<string, SignRun[]>()
  const push = (k: string, r: SignRun): void =>
    void runs.set(k, [...(runs.get(k) ?? []), r])
  for (let i = 0; i < RUNS; i++) {
    for (const n of sizes) {
      // Alternate who goes first to spread drift and noise evenly.
      const order: Signer[] = i % 2 ? ['peer', 'sigil'] : ['sigil', 'peer']
      for (const who of order)
        push(`${who}${n}`, await signOnce(w, dist, who, n))
    }
    log(`  signing round ${i + 1}/${RUNS} done`)
  }
  return sizes.map(n => {
    const s = runs.get(`sigil${n}`)!
    const p = runs.get(`peer${n}`)!
    return {
      n,
      sigil: median(s.map(r => r.ms)),
      peer: median(p.map(r => r.ms)),
      // Paired: run i of both tools ran back to back, so their ratio
      // cancels the machine's drift better than a ratio of medians.
      ratio: median(s.map((r, i) => r.ms / p[i]!.ms)),
      sigilFulcio: median(s.map(r => r.fulcio)),
      peerFulcio: median(p.map(r => r.fulcio))
    }
  })
}

// 4. Verification throughput ----------------------------------------------------

interface VerifyFigures {
  sigil: number
  peer: number
  vectors: string
}

async function measureVerify(): Promise<VerifyFigures | undefined> {
  if (!vectorsDir()) return undefined
  const r = await runChild(
    ['bench/verify-throughput.ts', flags['verify-seconds']],
    process.env
  )
  const rate = (name: string): number => {
    const m = new RegExp(`^${name}\\s+(\\d+) verifications/s`, 'm').exec(
      r.stdout
    )
    if (!m) throw new Error(`verify-throughput.ts:\n${r.stdout}${r.stderr}`)
    return Number(m[1])
  }
  return {
    sigil: rate('sigil'),
    peer: rate('@sigstore/verify'),
    vectors: /^(\d+) vectors/m.exec(r.stdout)?.[1] ?? '?'
  }
}

// Report ------------------------------------------------------------------------

function table(
  size: number,
  load: LoadFigure[],
  sign: SignFigures[],
  verify: VerifyFigures | undefined
): string {
  const bare = load.find(l => l.name === 'bare node')!.median
  const rows: string[][] = [
    [
      '`dist/` size (all files)',
      `${(size / 1e6).toFixed(2)} MB`,
      'actions/attest ~3 MB',
      '',
      '≤ 1 MB',
      mark(size <= TARGETS.sizeBytes)
    ],
    ['bare `node` (time to first output)', ms(bare), '', '', '', ''],
    ...load
      .filter(l => l.name !== 'bare node')
      .map(l => [
        `entry load: ${l.name} (time to first output)`,
        `${ms(l.median)} (node + ${ms(l.median - bare)})`,
        '',
        '',
        '≤ 150 ms',
        mark(l.median <= TARGETS.loadMs)
      ]),
    ...sign.map(s => [
      `keyless sign, ${s.n} image${s.n > 1 ? 's' : ''} (process start to exit)`,
      sec(s.sigil),
      sec(s.peer),
      `${s.ratio.toFixed(2)}×`,
      '≤ 0.5×',
      mark(s.ratio <= TARGETS.signRatio)
    ]),
    ...sign.map(s => [
      `Fulcio requests, ${s.n} image${s.n > 1 ? 's' : ''}`,
      String(s.sigilFulcio),
      String(s.peerFulcio),
      '',
      '',
      ''
    ]),
    verify
      ? [
          `verifications/s (${verify.vectors} real-world bundles, one process)`,
          String(verify.sigil),
          String(verify.peer),
          `${(verify.sigil / verify.peer).toFixed(2)}×`,
          '≥ 2×',
          mark(verify.sigil / verify.peer >= TARGETS.verifyRatio)
        ]
      : [
          'verifications/s',
          'skipped: ../shared/vectors is absent',
          '',
          '',
          '≥ 2×',
          ''
        ]
  ]
  const head = ['', 'Sigil', 'peer', 'Sigil/peer', 'target', '']
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map(r => `| ${r.join(' | ')} |`)
  ].join('\n')
}

function writeReadme(body: string): void {
  const file = join(root, 'README.md')
  const text = readFileSync(file, 'utf8')
  const re = /(<!-- bench -->\n)[\s\S]*?(<!-- \/bench -->)/
  if (!re.test(text)) throw new Error('README.md has no <!-- bench --> markers')
  writeFileSync(
    file,
    text.replace(re, (_, a: string, b: string) => `${a}${body}\n${b}`)
  )
}

async function main(): Promise<void> {
  const t0 = performance.now()
  log('1/4 dist/ size')
  const dist = await snapshotDist()
  let load: LoadFigure[]
  let sign: SignFigures[]
  const size = dirBytes(dist)
  try {
    log('2/4 entry-point load time')
    load = await measureLoad(dist)
    log('3/4 signing (starting docker-registry and the Sigstore stack)')
    const w = await startWorld({ mode: 'none' })
    try {
      sign = await measureSigning(w, dist)
    } finally {
      await w.stop()
      rmSync(w.tmp, { recursive: true, force: true })
    }
  } finally {
    rmSync(dist, { recursive: true, force: true })
  }
  log('4/4 verification throughput')
  const verify = await measureVerify()
  if (!verify) log('  ../shared/vectors is absent: skipped')

  const date = new Date().toISOString().slice(0, 10)
  const body =
    `${table(size, load, sign, verify)}\n\n` +
    `Machine: ${availableParallelism()} cores (nproc), Node ${process.version}, ${date}; ` +
    `medians of ${RUNS} signing runs (after a warm-up; the ratio is the median of the ${RUNS} back-to-back pairs) and ${LOAD_RUNS} load runs; ` +
    `peer = \`bench/peer-signer.mjs\` (sigstore-js \`sign()\`) and \`@sigstore/verify\`.`
  console.log(body)
  if (flags['write-readme']) {
    writeReadme(body)
    log('README.md updated')
  }
  log(`bench took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}

await main()
