// Where a run's trusted root (and the signing config that comes with it)
// comes from, in cosign's order:
//   1. an explicit trusted_root.json ("trusted-root" / --trusted-root): no TUF;
//   2. the TUF repository ("tuf-mirror", default the public-good CDN, anchored
//      by "tuf-root" or the root.json embedded at build time), through the
//      cache in $TUF_ROOT or ~/.sigstore/root (sigstore-go's layout, which
//      cosign v3 shares): a cache refreshed less than a day ago whose
//      timestamp has not expired is used without any network request;
//   3. when the mirror cannot be reached: verification falls back to the
//      cached (even stale) or embedded trusted root with a warning that says
//      how old it is; signing fails, unless the trusted root is given.
// SIGIL_TUF_OFFLINE=true never contacts a mirror (air-gapped runners, the
// test suite): the cache, else the embedded root, with a note.
// cosign's SIGSTORE_ROOT_FILE, SIGSTORE_REKOR_PUBLIC_KEY,
// SIGSTORE_CT_LOG_PUBLIC_KEY_FILE and SIGSTORE_TSA_CERTIFICATE_FILE then
// replace one kind of trust material each (trust-env.ts); an explicit
// trusted root wins over them, as in cosign.

import { readFile, stat, utimes } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { HttpClient } from '../http/index.ts'
import {
  parseTrustedRoot,
  publicGoodTrustMaterial,
  type TrustMaterial
} from '../sigstore/index.ts'
import { AppError, InputError, type Logger } from '../util/index.ts'
import { DEFAULT_REKOR_URL } from './defaults.ts'
import { readTrustVariables } from './trust-env.ts'

export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev'
export const TRUSTED_ROOT_TARGET = 'trusted_root.json'
export const SIGNING_CONFIG_TARGET = 'signing_config.v0.2.json'
/** A cache refreshed this recently is used without asking the mirror
 * (sigstore-go's default CacheValidity of one day). */
export const TUF_CACHE_VALIDITY_MS = 24 * 3600 * 1000
/** Per request and in total: a TUF refresh is a few small files. */
const TUF_TIMEOUT_MS = 3_000
const TUF_BUDGET_MS = 5_000

/** 'none': nothing will be checked against a trusted root (a key pair
 * signing without log or timestamp): the embedded one, no TUF. */
export type TrustPurpose = 'sign' | 'verify' | 'none'

export interface TrustSourceOptions {
  purpose: TrustPurpose
  trustedRootPath?: string
  tufMirror?: string
  /** Path to the mirror's initial root.json (the trust anchor). */
  tufRootPath?: string
  env: NodeJS.ProcessEnv
  logger: Logger
  userAgent: string
  /** The Rekor log of the run (rekor-url), named by SIGSTORE_REKOR_PUBLIC_KEY's
   * key (default public good). */
  rekorUrl?: string
  /** Tests fix the clock. */
  now?: () => number
  /** Tests shorten the retry budget of TUF requests (default 5 s). */
  tufBudgetMs?: number
}

export interface ResolvedTrust {
  trust: TrustMaterial
  /** signing_config.v0.2.json as the TUF repository delivered it, if any. */
  signingConfig?: unknown
  /** Where it came from, for the log. */
  signingConfigSource?: string
  /** One line for the log: where the trusted root came from. */
  source: string
}

export class TrustUnavailableError extends AppError {}

function parseTarget(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (e) {
    throw new AppError('TUF_METADATA_INVALID', `${what} is not JSON`, {
      cause: e
    })
  }
}

function ago(ms: number): string {
  const h = Math.floor(ms / 3_600_000)
  if (h < 1) return `${Math.max(0, Math.round(ms / 60_000))} min`
  if (h < 48) return `${h} h`
  return `${Math.floor(h / 24)} days`
}

/** The trusted root from a file, or the embedded public-good root. */
export async function loadTrustMaterial(
  path: string | undefined
): Promise<TrustMaterial> {
  if (!path) return publicGoodTrustMaterial()
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new InputError(
      'INPUT_TRUSTED_ROOT_UNREADABLE',
      `cannot read the trusted root ${JSON.stringify(path)}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
  try {
    return parseTrustedRoot(JSON.parse(text))
  } catch (e) {
    throw new InputError(
      'INPUT_TRUSTED_ROOT_INVALID',
      `${JSON.stringify(path)} is not a valid trusted_root.json: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
}

/** The TUF cache root: $TUF_ROOT, else ~/.sigstore/root (cosign, sigstore-go). */
export function tufCacheRoot(env: NodeJS.ProcessEnv): string {
  return env['TUF_ROOT'] || join(env['HOME'] || homedir(), '.sigstore', 'root')
}

function tufOffline(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env['SIGIL_TUF_OFFLINE'] ?? '')
}

