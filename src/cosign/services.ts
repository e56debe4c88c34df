// Which Fulcio, Rekor and TSA a signing run uses, and why (said in the log):
//   1. explicit fulcio-url / rekor-url / timestamp-server-url, one by one;
//   2. the signing config: the "signing-config" file, else the one the TUF
//      repository delivers with the trusted root (public-good by default);
//   3. without either (an explicit trusted root and no signing config):
//      the public-good Fulcio and Rekor, no TSA (as before signing configs).
// Selection follows the client spec (sigstore/trust/signing-config.ts) with
// the API versions this client speaks: Fulcio v1, Rekor v1 and v2, TSA v1.
// The highest version wins: a config that lists a Rekor v2 log gets a v2
// entry (with the TSA's timestamp, which v2 needs), except for the legacy
// format alone: a `.sig` needs the signed entry timestamp only Rekor v1 gives.

import { readFile } from 'node:fs/promises'
import {
  parseSigningConfig,
  selectService,
  selectServices,
  validAt,
  type SigningConfig,
  type SigningService
} from '../sigstore/index.ts'
import { InputError, type Logger } from '../util/index.ts'
import { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL } from './defaults.ts'
import { SignError } from './errors.ts'

/** Major API versions Sigil's clients speak, per service kind. */
export const SUPPORTED_API_VERSIONS = {
  ca: [1],
  oidc: [1],
  rekor: [1, 2],
  tsa: [1]
} as const

export interface ExplicitServices {
  fulcioUrl?: string
  rekorUrl?: string
  timestampServerUrl?: string
}

export interface ChosenServices {
  fulcioUrl: string
  rekorUrl: string
  /** Rekor API of rekorUrl: 2 only when the signing config chose a v2 log. */
  rekorApiVersion: 1 | 2
  timestampServerUrl?: string
}

export async function readSigningConfigFile(
  path: string
): Promise<SigningConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new InputError(
      'INPUT_SIGNING_CONFIG_UNREADABLE',
      `cannot read the signing config ${JSON.stringify(path)}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
  try {
    return parseSigningConfig(JSON.parse(text))
  } catch (e) {
    throw new InputError(
      'INPUT_SIGNING_CONFIG_INVALID',
      `${JSON.stringify(path)} is not a valid signing_config.v0.2.json: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
}

const describe = (s: SigningService): string =>
  `${s.url} (API v${s.majorApiVersion}${s.operator ? `, ${s.operator}` : ''})`

/**
 * The services for this run; logs one line per service saying where it
 * came from. `config` undefined: no signing config is known.
 */
