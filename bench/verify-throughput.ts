// Verification throughput: Sigil's pure engine vs @sigstore/verify, in the
// same process, over the shared real-world vectors both accept. Trust
// material is parsed once for each engine (as a long-running verifier
// would); every iteration parses the bundle JSON object, builds the signed
// entity and verifies it with the vector's identity policy. No network.
// usage: node bench/verify-throughput.ts [seconds-per-engine=3]
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

const cases: Case[] = []
let skipped = 0
for (const v of loadVectors(dir)) {
  // Certificate-based bundles expected to verify; sigstore-js needs artifact
  // bytes for message signatures.
  if (v.kind !== 'bundle' || v.expect !== 'pass' || v.key) continue
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
  const sigil = prepareVector(dir, v)
  try {
    sigstoreJs()
    sigil.run()
  } catch {
    skipped++
    continue
  }
  cases.push({ id: v.id, sigil, sigstoreJs })
}

function measure(name: string, fn: (c: Case) => unknown): number {
  for (let i = 0; i < 3; i++) for (const c of cases) fn(c) // warm-up
  let n = 0
  const start = performance.now()
  const deadline = start + seconds * 1000
  while (performance.now() < deadline) {
    for (const c of cases) fn(c)
    n += cases.length
  }
  const rate = n / ((performance.now() - start) / 1000)
  console.log(
    `${name.padEnd(18)} ${rate.toFixed(0).padStart(7)} verifications/s`
  )
  return rate
}

console.log(
  `${cases.length} vectors verified by both engines (${skipped} skipped: rejected by one of them), ${seconds}s each, node ${process.version}`
)
const sigil = measure('sigil', c => c.sigil.run())
const sj = measure('@sigstore/verify', c => c.sigstoreJs())
console.log(`ratio              ${(sigil / sj).toFixed(2)}x`)
