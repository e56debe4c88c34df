// `npm run bench:durability`: the durability figures of the README, on the
// real registry and the loopback Sigstore stack behind the fault proxies.
//  1. concurrent writers × rounds on one digest (legacy and bundle): runs
//     that exited 0, signatures lost (counted by @sigstore/verify), false
//     successes; the sigstore-js peer (read-nothing, write-only) for contrast;
//  2. a registry that hides a tag for K reads after each write: lost;
//  3. a Rekor outage of T seconds against a retry budget of B: outcome, time;
//  4. the protocol's cost: registry requests per signed image.
// Prints Markdown; --write-readme puts it between `<!-- durability -->`
// markers. Run through bench/run.mjs (Node 24).
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  CLI,
  signerSan,
  signerToken,
  signersOf,
  stackFlags,
  startProxies,
  type Proxies
} from '../__tests__/support/durability.ts'
import {
  freshImage,
  startWorld,
  type World
} from '../__tests__/support/world.ts'

const root = join(import.meta.dirname, '..')
const { values: flags } = parseArgs({
  options: {
    'write-readme': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false }
  }
})
const ROUNDS = Number(flags.rounds)
const log = (m: string): void => void process.stderr.write(`${m}\n`)

interface Run {
  code: number | null
  ms: number
  stderr: string
}

function run(args: string[]): Promise<Run> {
  return new Promise(resolve => {
    const start = performance.now()
    let stderr = ''
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.resume()
    child.on('close', code =>
      resolve({ code, ms: performance.now() - start, stderr })
    )
  })
}

const signArgs = (
  w: World,
  who: 'sigil' | 'peer',
  token: string,
  ref: string,
  extra: string[] = [],
  p?: Proxies
): string[] =>
  who === 'sigil'
    ? [
        CLI,
        'sign',
        ...stackFlags(w, p),
        '--identity-token',
        token,
        ...extra,
        ref
      ]
    : [
        'bench/peer-signer.mjs',
        ...stackFlags(w, p),
        '--identity-token',
        token,
        ref
      ]

// 1. Concurrent writers ----------------------------------------------------------

interface RaceRow {
  who: string
  format: 'legacy' | 'bundle'
  writers: number
  rounds: number
  ok: number
  failed: number
  lost: number
}

async function race(
  w: World,
  who: 'sigil' | 'peer',
  format: 'legacy' | 'bundle',
  writers: number
): Promise<RaceRow> {
  const row: RaceRow = {
    who,
    format,
    writers,
    rounds: ROUNDS,
    ok: 0,
    failed: 0,
    lost: 0
  }
  for (let round = 0; round < ROUNDS; round++) {
    const img = await freshImage(w, `bench-race/${who}-${format}-${writers}`)
    const ids = Array.from(
      { length: writers },
      (_, i) => `${who}-${format}-${writers}-${round}-${i}`
    )
    const runs = await Promise.all(
      ids.map(id =>
        run(signArgs(w, who, signerToken(id), img.ref, ['--format', format]))
      )
    )
    const found = new Set((await signersOf(w, img.repo, img.digest))[format])
    runs.forEach((r, i) => {
      if (r.code !== 0) return void row.failed++
      row.ok++
      if (!found.has(signerSan(ids[i]!))) row.lost++
    })
  }
  log(`  ${who} ${format} ×${writers}: ${row.ok} ok, ${row.lost} lost`)
  return row
}

// 2. Lag ----------------------------------------------------------------------------

interface LagRow {
  k: number
  runs: number
  ok: number
  lost: number
  ms: number
}

async function lag(w: World, p: Proxies, k: number): Promise<LagRow> {
  const img = await freshImage(w, `bench-lag/k${k}`)
  const ref = `${p.registry.host}/${img.repo}@${img.digest}`
  p.registry.lagReads = k
  const ids = [0, 1, 2, 3, 4].map(i => `lag-${k}-${i}`)
  const started = performance.now()
  const results: Run[] = []
  // Three one after the other, then two at once.
  for (const id of ids.slice(0, 3))
    results.push(await run(signArgs(w, 'sigil', signerToken(id), ref, [], p)))
  results.push(
    ...(await Promise.all(
      ids
        .slice(3)
        .map(id => run(signArgs(w, 'sigil', signerToken(id), ref, [], p)))
    ))
  )
  const ms = (performance.now() - started) / results.length
  p.registry.lagReads = 0
  const found = new Set((await signersOf(w, img.repo, img.digest)).legacy)
  const row = { k, runs: results.length, ok: 0, lost: 0, ms }
  results.forEach((r, i) => {
    if (r.code !== 0) return
    row.ok++
    if (!found.has(signerSan(ids[i]!))) row.lost++
  })
  // Earlier signatures: every successful run's must still be there at the end.
  log(`  lag ${k}: ${row.ok}/${row.runs} ok, ${row.lost} lost`)
  return row
}

// 3. Outage vs budget -----------------------------------------------------------------

interface OutageRow {
  outageS: number
  budgetS: number
  code: number | null
  ms: number
  written: boolean
}

async function outage(
  w: World,
  p: Proxies,
  outageS: number,
  budgetS: number
): Promise<OutageRow> {
  const img = await freshImage(w, 'bench-outage/app')
  const ref = `${p.registry.host}/${img.repo}@${img.digest}`
  p.rekor.rules = [
    {
      until: Date.now() + outageS * 1000,
      faults: [{ kind: 'status', status: 503 }]
    }
  ]
  const r = await run(
    signArgs(
      w,
      'sigil',
      signerToken(`outage-${outageS}-${budgetS}`),
      ref,
      ['--retry-budget', String(budgetS)],
      p
    )
  )
  p.rekor.rules = []
  const s = await signersOf(w, img.repo, img.digest)
  log(
    `  outage ${outageS} s, budget ${budgetS} s: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s`
  )
  return {
    outageS,
    budgetS,
    code: r.code,
    ms: r.ms,
    written: s.legacy.length > 0
  }
}

