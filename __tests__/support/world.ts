// One registry + one loopback Sigstore stack + helpers, shared by the sign
// and verify integration tests, the demo and the benchmark.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpClient } from '../../src/http/index.ts'
import {
  RegistryClient,
  listReferrers,
  type ImageManifest
} from '../../src/oci/index.ts'
import {
  createRuntime,
  type Runtime,
  type SignImagesOptions
} from '../../src/cosign/index.ts'
import {
  parseTrustedRoot,
  type TrustMaterial
} from '../../src/sigstore/index.ts'
import { generateKeyPair } from '../../src/crypto/index.ts'
import {
  fromUtf8,
  nullLogger,
  ociDigest,
  utf8,
  type Logger
} from '../../src/util/index.ts'
import { GITHUB_SAN, githubClaims, makeJwt } from './oidc.ts'
import { legacyLayerAsBundle } from './legacy-bundle.ts'
import { verifyWithSigstoreJs } from './oracle.ts'
import {
  pushTestImage,
  pushTestIndex,
  startRegistry,
  type RegistryMode,
  type TestRegistry
} from './registry.ts'
import { startSigstoreStack, type SigstoreStack } from './sigstore-stack.ts'

export interface World {
  registry: TestRegistry
  stack: SigstoreStack
  trust: TrustMaterial
  /** A GitHub-shaped OIDC token whose certificate SAN is GITHUB_SAN. */
  token: string
  runtime: Runtime
  /** An admin client for the test's own reads and writes. */
  client: RegistryClient
  tmp: string
  stop(): Promise<void>
}

export async function startWorld(
  o: { mode?: RegistryMode; logger?: Logger; retryBudgetMs?: number } = {}
): Promise<World> {
  const [registry, stack] = await Promise.all([
    startRegistry({ mode: o.mode ?? 'none' }),
    startSigstoreStack({ subjectClaim: 'job_workflow_url' })
  ])
  const creds =
    registry.username !== undefined
      ? { username: registry.username, password: registry.password ?? '' }
      : undefined
  const runtime = createRuntime({
    userAgent: 'sigil-test',
    logger: o.logger ?? nullLogger,
    ...(creds
      ? {
          registryUsername: creds.username,
          registryPassword: creds.password,
          registryHost: registry.host
        }
      : {}),
    env: {},
    ...(o.retryBudgetMs ? { retryBudgetMs: o.retryBudgetMs } : {})
  })
  const client = new RegistryClient(registry.host, {
    http: new HttpClient({ userAgent: 'sigil-test-admin' }),
    ...(creds ? { credentials: creds } : {})
  })
  const tmp = mkdtempSync(join(tmpdir(), 'sigil-world-'))
  return {
    registry,
    stack,
    trust: parseTrustedRoot(stack.trustedRoot),
    token: makeJwt(githubClaims()),
    runtime,
    client,
    tmp,
    stop: async () => {
      await Promise.all([registry.stop(), stack.stop()])
      rmSync(tmp, { recursive: true, force: true })
    }
  }
}

export { GITHUB_SAN }

/** signImages options for the world's Sigstore stack (legacy, keyless). */
export function signOptions(
  w: World,
  images: string[],
  extra: Partial<SignImagesOptions> = {}
): SignImagesOptions {
  return {
    images,
    format: 'legacy',
    recursive: false,
    annotations: {},
    tlogUpload: true,
    fulcioUrl: w.stack.fulcioUrl,
    rekorUrl: w.stack.rekorUrl,
    trust: w.trust,
    concurrency: 4,
    ...extra
  }
}
/** The CLI flags that log in to the world's registry. */
export const registryFlags = (w: World): string[] => [
  '--registry-username',
  w.registry.username ?? '',
  '--registry-password',
  w.registry.password ?? ''
]

/** The environment of a CLI run against the world: its own HOME, no public
 * TUF mirror, the world's identity token; `extra` on top. */
export const cliEnv = (
  w: World,
  extra: Record<string, string> = {}
): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: w.tmp,
  SIGIL_TUF_OFFLINE: '1',
  SIGSTORE_ID_TOKEN: w.token,
  ...extra
})

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'

let seq = 0
/** A fresh single-platform image; returns `host/repo@digest` and the digest. */
export async function freshImage(
  w: World,
  repo = 'demo/app'
): Promise<{ ref: string; digest: string; repo: string }> {
  const img = await pushTestImage(
    w.client,
    repo,
    `t${++seq}`,
    `content ${seq} ${Date.now()}`
  )
  return {
    ref: `${w.registry.host}/${repo}@${img.digest}`,
    digest: img.digest,
    repo
  }
}

export async function freshIndex(
  w: World,
  repo = 'demo/multi'
): Promise<{ ref: string; digest: string; children: string[]; repo: string }> {
  const idx = await pushTestIndex(
    w.client,
    repo,
    `i${++seq}`,
    `index ${seq} ${Date.now()}`
  )
  return {
    ref: `${w.registry.host}/${repo}@${idx.digest}`,
    digest: idx.digest,
    children: idx.children.map(c => c.digest),
    repo
  }
}

