// Verification throughput: Sigil's pure engine vs @sigstore/verify, in the
// same process, over the shared real-world vectors both accept. Trust
// material is parsed once for each engine (as a long-running verifier
// would); every iteration parses the bundle JSON object, builds the signed
// entity and verifies it with the vector's identity policy. No network.
// usage: node bench/verify-throughput.ts [seconds-per-engine=3]
//        The engines alternate in 100 ms slices; a vector that cannot be
//        prepared or that either engine rejects is listed and skipped.
//        (Node 24; SIGIL_VECTORS overrides the vectors directory)
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  loadVectors,
  prepareVector,
  vectorsDir,
  type PreparedVector
} from '../__tests__/support/vectors.ts'

const require = createRequire(import.meta.url)
const sjVerify = require('@sigstore/verify')
const sjBundle = require('@sigstore/bundle')
const { TrustedRoot } = require('@sigstore/protobuf-specs')

const seconds = Number(process.argv[2] ?? 3)
const dir = vectorsDir()
if (!dir) {
  console.error('vectors not found (set SIGIL_VECTORS)')
  process.exit(1)
}

interface Case {
  id: string
  sigil: PreparedVector
  sigstoreJs: () => unknown
}

const sjTrust = new Map<string, unknown>()
function sjTrustFor(file: string): unknown {
  let t = sjTrust.get(file)
  if (!t) {
    const root = TrustedRoot.fromJSON(
      JSON.parse(readFileSync(join(dir!, file), 'utf8'))
    )
    t = sjVerify.toTrustMaterial(root)
    sjTrust.set(file, t)
  }
  return t
}

function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code
  const msg = e instanceof Error ? e.message : String(e)
  return `${typeof code === 'string' ? `${code}: ` : ''}${msg.split('\n')[0]}`
}

// Every vector is prepared and checked inside its own try: one that cannot
// be read, parsed or verified by either engine is reported and skipped.
const cases: Case[] = []
const skipped: string[] = []
for (const v of loadVectors(dir)) {
  // Certificate-based bundles expected to verify; sigstore-js needs artifact
  // bytes for message signatures.
  if (v.kind !== 'bundle' || v.expect !== 'pass' || v.key) continue
  let c: Case
  try {
    const json: unknown = JSON.parse(readFileSync(join(dir, v.bundle!), 'utf8'))
    const isDigest = !v.artifact || /^sha\d+:/.test(v.artifact)
    const artifact = isDigest ? undefined : readFileSync(join(dir, v.artifact!))
    const verifier = new sjVerify.Verifier(sjTrustFor(v.trusted_root), {
      tlogThreshold: 1,
      ctlogThreshold: 1
    })
    const policy = {
      subjectAlternativeName: v.identity,
      extensions: { issuer: v.issuer }
    }
    const sigstoreJs = (): unknown =>
      verifier.verify(
        sjVerify.toSignedEntity(sjBundle.bundleFromJSON(json), artifact),
        policy
      )
    c = { id: v.id, sigil: prepareVector(dir, v), sigstoreJs }
  } catch (e) {
    skipped.push(`${v.id}: could not be prepared (${reason(e)})`)
    continue
  }
  try {
    c.sigstoreJs()
  } catch (e) {
    skipped.push(`${v.id}: rejected by @sigstore/verify (${reason(e)})`)
    continue
  }
  try {
    c.sigil.run()
  } catch (e) {
    skipped.push(`${v.id}: rejected by sigil (${reason(e)})`)
    continue
  }
  cases.push(c)
}

console.log(
  `${cases.length} vectors verified by both engines (${skipped.length} skipped), ${seconds}s each, interleaved, node ${process.version}`
)
for (const s of skipped) console.log(`  skipped ${s}`)
if (cases.length === 0) {
  console.error('no vector is verified by both engines: nothing to measure')
  process.exit(1)
}

// The engines take turns in short slices (alternating which goes first), so
// both figures come from the same moments of a noisy machine; both start
// each slice pair at the same vector, and each pair gives a paired ratio.
interface Engine {
  name: string
  fn: (c: Case) => unknown
  n: number
  ms: number
}
const engines: Engine[] = [
  { name: 'sigil', fn: c => c.sigil.run(), n: 0, ms: 0 },
  { name: '@sigstore/verify', fn: c => c.sigstoreJs(), n: 0, ms: 0 }
]
for (const e of engines) for (let i = 0; i < 3; i++) cases.forEach(e.fn) // warm-up

const sliceMs = 100
const ratios: number[] = []
let next = 0 // both engines verify the same vectors in each slice pair
for (let round = 0; engines[0]!.ms < seconds * 1000; round++) {
  const order = round % 2 === 0 ? engines : [...engines].reverse()
  const rate = new Map<Engine, number>()
  const first = next
  for (const e of order) {
    let i = first
    let n = 0
    const start = performance.now()
    let now = start
    while (now - start < sliceMs) {
      e.fn(cases[i++ % cases.length]!)
      n++
      now = performance.now()
    }
    next = Math.max(next, i)
    e.n += n
    e.ms += now - start
    rate.set(e, n / (now - start))
  }
  ratios.push(rate.get(engines[0]!)! / rate.get(engines[1]!)!)
}

for (const e of engines) {
  console.log(
    `${e.name.padEnd(18)} ${((e.n / e.ms) * 1000).toFixed(0).padStart(7)} verifications/s`
  )
}
ratios.sort((a, b) => a - b)
console.log(
  `ratio              ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)}x (median of ${ratios.length} paired slices)`
)