function noteExperimental(o: TrustSourceOptions): void {
  if (o.env['COSIGN_EXPERIMENTAL']?.trim()) {
    o.logger.debug(
      'COSIGN_EXPERIMENTAL is set: accepted and not needed (keyless signing and verification are the default)'
    )
  }
}

export async function resolveTrust(
  o: TrustSourceOptions
): Promise<ResolvedTrust> {
  if (o.trustedRootPath) {
    return {
      trust: await loadTrustMaterial(o.trustedRootPath),
      source: `trusted root from ${o.trustedRootPath} (explicit; no TUF)`
    }
  }
  if (o.purpose === 'none') {
    return {
      trust: publicGoodTrustMaterial(),
      source: 'none needed (key pair, no transparency log, no timestamp)'
    }
  }
  noteExperimental(o)
  // Read first: a file that is not there fails before any network.
  const vars = await readTrustVariables(o.env, o.rekorUrl ?? DEFAULT_REKOR_URL)
  const base = await resolveTufTrust(o)
  if (!vars) return base
  const what: Record<string, string> = {
    SIGSTORE_ROOT_FILE: 'Fulcio CAs',
    SIGSTORE_REKOR_PUBLIC_KEY: 'Rekor key',
    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: 'CT log key',
    SIGSTORE_TSA_CERTIFICATE_FILE: 'TSA chain'
  }
  return {
    ...base,
    trust: vars.apply(base.trust),
    source: `${base.source}, with ${vars.names.map(n => `the ${what[n]} from ${n}=${o.env[n]!.trim()}`).join(', ')}`
  }
}

