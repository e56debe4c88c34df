// The cost of getting the trusted root through TUF, in process: a cold
// refresh (empty cache: root, timestamp, snapshot, targets and two targets
// fetched and verified) and a cached run (a fresh cache: no request), on a
// loopback repository with 0 and 30 ms added to every request (a CDN round
// trip). Both include parsing the trusted root, printed alone first. Not part of `npm run bench`; run it with
//   node_modules/node/bin/node bench/tuf-cost.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { resolveTrust } from '../src/cosign/trust-source.ts'
import { parseTrustedRoot } from '../src/sigstore/index.ts'
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../src/sigstore/trust/public-good.generated.ts'
import { nullLogger } from '../src/util/index.ts'
import { TestRepo } from '../__tests__/support/tuf-repo.ts'
import { listenLoopback } from '../__tests__/support/loopback.ts'

const RUNS = 15
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const t0 = performance.now()
await import('../src/sigstore/tuf/index.ts')
await import('../src/sigstore/tuf/public-good-root.generated.ts')
const loadMs = performance.now() - t0

const { repo, root1 } = TestRepo.create({
  'trusted_root.json': JSON.stringify(PUBLIC_GOOD_TRUSTED_ROOT),
  'signing_config.v0.2.json': JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json'
  })
})
let delay = 0
let requests = 0
const server = createServer((req, res) => {
  requests++
  const body = repo.files.get(decodeURIComponent((req.url ?? '/').slice(1)))
  setTimeout(() => {
    if (!body) res.writeHead(404).end()
    else res.writeHead(200, { 'content-length': body.length }).end(body)
  }, delay)
})
const l = await listenLoopback(server)
const dir = mkdtempSync(join(tmpdir(), 'sigil-tuf-cost-'))
const rootPath = join(dir, 'root.json')
writeFileSync(rootPath, root1)

const run = (cache: string) =>
  resolveTrust({
    purpose: 'verify',
    tufMirror: l.url,
    tufRootPath: rootPath,
    env: { TUF_ROOT: cache },
    logger: nullLogger,
    userAgent: 'bench'
  })

const baseline: number[] = []
for (let i = 0; i < RUNS; i++) {
  const t = performance.now()
  parseTrustedRoot(JSON.parse(JSON.stringify(PUBLIC_GOOD_TRUSTED_ROOT)))
  baseline.push(performance.now() - t)
}
console.log(
  `parsing the trusted root alone (the whole cost before TUF): ${median(baseline).toFixed(1)} ms`
)
console.log(
  `TUF client chunk load (source modules, first import): ${loadMs.toFixed(1)} ms`
)
for (const d of [0, 30]) {
  delay = d
  const cold: number[] = []
  const cached: number[] = []
  let coldReq = 0
  let cachedReq = 0
  for (let i = 0; i < RUNS; i++) {
    const cache = join(dir, `c-${d}-${i}`)
    requests = 0
    let t = performance.now()
    await run(cache)
    cold.push(performance.now() - t)
    coldReq = requests
    requests = 0
    t = performance.now()
    await run(cache)
    cached.push(performance.now() - t)
    cachedReq = requests
  }
  console.log(
    `+${d} ms/request: cold ${median(cold).toFixed(1)} ms (${coldReq} requests), cached ${median(cached).toFixed(1)} ms (${cachedReq} requests); median of ${RUNS}`
  )
}
await l.stop()
rmSync(dir, { recursive: true, force: true })
