// Composition of the lower layers for one run: the HTTP client, one registry
// client per host (credentials resolved once per host), and the trusted root
// (a file, or the embedded public-good root). Adapters call this; the use
// cases receive what it builds.
import { accessSync, constants } from 'node:fs'
import { HttpClient } from '../http/index.ts'
import {
  RegistryClient,
  canonicalHost,
  isLoopbackRegistry,
  resolveCredentials,
  type Credentials
} from '../oci/index.ts'
import { parseSigningConfig, type TrustMaterial } from '../sigstore/index.ts'
import { InputError, registerCredential, type Logger } from '../util/index.ts'
import { DEFAULT_RETRY_BUDGET_MS, DEFAULT_TIMEOUT_MS } from './defaults.ts'
import {
  resolveTrust,
  type ResolvedTrust,
  type TrustPurpose
} from './trust-source.ts'

import {
  chooseServices,
  readSigningConfigFile,
  type ChosenServices
} from './services.ts'
import type { SigningServiceInputs } from './inputs.ts'

export { loadTrustMaterial } from './trust-source.ts'

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

/** What every front door collects besides the use case's own options. */
export interface RunInputs {
  /** What the trust material is for: signing fails where verifying may
   * fall back to a cached or embedded root (trust-source.ts). */
  trustPurpose: TrustPurpose
  trustedRootPath?: string
  tufMirror?: string
  tufRootPath?: string
  /** rekor-url, when given: the log SIGSTORE_REKOR_PUBLIC_KEY's key is for. */
  trustRekorUrl?: string
  /** Signing runs: how to choose Fulcio, Rekor and the TSA. */
  signing?: SigningServiceInputs
  registryUsername?: string
  registryPassword?: string
  registryHost?: string
  allowHttpRegistry: boolean
  retryBudgetMs?: number
}

/**
 * The runtime for one run, and its trusted root as a promise: loading it
 * (a file, or TUF: a verified cache or a refresh) is work best done while
 * the first requests are in flight. A missing file fails at once.
 */
export function prepareRun(
  inputs: RunInputs,
  o: { userAgent: string; logger: Logger; env?: NodeJS.ProcessEnv }
): Runtime & {
  trust: Promise<TrustMaterial>
  trustSource: Promise<ResolvedTrust>
  /** Signing runs: the services chosen (explicit inputs, signing config,
   * defaults), logged; undefined for verification. */
  services: Promise<ChosenServices | undefined>
} {
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
  const trustSource = new Promise<void>(resolve => setImmediate(resolve))
    .then(() =>
      resolveTrust({
        purpose: inputs.trustPurpose,
        ...(inputs.trustedRootPath
          ? { trustedRootPath: inputs.trustedRootPath }
          : {}),
        ...(inputs.tufMirror ? { tufMirror: inputs.tufMirror } : {}),
        ...(inputs.tufRootPath ? { tufRootPath: inputs.tufRootPath } : {}),
        ...(inputs.trustRekorUrl ? { rekorUrl: inputs.trustRekorUrl } : {}),
        env: o.env ?? process.env,
        logger: o.logger,
        userAgent: o.userAgent
      })
    )
    .then(r => {
      o.logger.info(`Trust: ${r.source}`)
      return r
    })
  const trust = trustSource.then(r => r.trust)
  trustSource.catch(() => {})
  trust.catch(() => {})
  const services = inputs.signing
    ? chooseRunServices(inputs, inputs.signing, trustSource, o.logger)
    : Promise.resolve(undefined)
  services.catch(() => {})
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
  return { ...runtime, trust, trustSource, services }
}

async function chooseRunServices(
  inputs: RunInputs,
  signing: SigningServiceInputs,
  trustSource: Promise<ResolvedTrust>,
  logger: Logger
): Promise<ChosenServices> {
  let config
  let configSource = ''
  if (signing.signingConfigPath) {
    config = await readSigningConfigFile(signing.signingConfigPath)
    configSource = signing.signingConfigPath
  } else if (!inputs.trustedRootPath && inputs.trustPurpose === 'sign') {
    const r = await trustSource
    if (r.signingConfig !== undefined) {
      config = parseSigningConfig(r.signingConfig)
      configSource = r.signingConfigSource ?? 'TUF'
    }
  }
  return chooseServices({
    explicit: signing.explicit,
    config,
    configSource,
    needs: signing.needs,
    logger
  })
}