export function chooseServices(o: {
  explicit: ExplicitServices
  config: SigningConfig | undefined
  configSource: string
  /** What will be used: keyless needs Fulcio, tlog-upload needs Rekor;
   * setRequired: only legacy signatures are written (they need a SET). */
  needs: { fulcio: boolean; rekor: boolean; setRequired?: boolean }
  logger: Logger
  now?: number
}): ChosenServices {
  const now = o.now ?? Date.now()
  const { explicit, config, logger } = o
  const from = `signing config (${o.configSource})`
  const lines: string[] = []
  let fulcioUrl = explicit.fulcioUrl
  if (fulcioUrl) lines.push(`Fulcio ${fulcioUrl}: fulcio-url`)
  else if (config && o.needs.fulcio) {
    const s = selectService(config.caUrls, SUPPORTED_API_VERSIONS.ca, now)
    if (!s) {
      throw new SignError(
        'SIGNING_CONFIG_NO_SERVICE',
        `the ${from} lists no certificate authority that is valid now with an API version Sigil speaks (v${SUPPORTED_API_VERSIONS.ca.join(', v')})`,
        { remedy: 'Set "fulcio-url" (--fulcio-url) to choose Fulcio.' }
      )
    }
    fulcioUrl = s.url
    lines.push(`Fulcio ${describe(s)}: ${from}`)
  }
  fulcioUrl ??= DEFAULT_FULCIO_URL
  if (!explicit.fulcioUrl && !config && o.needs.fulcio) {
    lines.push(`Fulcio ${fulcioUrl}: default (no signing config)`)
  }

  let rekorUrl = explicit.rekorUrl
  let rekorApiVersion: 1 | 2 = 1
  if (rekorUrl) lines.push(`Rekor ${rekorUrl}: rekor-url`)
  else if (config && o.needs.rekor) {
    const supported: readonly number[] = o.needs.setRequired
      ? [1]
      : SUPPORTED_API_VERSIONS.rekor
    const picked = selectServices(
      config.rekorTlogUrls,
      config.rekorTlogConfig,
      supported,
      now,
      'Rekor'
    )
    const v2Only = config.rekorTlogUrls.filter(
      s => s.majorApiVersion === 2 && validAt(s, now)
    )
    const skipped = config.rekorTlogUrls.filter(
      s =>
        !supported.includes(s.majorApiVersion) &&
        validAt(s, now) &&
        picked.every(p => p.url !== s.url)
    )
    if (picked.length === 0) {
      if (o.needs.setRequired && v2Only.length > 0) {
        throw new SignError(
          'LEGACY_FORMAT_NEEDS_REKOR_V1',
          `the ${from} lists only Rekor v2 logs (${v2Only.map(describe).join(', ')}); format "legacy" writes cosign .sig signatures, whose dev.sigstore.cosign/bundle annotation needs a signed entry timestamp, which Rekor v2 does not give`,
          {
            remedy:
              'Choose format "bundle" or "both" (--format; a Sigstore bundle carries the inclusion proof and an RFC 3161 timestamp instead), or set "rekor-url" (--rekor-url) to a Rekor v1 log (public good: https://rekor.sigstore.dev).'
          }
        )
      }
      const newer = config.rekorTlogUrls.filter(
        s =>
          !supported.includes(s.majorApiVersion) &&
          s.start !== undefined &&
          validAt(s, now)
      )
      throw new SignError(
        'SIGNING_CONFIG_NO_SERVICE',
        newer.length > 0
          ? `the ${from} lists only Rekor logs of an API version Sigil does not sign with: ${newer.map(describe).join(', ')} (Sigil writes Rekor API v${SUPPORTED_API_VERSIONS.rekor.join(' and v')} entries)`
          : `the ${from} lists no Rekor log that is valid now`,
        {
          remedy:
            'Set "rekor-url" (--rekor-url) to a Rekor v1 log (public good: https://rekor.sigstore.dev), or sign without a log (tlog-upload: false) with a key pair.'
        }
      )
    }
    if (picked.length > 1) {
      throw new SignError(
        'SIGNING_CONFIG_UNSUPPORTED',
        `the ${from} asks for entries in ${picked.length} Rekor logs (selector ${config.rekorTlogConfig.selector}); Sigil writes one entry per signature`,
        { remedy: 'Set "rekor-url" (--rekor-url) to the log to use.' }
      )
    }
    const chosen = picked[0]!
    rekorUrl = chosen.url
    rekorApiVersion = chosen.majorApiVersion === 2 ? 2 : 1
    const why =
      skipped.length === 0
        ? ''
        : o.needs.setRequired && skipped.some(s => s.majorApiVersion === 2)
          ? `; not ${skipped.map(s => s.url).join(', ')} (Rekor v2 gives no signed entry timestamp, which format "legacy" needs)`
          : `; not ${skipped.map(s => s.url).join(', ')} (API v${skipped[0]!.majorApiVersion}: Sigil writes Rekor v${SUPPORTED_API_VERSIONS.rekor.join(' and v')} entries)`
    lines.push(
      `Rekor ${describe(chosen)}: ${from}, selector ${config.rekorTlogConfig.selector}${chosen.majorApiVersion === 2 ? ', the highest API version listed' : ''}${why}`
    )
  }
  rekorUrl ??= DEFAULT_REKOR_URL
  if (!explicit.rekorUrl && !config && o.needs.rekor) {
    lines.push(`Rekor ${rekorUrl}: default (no signing config)`)
  }

  let timestampServerUrl = explicit.timestampServerUrl
  if (timestampServerUrl) {
    lines.push(`TSA ${timestampServerUrl}: timestamp-server-url`)
  } else if (config) {
    const picked = selectServices(
      config.tsaUrls,
      config.tsaConfig,
      SUPPORTED_API_VERSIONS.tsa,
      now,
      'timestamp authority'
    )
    if (picked.length > 1) {
      throw new SignError(
        'SIGNING_CONFIG_UNSUPPORTED',
        `the ${from} asks for timestamps from ${picked.length} authorities (selector ${config.tsaConfig.selector}); Sigil requests one`,
        {
          remedy:
            'Set "timestamp-server-url" (--timestamp-server-url) to the authority to use.'
        }
      )
    }
    if (picked[0]) {
      timestampServerUrl = picked[0].url
      lines.push(
        `TSA ${describe(picked[0])}: ${from}, selector ${config.tsaConfig.selector}`
      )
    } else {
      lines.push(`TSA: none (the ${from} lists none valid now)`)
    }
  }
  if (config) {
    const oidc = selectService(
      config.oidcUrls,
      SUPPORTED_API_VERSIONS.oidc,
      now
    )
    if (oidc && o.needs.fulcio) {
      logger.debug(
        `OIDC issuer in the signing config: ${oidc.url} (not used: the identity token comes from the CI platform or identity-token)`
      )
    }
  }
  if (rekorApiVersion === 2 && !timestampServerUrl) {
    throw new SignError(
      'SIGNING_CONFIG_NO_TIMESTAMP',
      `the ${from} chose the Rekor v2 log ${rekorUrl}, which vouches for no signing time, and no timestamp authority: a signature logged there needs an RFC 3161 timestamp`,
      {
        remedy:
          'Set "timestamp-server-url" (--timestamp-server-url), or set "rekor-url" (--rekor-url) to a Rekor v1 log.'
      }
    )
  }
  for (const l of lines) logger.info(`Service: ${l}`)
  return {
    fulcioUrl,
    rekorUrl,
    rekorApiVersion,
    ...(timestampServerUrl ? { timestampServerUrl } : {})
  }
}