async function resolveTufTrust(o: TrustSourceOptions): Promise<ResolvedTrust> {
  const tuf = await import('../sigstore/tuf/index.ts')
  const embedded = await import('../sigstore/tuf/public-good-root.generated.ts')
  const mirror = (o.tufMirror ?? PUBLIC_GOOD_TUF_MIRROR).replace(/\/+$/, '')
  const publicGood = mirror === PUBLIC_GOOD_TUF_MIRROR
  const dir = join(tufCacheRoot(o.env), tuf.cacheDirName(mirror))
  const store = tuf.fileStore(dir)
  let initialRoot: Uint8Array | undefined
  if (o.tufRootPath) {
    try {
      initialRoot = new Uint8Array(await readFile(o.tufRootPath))
    } catch (e) {
      throw new InputError(
        'INPUT_TUF_ROOT_UNREADABLE',
        `cannot read the TUF root ${JSON.stringify(o.tufRootPath)}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e }
      )
    }
  } else if (publicGood) {
    initialRoot = Buffer.from(embedded.PUBLIC_GOOD_TUF_ROOT, 'utf8')
  } else {
    // A mirror initialized before (cosign initialize, or an earlier run
    // with tuf-root) has its root in the cache.
    initialRoot = await store.read('root.json')
    if (!initialRoot) {
      throw new InputError(
        'INPUT_TUF_ROOT_REQUIRED',
        `the TUF mirror ${mirror} is not the public-good one, so its initial root.json must be given ("tuf-root" / --tuf-root), as with cosign initialize --mirror --root`
      )
    }
  }
  const now = o.now ?? Date.now
  const http = new HttpClient({
    userAgent: o.userAgent,
    logger: o.logger,
    timeoutMs: TUF_TIMEOUT_MS,
    budgetMs: o.tufBudgetMs ?? TUF_BUDGET_MS,
    env: o.env
  })
  const client = new tuf.TufClient({
    remote: tuf.httpRemote(http, mirror, TUF_TIMEOUT_MS),
    store,
    initialRoot,
    now
  })
  const required = [TRUSTED_ROOT_TARGET]
  const optional = [SIGNING_CONFIG_TARGET]
  const refreshedAt = async (): Promise<number | undefined> => {
    try {
      return (await stat(join(dir, 'timestamp.json'))).mtimeMs
    } catch {
      return undefined
    }
  }
  const done = (
    got: { targets: Map<string, Uint8Array>; rootVersion: number },
    how: string
  ): ResolvedTrust => {
    const sc = got.targets.get(SIGNING_CONFIG_TARGET)
    return {
      trust: parseTrustedRoot(
        parseTarget(got.targets.get(TRUSTED_ROOT_TARGET)!, TRUSTED_ROOT_TARGET)
      ),
      ...(sc
        ? {
            signingConfig: parseTarget(sc, SIGNING_CONFIG_TARGET),
            signingConfigSource: `TUF ${mirror}`
          }
        : {}),
      source: `trusted root from TUF ${mirror} (root v${got.rootVersion}, ${how})`
    }
  }
  try {
    const offline = tufOffline(o.env)
    const at = await refreshedAt()
    const fresh = await client.cached(required, optional)
    if (
      fresh &&
      at !== undefined &&
      (offline || now() - at < TUF_CACHE_VALIDITY_MS)
    ) {
      return done(fresh, `cache ${dir}, refreshed ${ago(now() - at)} ago`)
    }
    if (!offline) {
      try {
        const got = await client.refresh(required, optional)
        const t = new Date(now())
        await utimes(join(dir, 'timestamp.json'), t, t).catch(() => {})
        return done(got, 'refreshed from the mirror')
      } catch (e) {
        // An answer that fails verification is an attack or a broken
        // repository: never fall back from that.
        if (!(e instanceof tuf.TufError) || e.code !== 'TUF_FETCH_FAILED') {
          throw e
        }
        if (o.purpose === 'sign') {
          throw new TrustUnavailableError(
            'TUF_UNREACHABLE',
            `cannot refresh the Sigstore trusted root from the TUF mirror ${mirror}: ${e.message}`,
            {
              cause: e,
              remedy:
                'Signing needs current trust material: make the mirror reachable (or set "tuf-mirror" to one that is), or pass the trusted root ("trusted-root" / --trusted-root, with "signing-config" for the services).'
            }
          )
        }
        const stale = await client.cached(required, optional, {
          ignoreExpiry: true
        })
        if (stale) {
          const age =
            at === undefined ? 'of unknown age' : `${ago(now() - at)} old`
          o.logger.warn(
            `The TUF mirror ${mirror} is unreachable (${e.message}); verifying with the cached trusted root (${age}, ${dir}). Keys rotated since then are not known.`
          )
          return done(stale, `cache ${dir}, ${age}, mirror unreachable`)
        }
        if (!publicGood) throw e
        o.logger.warn(
          `The TUF mirror ${mirror} is unreachable (${e.message}) and nothing is cached; verifying with the trusted root embedded in this Sigil build (${embedded.PUBLIC_GOOD_SEEDS_PACKAGE} seeds, newest authority from ${newestAuthority()}). Keys rotated since then are not known.`
        )
        return embeddedTrust('mirror unreachable')
      }
    }
    const stale = await client.cached(required, optional, {
      ignoreExpiry: true
    })
    if (stale) {
      const age = at === undefined ? 'of unknown age' : `${ago(now() - at)} old`
      o.logger.info(`SIGIL_TUF_OFFLINE: using the cached trusted root (${age})`)
      return done(stale, `cache ${dir}, ${age}, SIGIL_TUF_OFFLINE`)
    }
    if (!publicGood) {
      throw new TrustUnavailableError(
        'TUF_UNREACHABLE',
        `SIGIL_TUF_OFFLINE is set and nothing from ${mirror} is cached in ${dir}`,
        { remedy: 'Unset SIGIL_TUF_OFFLINE once, or pass "trusted-root".' }
      )
    }
    return embeddedTrust('SIGIL_TUF_OFFLINE')
  } finally {
    await http.close()
  }
  function embeddedTrust(why: string): ResolvedTrust {
    return {
      trust: publicGoodTrustMaterial(),
      source: `trusted root embedded in this build (${embedded.PUBLIC_GOOD_SEEDS_PACKAGE}; ${why})`
    }
  }
}

/** The newest validFor.start of the embedded trusted root (its age hint). */
function newestAuthority(): string {
  const t = publicGoodTrustMaterial()
  const starts = [
    ...t.tlogs.map(l => l.validFor.start),
    ...t.ctlogs.map(l => l.validFor.start),
    ...t.certificateAuthorities.map(c => c.validFor.start),
    ...t.timestampAuthorities.map(c => c.validFor.start)
  ].filter((s): s is number => s !== undefined)
  return new Date(Math.max(...starts)).toISOString().slice(0, 10)
}
