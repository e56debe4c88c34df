// Helpers of the durability (fault) tests and benchmark: a world whose
// registry and Sigstore services sit behind fault-injecting proxies, one
// distinct keyless identity per signer, and the independent count of who
// signed a digest (every legacy layer and bundle referrer verified by
// @sigstore/verify, its certificate SAN collected).
import { join } from 'node:path'
import type { ImageManifest } from '../../src/oci/index.ts'
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts'
import { githubClaims, makeJwt } from './oidc.ts'
import { oracleCheckAll, type World } from './world.ts'

export const CLI = join(import.meta.dirname, '../../dist/cli/index.js')

export interface Proxies {
  registry: FaultProxy
  fulcio: FaultProxy
  rekor: FaultProxy
  tsa: FaultProxy
  all: FaultProxy[]
  stop(): Promise<void>
}

export async function startProxies(w: World): Promise<Proxies> {
  const [registry, fulcio, rekor, tsa] = await Promise.all([
    startFaultProxy(w.registry.url),
    startFaultProxy(w.stack.fulcioUrl),
    startFaultProxy(w.stack.rekorUrl),
    startFaultProxy(w.stack.tsaUrl)
  ])
  const all = [registry, fulcio, rekor, tsa]
  return {
    registry,
    fulcio,
    rekor,
    tsa,
    all,
    stop: async () => {
      await Promise.all(all.map(p => p.stop()))
    }
  }
}

/** The SAN of signer `i`'s certificate. */
export const signerSan = (i: number | string): string =>
  `https://github.com/acme/app/.github/workflows/signer-${i}.yml@refs/heads/main`

/** A GitHub-shaped OIDC token whose certificate SAN is signerSan(i). */
export const signerToken = (i: number | string): string =>
  makeJwt({ ...githubClaims(), job_workflow_url: signerSan(i) })

/** CLI flags for the stack, through the proxies when given. */
export function stackFlags(w: World, p?: Proxies, tsa = false): string[] {
  return [
    '--fulcio-url',
    p ? p.fulcio.url : w.stack.fulcioUrl,
    '--rekor-url',
    p ? p.rekor.url : w.stack.rekorUrl,
    '--trusted-root',
    w.stack.trustedRootPath,
    ...(tsa
      ? [
          '--timestamp-server-url',
          `${p ? p.tsa.url : w.stack.tsaUrl}/api/v1/timestamp`
        ]
      : [])
  ]
}

export interface Signers {
  legacy: string[]
  bundle: string[]
}

/**
 * Who signed `digest`, as an independent verifier sees it: the SAN of every
 * legacy layer and every bundle referrer, each verified offline by
 * @sigstore/verify (throws on the first that does not verify). Read
 * directly from the registry, not through any proxy.
 */
export async function signersOf(
  w: World,
  repo: string,
  digest: string
): Promise<Signers> {
  const out: Signers = { legacy: [], bundle: [] }
  for (const s of await oracleCheckAll(w, repo, digest, null))
    out[s.format].push(s.san ?? '')
  return out
}

/** Every blob and manifest the signature tags of `digest` reference exists. */
export async function danglingReferences(
  w: World,
  repo: string,
  digest: string
): Promise<string[]> {
  const missing: string[] = []
  const sig = await w.client.findManifest(
    repo,
    `${digest.replace(':', '-')}.sig`
  )
  if (sig) {
    const m = sig.manifest as ImageManifest
    for (const d of [m.config, ...m.layers])
      if (!(await w.client.blobExists(repo, d.digest)))
        missing.push(`.sig → ${d.digest}`)
  }
  const index = await w.client.findManifest(repo, digest.replace(':', '-'))
  if (index) {
    for (const d of (index.manifest as { manifests: { digest: string }[] })
      .manifests) {
      const rm = await w.client.findManifest(repo, d.digest)
      if (!rm) {
        missing.push(`index → ${d.digest}`)
        continue
      }
      const m = rm.manifest as ImageManifest
      for (const b of [m.config, ...m.layers])
        if (!(await w.client.blobExists(repo, b.digest)))
          missing.push(`${d.digest} → ${b.digest}`)
    }
  }
  return missing
}
