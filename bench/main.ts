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
import { startProxies, type Proxies } from '../__tests__/support/durability.ts'
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
  /** An entry point loads in at most 1.3× a bare `node` (project target). */
  loadVsNode: 1.3,
  signRatio: 0.5,
  slowRatio: 0.2,
  hundredRatio: 10,
  requestsPerImage: 7,
  verifyRatio: 5
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
  /** Requests the registry received (counted when signing through a proxy). */
  registry: number
}

async function signOnce(
  w: World,
  dist: string,
  who: Signer,
  n: number,
  via?: Proxies
): Promise<SignRun> {
  const refs: string[] = []
  for (let i = 0; i < n; i++) {
    const img = await freshImage(w, `bench/${who}`)
    refs.push(via ? `${via.registry.host}/${img.repo}@${img.digest}` : img.ref)
  }
  const common = [
    '--identity-token',
    makeJwt(githubClaims()),
    '--fulcio-url',
    via ? via.fulcio.url : w.stack.fulcioUrl,
    '--rekor-url',
    via ? via.rekor.url : w.stack.rekorUrl,
    '--trusted-root',
    w.stack.trustedRootPath
  ]
  const logged = via?.registry.log.length ?? 0
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
  return {
    ms: r.total,
    fulcio: w.stack.counts.fulcio - before,
    registry: via ? via.registry.log.length - logged : 0
  }
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
  /** What was signed, e.g. "10 images, 50 ms added per request". */
  label: string
  n: number
  sigil: number
  peer: number
  /** Median over rounds of sigil/peer, each pair measured back to back. */
  ratio: number
  target: number
  sigilFulcio: number
  peerFulcio: number
}

interface SigningFigures {
  pairs: SignFigures[]
  /** Sigil alone: 100 images, and its ratio to one image in the same rounds. */
  hundred: { ms: number; one: number; ratio: number }
  /** Registry requests per freshly signed image (10 images, one run). */
  requests: { sigil: number; peer: number }
}

async function measurePairs(
  w: World,
  dist: string,
  label: string,
  n: number,
  target: number,
  runs: number,
  via?: Proxies
): Promise<SignFigures> {
  await signOnce(w, dist, 'sigil', n, via) // warm-up (page cache, registry, JIT)
  await signOnce(w, dist, 'peer', n, via)
  const s: SignRun[] = []
  const p: SignRun[] = []
  for (let i = 0; i < runs; i++) {
    // Alternate who goes first to spread drift and noise evenly.
    if (i % 2) {
      p.push(await signOnce(w, dist, 'peer', n, via))
      s.push(await signOnce(w, dist, 'sigil', n, via))
    } else {
      s.push(await signOnce(w, dist, 'sigil', n, via))
      p.push(await signOnce(w, dist, 'peer', n, via))
    }
  }
  log(`  ${label}: done`)
  return {
    label,
    n,
    target,
    sigil: median(s.map(r => r.ms)),
    peer: median(p.map(r => r.ms)),
    // Paired: run i of both tools ran back to back, so their ratio
    // cancels the machine's drift better than a ratio of medians.
    ratio: median(s.map((r, i) => r.ms / p[i]!.ms)),
    sigilFulcio: median(s.map(r => r.fulcio)),
    peerFulcio: median(p.map(r => r.fulcio))
  }
}

async function measureSigning(w: World, dist: string): Promise<SigningFigures> {
  await checkPeerOutput(w, dist)
  const pairs = [
    await measurePairs(w, dist, '1 image', 1, TARGETS.signRatio, RUNS),
    await measurePairs(w, dist, '10 images', 10, TARGETS.signRatio, RUNS)
  ]
  const proxies = await startProxies(w)
  try {
    // Registry requests per fresh image: 10 images, no faults, counted;
    // the median of 3 runs (a write whose preparation outlasts the read's
    // freshness adds a re-validation HEAD, so single runs vary).
    const perImage = async (who: Signer): Promise<number> => {
      const runs: number[] = []
      for (let i = 0; i < 3; i++)
        runs.push((await signOnce(w, dist, who, 10, proxies)).registry / 10)
      return median(runs)
    }
    const counted = {
      sigil: await perImage('sigil'),
      peer: await perImage('peer')
    }
    for (const x of proxies.all)
      x.rules = [{ faults: [{ kind: 'delay', ms: 50 }] }]
    pairs.push(
      await measurePairs(
        w,
        dist,
        '10 images, 50 ms added per request',
        10,
        TARGETS.slowRatio,
        Math.max(3, Math.ceil(RUNS / 2)),
        proxies
      )
    )
    // 100 images against 1, interleaved.
    const one: number[] = []
    const hundred: number[] = []
    await signOnce(w, dist, 'sigil', 100)
    for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
      one.push((await signOnce(w, dist, 'sigil', 1)).ms)
      hundred.push((await signOnce(w, dist, 'sigil', 100)).ms)
    }
    log('  100 images: done')
    return {
      pairs,
      hundred: {
        ms: median(hundred),
        one: median(one),
        ratio: median(hundred.map((h, i) => h / one[i]!))
      },
      requests: counted
    }
  } finally {
    await proxies.stop()
  }
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
  signing: SigningFigures,
  verify: VerifyFigures | undefined
): string {
  const sign = signing.pairs
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
        `${(l.median / bare).toFixed(2)}× node`,
        `≤ ${TARGETS.loadVsNode}× node, ≤ ${TARGETS.loadMs} ms`,
        mark(
          l.median <= TARGETS.loadVsNode * bare && l.median <= TARGETS.loadMs
        )
      ]),
    ...sign.map(s => [
      `keyless sign, ${s.label} (process start to exit)`,
      sec(s.sigil),
      sec(s.peer),
      `${s.ratio.toFixed(2)}×`,
      `≤ ${s.target}×`,
      mark(s.ratio <= s.target)
    ]),
    [
      'keyless sign, 100 images, against 1 image',
      `${sec(signing.hundred.ms)} (1 image: ${sec(signing.hundred.one)})`,
      '',
      `${signing.hundred.ratio.toFixed(1)}× one image`,
      `≤ ${TARGETS.hundredRatio}×`,
      mark(signing.hundred.ratio <= TARGETS.hundredRatio)
    ],
    [
      'registry requests per freshly signed image (legacy, 10 images, confirmation included)',
      signing.requests.sigil.toFixed(1),
      signing.requests.peer.toFixed(1),
      '',
      `≤ ${TARGETS.requestsPerImage}`,
      mark(signing.requests.sigil <= TARGETS.requestsPerImage)
    ],
    ...sign
      .filter(s => !s.label.includes('ms added'))
      .map(s => [
        `Fulcio requests, ${s.label}`,
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
          `≥ ${TARGETS.verifyRatio}×`,
          mark(verify.sigil / verify.peer >= TARGETS.verifyRatio)
        ]
      : [
          'verifications/s',
          'skipped: ../shared/vectors is absent',
          '',
          '',
          `≥ ${TARGETS.verifyRatio}×`,
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
  let sign: SigningFigures
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