// 4. Cost -------------------------------------------------------------------------------

interface CostRow {
  what: string
  requests: number
}

async function cost(w: World, p: Proxies): Promise<CostRow[]> {
  const rows: CostRow[] = []
  const measure = async (
    what: string,
    n: number,
    extra: string[],
    presign: boolean
  ): Promise<void> => {
    const refs: string[] = []
    for (let i = 0; i < n; i++) {
      const img = await freshImage(w, 'bench-cost/app')
      const ref = `${p.registry.host}/${img.repo}@${img.digest}`
      if (presign)
        await run(signArgs(w, 'sigil', signerToken('pre'), ref, extra, p))
      refs.push(ref)
    }
    const from = p.registry.log.length
    const r = await run([
      CLI,
      'sign',
      ...stackFlags(w, p),
      '--identity-token',
      signerToken('cost'),
      ...extra,
      ...refs
    ])
    if (r.code !== 0) throw new Error(r.stderr)
    rows.push({ what, requests: (p.registry.log.length - from) / n })
  }
  await measure('legacy, fresh image (10 per run)', 10, [], false)
  await measure('legacy, image already signed (10 per run)', 10, [], true)
  await measure(
    'legacy, 1 fresh image (everything the run sends)',
    1,
    [],
    false
  )
  await measure(
    'bundle, fresh image, fallback index (10 per run)',
    10,
    ['--format', 'bundle'],
    false
  )
  return rows
}

// Report ---------------------------------------------------------------------------------

function report(
  races: RaceRow[],
  lags: LagRow[],
  outages: OutageRow[],
  costs: CostRow[]
): string {
  const t = (head: string[], rows: (string | number)[][]): string =>
    [
      `| ${head.join(' | ')} |`,
      `|${head.map(() => '---').join('|')}|`,
      ...rows.map(r => `| ${r.join(' | ')} |`)
    ].join('\n')
  const date = new Date().toISOString().slice(0, 10)
  return [
    t(
      [
        'signer',
        'format',
        'writers at once × rounds',
        'exited 0',
        'exited non-zero',
        'signatures lost (false successes)'
      ],
      races.map(r => [
        r.who === 'sigil' ? 'Sigil' : 'peer (sigstore-js, write-only)',
        r.format,
        `${r.writers} × ${r.rounds}`,
        r.ok,
        r.failed,
        `${r.lost}${r.who === 'sigil' ? (r.lost === 0 ? ' ✅' : ' ❌') : ''}`
      ])
    ),
    '',
    t(
      [
        'tag hidden for K reads after each write',
        'runs (3 in a row, then 2 at once)',
        'exited 0',
        'signatures lost',
        'seconds per run'
      ],
      lags.map(l => [
        l.k,
        l.runs,
        l.ok,
        `${l.lost}${l.lost === 0 ? ' ✅' : ' ❌'}`,
        (l.ms / 1000).toFixed(1)
      ])
    ),
    '',
    t(
      ['Rekor outage', 'retry budget', 'outcome', 'time'],
      outages.map(o => [
        `${o.outageS} s`,
        `${o.budgetS} s`,
        o.code === 0
          ? 'signed'
          : `failed, exit ${o.code}${o.written ? ' (something was written ❌)' : ', nothing written'}`,
        `${(o.ms / 1000).toFixed(1)} s`
      ])
    ),
    '',
    t(
      ['registry requests per image, Sigil', 'requests'],
      costs.map(c => [c.what, c.requests.toFixed(1)])
    ),
    '',
    `Machine: ${availableParallelism()} cores, Node ${process.version}, ${date}; \`npm run bench:durability\`; signatures counted by @sigstore/verify.`
  ].join('\n')
}

async function main(): Promise<void> {
  const t0 = performance.now()
  const w = await startWorld({ mode: 'none' })
  const p = await startProxies(w)
  try {
    log('1/4 concurrent writers')
    const races: RaceRow[] = []
    const sizes = flags.quick ? [8] : [4, 8, 16]
    for (const format of ['legacy', 'bundle'] as const)
      for (const n of sizes) races.push(await race(w, 'sigil', format, n))
    races.push(await race(w, 'peer', 'legacy', 8))
    log('2/4 lagging registry')
    const lags: LagRow[] = []
    for (const k of flags.quick ? [12] : [4, 12, 24])
      lags.push(await lag(w, p, k))
    log('3/4 Rekor outages')
    const outages: OutageRow[] = []
    const cases: [number, number][] = flags.quick
      ? [
          [5, 10],
          [20, 5]
        ]
      : [
          [10, 60],
          [30, 60],
          [10, 5],
          [30, 10]
        ]
    for (const [o, b] of cases) outages.push(await outage(w, p, o, b))
    log('4/4 cost')
    const costs = await cost(w, p)
    const body = report(races, lags, outages, costs)
    console.log(body)
    if (flags['write-readme']) {
      const file = join(root, 'README.md')
      const text = readFileSync(file, 'utf8')
      const re = /(<!-- durability -->\n)[\s\S]*?(<!-- \/durability -->)/
      if (!re.test(text))
        throw new Error('README.md has no <!-- durability --> markers')
      writeFileSync(
        file,
        text.replace(re, (_, a: string, b: string) => `${a}${body}\n${b}`)
      )
      log('README.md updated')
    }
  } finally {
    await p.stop()
    await w.stop()
  }
  log(`bench took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}

await main()
