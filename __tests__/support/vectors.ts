// Locates and runs the shared real-world verification vectors
// (../shared/vectors, or $SIGIL_VECTORS). Absent vectors fail in CI and
// skip, with the reason, elsewhere. `runVector` drives the pure engine the
// way the adapters do, so the integration test and the benchmark share it.
import { readFileSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fromHex, sha256Hex } from '../../src/util/index.ts'
import {
  parseTrustedRoot,
  type TrustMaterial
} from '../../src/sigstore/trust/index.ts'
import { parseBundle } from '../../src/sigstore/bundle/index.ts'
import {
  toSignedEntity,
  verifySignedEntity,
  type Artifact,
  type VerificationPolicy,
  type VerificationResult
} from '../../src/sigstore/verify/index.ts'
import { verifyLegacySignature } from '../../src/cosign/legacy-signature.ts'

export interface Vector {
  id: string
  kind: 'bundle' | 'cosign-legacy-image'
  expect: 'pass' | 'fail' | 'either'
  why: string
  bundle?: string
  artifact?: string
  identity?: string
  issuer?: string
  key?: string
  trusted_root: string
  manifest?: string
  payload?: string
  layer?: string
  docker_reference?: string
  derived?: boolean
}

const here = dirname(fileURLToPath(import.meta.url))

/** The vectors directory, or undefined when it is not there. */
export function vectorsDir(): string | undefined {
  const dir =
    process.env['SIGIL_VECTORS'] ?? resolve(here, '../../../shared/vectors')
  return existsSync(join(dir, 'index.json')) ? dir : undefined
}

/**
 * For node:test `skip`: false when vectors exist; a reason string when they
 * do not (outside CI). In CI, a missing directory is an error.
 */
export function vectorsSkipReason(): string | false {
  if (vectorsDir()) return false
  const where =
    process.env['SIGIL_VECTORS'] ?? resolve(here, '../../../shared/vectors')
  if (process.env['CI']) {
    throw new Error(
      `vectors required in CI: no index.json under ${where} (set SIGIL_VECTORS)`
    )
  }
  return `verification vectors not found at ${where} (set SIGIL_VECTORS to run them)`
}

export function loadVectors(dir: string): Vector[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    vectors: Vector[]
  }
  return index.vectors
}

/** Prepared inputs for one vector: files read, JSON parsed, trust parsed (cached). */
export interface PreparedVector {
  vector: Vector
  run(): VerificationResult
}

const trustCache = new Map<string, TrustMaterial>()

export function trustFor(dir: string, file: string): TrustMaterial {
  const path = join(dir, file)
  let t = trustCache.get(path)
  if (!t) {
    t = parseTrustedRoot(JSON.parse(readFileSync(path, 'utf8')))
    trustCache.set(path, t)
  }
  return t
}

export function policyFor(v: Vector): VerificationPolicy {
  return {
    ...(v.identity ? { identity: { exact: v.identity } } : {}),
    ...(v.issuer ? { issuer: { exact: v.issuer } } : {})
  }
}

export function artifactFor(dir: string, spec: string): Artifact {
  const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(spec)
  if (m) {
    return { digest: { algorithm: m[1] as 'sha256', value: fromHex(m[2]!) } }
  }
  return { bytes: new Uint8Array(readFileSync(join(dir, spec))) }
}

/** Reads everything once; `run()` then does only the verification. */
export function prepareVector(dir: string, v: Vector): PreparedVector {
  const trust = trustFor(dir, v.trusted_root)
  const policy = policyFor(v)
  const publicKey = v.key ? readFileSync(join(dir, v.key), 'utf8') : undefined
  if (v.kind === 'bundle') {
    const json: unknown = JSON.parse(readFileSync(join(dir, v.bundle!), 'utf8'))
    const artifact = v.artifact ? artifactFor(dir, v.artifact) : undefined
    return {
      vector: v,
      run: () =>
        verifySignedEntity(toSignedEntity(parseBundle(json), artifact), {
          trust,
          policy,
          ...(publicKey ? { publicKey } : {})
        })
    }
  }
  const manifest = readFileSync(join(dir, v.manifest!))
  const payload = new Uint8Array(readFileSync(join(dir, v.payload!)))
  const layer = JSON.parse(readFileSync(join(dir, v.layer!), 'utf8')) as {
    mediaType?: string
    annotations?: Record<string, string>
  }
  const expectedDigest = `sha256:${sha256Hex(manifest)}`
  return {
    vector: v,
    run: () =>
      verifyLegacySignature({
        layer,
        payload,
        expectedDigest,
        trust,
        policy,
        ...(publicKey ? { publicKey } : {})
      })
  }
}
