// signing_config.v0.2.json → the services a signer uses, chosen as the
// Sigstore client spec says (sigstore/protobuf-specs sigstore_trustroot.proto
// SigningConfig; sigstore-go pkg/root/signing_config.go): only services
// valid now and of an API version this client speaks, the highest such
// version first, newest validity start first; for Rekor and TSAs the
// configuration's selector picks ALL, ANY (one) or EXACT n, at most one
// service per operator. ANY picks the first (newest) candidate, so runs are
// reproducible.

import { AppError, isObject } from '../../util/index.ts'

export const SIGNING_CONFIG_MEDIA_TYPE =
  'application/vnd.dev.sigstore.signingconfig.v0.2+json'

export class SigningConfigError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('SIGNING_CONFIG_INVALID', message, {
      cause,
      remedy: `A signing config is a sigstore signing_config.v0.2.json (media type ${SIGNING_CONFIG_MEDIA_TYPE}).`
    })
  }
}

export interface SigningService {
  url: string
  majorApiVersion: number
  /** Epoch ms; start undefined = always, end undefined = open. */
  start: number | undefined
  end: number | undefined
  operator: string
}

export type ServiceSelector = 'ALL' | 'ANY' | 'EXACT'

export interface ServiceConfiguration {
  selector: ServiceSelector
  count: number
}

export interface SigningConfig {
  caUrls: SigningService[]
  oidcUrls: SigningService[]
  rekorTlogUrls: SigningService[]
  rekorTlogConfig: ServiceConfiguration
  tsaUrls: SigningService[]
  tsaConfig: ServiceConfiguration
}

export function parseSigningConfig(input: unknown): SigningConfig {
  if (!isObject(input)) throw new SigningConfigError('not a JSON object')
  if (input['mediaType'] !== SIGNING_CONFIG_MEDIA_TYPE) {
    throw new SigningConfigError(
      `unsupported signing config media type ${JSON.stringify(input['mediaType'])}`
    )
  }
  return {
    caUrls: services(input, 'caUrls'),
    oidcUrls: services(input, 'oidcUrls'),
    rekorTlogUrls: services(input, 'rekorTlogUrls'),
    rekorTlogConfig: config(input, 'rekorTlogConfig'),
    tsaUrls: services(input, 'tsaUrls'),
    tsaConfig: config(input, 'tsaConfig')
  }
}

function services(o: Record<string, unknown>, key: string): SigningService[] {
  const v = o[key]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new SigningConfigError(`${key} is not a list`)
  return v.map((s, i) => {
    const where = `${key}[${i}]`
    if (!isObject(s)) throw new SigningConfigError(`${where} is not an object`)
    const url = s['url']
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw new SigningConfigError(`${where}.url is not an http(s) URL`)
    }
    const version = s['majorApiVersion']
    if (!Number.isSafeInteger(version) || (version as number) < 0) {
      throw new SigningConfigError(`${where}.majorApiVersion is not a number`)
    }
    const vf = s['validFor']
    const date = (k: 'start' | 'end'): number | undefined => {
      if (!isObject(vf) || vf[k] === undefined || vf[k] === null) {
        return undefined
      }
      const t = typeof vf[k] === 'string' ? Date.parse(vf[k]) : NaN
      if (!Number.isFinite(t)) {
        throw new SigningConfigError(`${where}.validFor.${k} is not a date`)
      }
      return t
    }
    return {
      url: url.replace(/\/+$/, ''),
      majorApiVersion: version as number,
      start: date('start'),
      end: date('end'),
      operator: typeof s['operator'] === 'string' ? s['operator'] : ''
    }
  })
}

function config(o: Record<string, unknown>, key: string): ServiceConfiguration {
  const v = o[key]
  if (v === undefined || v === null) return { selector: 'ANY', count: 0 }
  if (!isObject(v)) throw new SigningConfigError(`${key} is not an object`)
  const selector = v['selector'] ?? 'ANY'
  if (selector !== 'ALL' && selector !== 'ANY' && selector !== 'EXACT') {
    throw new SigningConfigError(
      `${key}.selector ${JSON.stringify(selector)} is not ALL, ANY or EXACT`
    )
  }
  const count = v['count'] ?? 0
  if (!Number.isSafeInteger(count) || (count as number) < 0) {
    throw new SigningConfigError(`${key}.count is not a number`)
  }
  if (selector === 'EXACT' && count === 0) {
    throw new SigningConfigError(`${key}: EXACT needs a count above 0`)
  }
  return { selector, count: count as number }
}

export function validAt(s: SigningService, now: number): boolean {
  return (
    (s.start === undefined || s.start <= now) &&
    (s.end === undefined || now <= s.end)
  )
}

/** The candidates, best first: highest supported API version that has any
 * service valid now, newest start first within it. */
function candidates(
  list: readonly SigningService[],
  supported: readonly number[],
  now: number
): SigningService[] {
  const versions = [...supported].sort((a, b) => b - a)
  for (const v of versions) {
    const found = list
      .filter(s => s.majorApiVersion === v && validAt(s, now))
      .sort((a, b) => (b.start ?? -Infinity) - (a.start ?? -Infinity))
    if (found.length > 0) return found
  }
  return []
}

/** One service (Fulcio, OIDC): undefined when none qualifies. */
export function selectService(
  list: readonly SigningService[],
  supported: readonly number[],
  now: number
): SigningService | undefined {
  return candidates(list, supported, now)[0]
}

/**
 * Rekor logs or TSAs per the configuration's selector, one per operator.
 * Throws when EXACT asks for more than qualify; [] when none qualifies.
 */
export function selectServices(
  list: readonly SigningService[],
  cfg: ServiceConfiguration,
  supported: readonly number[],
  now: number,
  what: string
): SigningService[] {
  const seen = new Set<string>()
  const perOperator = candidates(list, supported, now).filter(s => {
    if (seen.has(s.operator)) return false
    seen.add(s.operator)
    return true
  })
  if (perOperator.length === 0) return []
  switch (cfg.selector) {
    case 'ALL':
      return perOperator
    case 'ANY':
      return perOperator.slice(0, 1)
    case 'EXACT':
      if (cfg.count > perOperator.length) {
        throw new SigningConfigError(
          `the signing config asks for exactly ${cfg.count} ${what} service(s), and only ${perOperator.length} qualif${perOperator.length === 1 ? 'ies' : 'y'} (valid now, supported API version, distinct operators)`
        )
      }
      return perOperator.slice(0, cfg.count)
  }
}
