// Locates and runs the shared real-world verification vectors
// (../shared/vectors, or $SIGIL_VECTORS). Absent vectors fail when
// SIGIL_REQUIRE_VECTORS=1 (set by .ci/run, whose machine has them) and skip,
// with the reason, everywhere else (hosted CI, a user's clone). `runVector` drives the pure engine the
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
 * do not. With SIGIL_REQUIRE_VECTORS=1 a missing directory is an error
 * instead (CI's `CI` variable alone does not require them: hosted CI has no
 * ../shared).
 */
export function vectorsSkipReason(
  env: NodeJS.ProcessEnv = process.env
): string | false {
  const where = env['SIGIL_VECTORS'] ?? resolve(here, '../../../shared/vectors')
  if (existsSync(join(where, 'index.json'))) return false
  if (env['SIGIL_REQUIRE_VECTORS'] === '1') {
    throw new Error(
      `SIGIL_REQUIRE_VECTORS=1 but the verification vectors are missing: no index.json under ${where} (set SIGIL_VECTORS to their directory, or unset SIGIL_REQUIRE_VECTORS to skip them)`
    )
  }
  return `verification vectors not found at ${where} (set SIGIL_VECTORS to run them; SIGIL_REQUIRE_VECTORS=1 makes their absence fail)`
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

/**
 * The shared ClusterImagePolicy samples (../shared/vectors/policies), or a
 * skip reason; absent samples fail with SIGIL_REQUIRE_VECTORS=1.
 */
export function policiesDir(env: NodeJS.ProcessEnv = process.env): {
  dir?: string
  skip: string | false
} {
  const base = env['SIGIL_VECTORS'] ?? resolve(here, '../../../shared/vectors')
  const dir = join(base, 'policies')
  if (existsSync(join(dir, 'README.md'))) return { dir, skip: false }
  if (env['SIGIL_REQUIRE_VECTORS'] === '1')
    throw new Error(
      `SIGIL_REQUIRE_VECTORS=1 but the ClusterImagePolicy samples are missing: ${dir}`
    )
  return {
    skip: `ClusterImagePolicy samples not found at ${dir} (set SIGIL_VECTORS to their parent directory)`
  }
}
