// Composition of the lower layers for one run: the HTTP client, one registry
// client per host (credentials resolved once per host), and the trusted root
// (a file, or the embedded public-good root). Adapters call this; the use
// cases receive what it builds.
import { accessSync, constants } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { HttpClient } from '../http/index.ts'
import {
  RegistryClient,
  canonicalHost,
  isLoopbackRegistry,
  resolveCredentials,
  type Credentials
} from '../oci/index.ts'
import {
  parseTrustedRoot,
  publicGoodTrustMaterial,
  type TrustMaterial
} from '../sigstore/index.ts'
import { InputError, registerCredential, type Logger } from '../util/index.ts'
import { DEFAULT_RETRY_BUDGET_MS, DEFAULT_TIMEOUT_MS } from './defaults.ts'

export interface RuntimeOptions {
  userAgent: string
  logger: Logger
  env?: NodeJS.ProcessEnv
  /**
   * Explicit registry credentials, sent only to `registryHost` (nowhere
   * without it); every other registry gets its own docker config (or CI)
   * credentials.
   */
  registryUsername?: string
  registryPassword?: string
  registryHost?: string
  /** Allow plain HTTP to non-loopback registries. */
  allowHttpRegistry?: boolean
  timeoutMs?: number
  retryBudgetMs?: number
}

export interface Runtime {
  http: HttpClient
  registryFor: (registry: string) => RegistryClient
}

export function createRuntime(o: RuntimeOptions): Runtime {
  const env = o.env ?? process.env
  const http = new HttpClient({
    userAgent: o.userAgent,
    logger: o.logger,
    timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    budgetMs: o.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS
  })
  if (o.registryPassword !== undefined)
    registerCredential(o.registryUsername ?? '', o.registryPassword)
  const explicit =
    o.registryUsername !== undefined || o.registryPassword !== undefined
      ? {
          username: o.registryUsername ?? '',
          password: o.registryPassword ?? ''
        }
      : undefined
  const boundHost = o.registryHost ? canonicalHost(o.registryHost) : undefined
  const clients = new Map<string, RegistryClient>()
  const registryFor = (registry: string): RegistryClient => {
    let c = clients.get(registry)
    if (!c) {
      let cached: Promise<Credentials | undefined> | undefined
      c = new RegistryClient(registry, {
        http,
        logger: o.logger,
        allowHttp: o.allowHttpRegistry === true || isLoopbackRegistry(registry),
        credentials: () =>
          (cached ??= resolveCredentials(registry, {
            ...(explicit && canonicalHost(registry) === boundHost
              ? { explicit }
              : {}),
            env
          }))
      })
      clients.set(registry, c)
    }
    return c
  }
  return { http, registryFor }
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

/** What every front door collects besides the use case's own options. */
export interface RunInputs {
  trustedRootPath?: string
  registryUsername?: string
  registryPassword?: string
  registryHost?: string
  allowHttpRegistry: boolean
  retryBudgetMs?: number
}

/**
 * The runtime for one run, and its trusted root as a promise: parsing it is
 * CPU work best done while the first requests are in flight (signImages
 * awaits it only once Fulcio has answered). A missing file fails at once.
 */
export function prepareRun(
  inputs: RunInputs,
  o: { userAgent: string; logger: Logger; env?: NodeJS.ProcessEnv }
): Runtime & { trust: Promise<TrustMaterial> } {
  if (inputs.trustedRootPath) {
    try {
      accessSync(inputs.trustedRootPath, constants.R_OK)
    } catch (e) {
      throw new InputError(
        'INPUT_TRUSTED_ROOT_UNREADABLE',
        `cannot read the trusted root ${JSON.stringify(inputs.trustedRootPath)}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e }
      )
    }
  }
  const trust = new Promise<void>(resolve => setImmediate(resolve)).then(() =>
    loadTrustMaterial(inputs.trustedRootPath)
  )
  trust.catch(() => {})
  const runtime = createRuntime({
    userAgent: o.userAgent,
    logger: o.logger,
    ...(o.env ? { env: o.env } : {}),
    ...(inputs.registryUsername !== undefined
      ? { registryUsername: inputs.registryUsername }
      : {}),
    ...(inputs.registryPassword !== undefined
      ? { registryPassword: inputs.registryPassword }
      : {}),
    ...(inputs.registryHost !== undefined
      ? { registryHost: inputs.registryHost }
      : {}),
    allowHttpRegistry: inputs.allowHttpRegistry,
    ...(inputs.retryBudgetMs ? { retryBudgetMs: inputs.retryBudgetMs } : {})
  })
  return { ...runtime, trust }
}