/** The `.sig` manifest of a digest, parsed (undefined when absent). */
export async function readSigManifest(
  w: World,
  repo: string,
  digest: string
): Promise<ImageManifest | undefined> {
  const m = await w.client.findManifest(repo, `${digest.replace(':', '-')}.sig`)
  return m?.manifest as ImageManifest | undefined
}

/**
 * The independent check of everything signed for `digest`: every legacy
 * `.sig` layer (as cosign makes it a bundle) and every bundle referrer,
 * verified offline by @sigstore/verify, for `expected` (default the GitHub
 * identity; null: any signer). Throws on the first one that does not
 * verify; returns each signature's format and SAN.
 */
export async function oracleCheckAll(
  w: World,
  repo: string,
  digest: string,
  expected: { san: string; issuer: string } | null = {
    san: GITHUB_SAN,
    issuer: GITHUB_ISSUER
  }
): Promise<{ format: 'legacy' | 'bundle'; san: string | undefined }[]> {
  const out: { format: 'legacy' | 'bundle'; san: string | undefined }[] = []
  const policy = expected ?? {}
  const m = await readSigManifest(w, repo, digest)
  for (const layer of m?.layers ?? []) {
    const payload = await w.client.getBlob(repo, layer.digest)
    const r = verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: legacyLayerAsBundle(layer.annotations ?? {}, payload),
      artifact: payload,
      ...policy
    })
    out.push({ format: 'legacy', san: r.san })
  }
  const { descriptors } = await listReferrers(w.client, repo, digest)
  for (const d of descriptors) {
    const rm = (await w.client.getManifest(repo, d.digest)).manifest as {
      layers: { digest: string }[]
    }
    const bundle = JSON.parse(
      fromUtf8(await w.client.getBlob(repo, rm.layers[0]!.digest))
    ) as unknown
    const r = verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle,
      ...policy
    })
    out.push({ format: 'bundle', san: r.san })
  }
  return out
}

/** Rewrites the `.sig` manifest with `edit` applied (for tamper tests). */
export async function tamperSigManifest(
  w: World,
  repo: string,
  digest: string,
  edit: (m: ImageManifest) => ImageManifest | Promise<ImageManifest>
): Promise<void> {
  const tag = `${digest.replace(':', '-')}.sig`
  const m = await w.client.getManifest(repo, tag)
  const next = await edit(structuredClone(m.manifest as ImageManifest))
  await w.client.putManifest(
    repo,
    tag,
    utf8(JSON.stringify(next)),
    next.mediaType ?? m.descriptor.mediaType
  )
}

/** Uploads bytes as a blob and returns its descriptor fields. */
export async function putBlob(
  w: World,
  repo: string,
  bytes: Uint8Array
): Promise<{ digest: string; size: number }> {
  await w.client.uploadBlob(repo, bytes)
  return { digest: ociDigest(bytes), size: bytes.length }
}

/** A cosign-format key pair written to disk (cosign.key, cosign.pub). */
export function writeKeyPair(
  dir: string,
  password: string,
  name = 'cosign'
): { keyPath: string; pubPath: string; pubPem: string } {
  const kp = generateKeyPair(password)
  const keyPath = join(dir, `${name}.key`)
  const pubPath = join(dir, `${name}.pub`)
  writeFileSync(keyPath, kp.privateKeyPem, { mode: 0o600 })
  writeFileSync(pubPath, kp.publicKeyPem)
  return { keyPath, pubPath, pubPem: kp.publicKeyPem }
}

/** openssl's verdict on a DER ECDSA signature over `data`. */
export function opensslVerify(
  pubPath: string,
  data: Uint8Array,
  sig: Uint8Array,
  dir: string
): boolean {
  const d = join(dir, `data-${++seq}`)
  const s = join(dir, `sig-${seq}`)
  writeFileSync(d, data)
  writeFileSync(s, sig)
  try {
    const out = execFileSync(
      'openssl',
      ['dgst', '-sha256', '-verify', pubPath, '-signature', s, d],
      { stdio: 'pipe', encoding: 'utf8' }
    )
    if (!out.includes('Verified OK'))
      throw new Error(`openssl said neither OK nor failure: ${out}`)
    return true
  } catch (e) {
    // Only openssl's own verdict is "invalid": exit 1 with
    // "Verification failure". A missing or crashing openssl is an error, so
    // a negative check cannot pass without openssl having judged.
    const r = e as { status?: number; stdout?: unknown; code?: string }
    if (
      r.status === 1 &&
      String(r.stdout ?? '').includes('Verification failure')
    )
      return false
    throw new Error(
      `openssl could not judge the signature (${r.code ?? `exit ${r.status ?? '?'}`}): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
}
