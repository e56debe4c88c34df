// Peeks into an OIDC identity token (JWT) without verifying it: Fulcio
// verifies the token; the client only needs the challenge claim for the proof
// of possession and a few claims for messages. Spec: cosign-spec.md §4.1, §6.3.

import { fromBase64, fromUtf8 } from '../../util/index.ts'
import { SigstoreServiceError } from '../errors.ts'

export type JwtClaims = Record<string, unknown>

/** What a token says about its holder (unverified), for logs and results. */
export interface TokenIdentity {
  /** `iss` */
  issuer: string
  /** `sub` */
  subject: string
  /** the claim the proof of possession signs (email or sub) */
  challenge: string
  /** `aud` (first value when it is a list) */
  audience: string | undefined
  /** `exp` as a Date, when present */
  expiresAt: Date | undefined
}

const invalid = (why: string): SigstoreServiceError =>
  new SigstoreServiceError(
    'IDENTITY_TOKEN_INVALID',
    `The OIDC identity token is not usable: ${why}`,
    {
      remedy:
        'Provide an OIDC ID token (a JWT) issued for the audience "sigstore".'
    }
  )

/** The payload claims of a compact JWS (base64url); no signature check. */
export function decodeJwtClaims(token: string): JwtClaims {
  const parts = token.trim().split('.')
  if (parts.length !== 3 || parts.some(p => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw invalid('it is not a JWT (three base64url parts)')
  }
  let claims: unknown
  try {
    claims = JSON.parse(fromUtf8(fromBase64(parts[1]!)))
  } catch {
    throw invalid('its payload is not base64url JSON')
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw invalid('its payload is not a JSON object')
  }
  return claims as JwtClaims
}

/**
 * The claim Fulcio's proof of possession covers: `email` when present (then
 * `email_verified` must be true), otherwise `sub`.
 */
export function challengeClaim(claims: JwtClaims): string {
  if (claims['email'] !== undefined) {
    if (typeof claims['email'] !== 'string' || claims['email'] === '') {
      throw invalid('its "email" claim is not a string')
    }
    if (claims['email_verified'] !== true) {
      throw invalid('its "email" claim is not verified (email_verified)')
    }
    return claims['email']
  }
  const sub = claims['sub']
  if (typeof sub !== 'string' || sub === '') {
    throw invalid('it has no "sub" claim')
  }
  return sub
}

/** Clock skew tolerated for `nbf`/`iat` (a runner's clock may run late). */
export const TOKEN_CLOCK_SKEW_MS = 60_000

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'

/** Where the token came from, for the remedy: GitHub, GitLab, or other. */
function platformOf(issuer: unknown): 'github' | 'gitlab' | 'other' {
  if (issuer === GITHUB_ISSUER) return 'github'
  if (typeof issuer === 'string' && /gitlab/i.test(issuer)) return 'gitlab'
  return 'other'
}

function remedyFor(
  problem: 'expired' | 'not-yet-valid' | 'audience',
  issuer: unknown,
  audience: string
): string {
  const platform = platformOf(issuer)
  if (problem === 'audience') {
    if (platform === 'github')
      return (
        `Let Sigil request the token (leave identity-token empty; the job needs "permissions: id-token: write"), ` +
        `or request it with the audience: core.getIDToken('${audience}') or curl "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=${audience}".`
      )
    if (platform === 'gitlab')
      return `Set the audience in the job:\nid_tokens:\n  SIGSTORE_ID_TOKEN:\n    aud: ${audience}`
    return `Request the OIDC token for the audience "${audience}".`
  }
  if (problem === 'not-yet-valid')
    return 'The token is dated in the future: check the clock of the machine that runs Sigil (NTP).'
  if (platform === 'github')
    return 'GitHub OIDC tokens live minutes: leave identity-token empty so Sigil requests one when it signs ("permissions: id-token: write"), or request it in the same step.'
  if (platform === 'gitlab')
    return 'GitLab mints id_tokens when the job starts: sign early in the job (id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore), or split long work into an earlier job.'
  return 'Request a fresh OIDC token just before signing.'
}

function numericDate(claims: JwtClaims, name: string): number | undefined {
  const v = claims[name]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalid(`its "${name}" claim is not a number`)
  }
  return v * 1000
}

/**
 * The checks Fulcio would make that we can make locally, before any network
 * call: `exp` not passed, `nbf`/`iat` not in the future (60 s skew), and
 * `aud` naming `audience` (default `sigstore`). Each failure has its own code
 * and a remedy for the platform the token came from.
 */
export function checkTokenClaims(
  claims: JwtClaims,
  options: { now?: Date; audience?: string } = {}
): void {
  const now = (options.now ?? new Date()).getTime()
  const audience = options.audience ?? 'sigstore'
  const iss = claims['iss']
  const exp = numericDate(claims, 'exp')
  if (exp !== undefined && exp <= now) {
    throw new SigstoreServiceError(
      'IDENTITY_TOKEN_EXPIRED',
      `The OIDC identity token expired at ${new Date(exp).toISOString()} (it is now ${new Date(now).toISOString()})`,
      { remedy: remedyFor('expired', iss, audience) }
    )
  }
  for (const name of ['nbf', 'iat']) {
    const t = numericDate(claims, name)
    if (t !== undefined && t > now + TOKEN_CLOCK_SKEW_MS) {
      throw new SigstoreServiceError(
        'IDENTITY_TOKEN_NOT_YET_VALID',
        `The OIDC identity token is not valid before ${new Date(t).toISOString()} ("${name}"; it is now ${new Date(now).toISOString()})`,
        { remedy: remedyFor('not-yet-valid', iss, audience) }
      )
    }
  }
  const aud = claims['aud']
  const auds = Array.isArray(aud) ? aud : [aud]
  if (!auds.includes(audience)) {
    throw new SigstoreServiceError(
      'IDENTITY_TOKEN_AUDIENCE_MISMATCH',
      `The OIDC identity token is for the audience ${JSON.stringify(aud ?? null)}, not "${audience}"`,
      { remedy: remedyFor('audience', iss, audience) }
    )
  }
}

/**
 * Summarises the token's claims and rejects tokens that Fulcio would refuse
 * for reasons we can see locally (no issuer, expired, not yet valid, another
 * audience).
 */
export function inspectToken(
  token: string,
  now = new Date(),
  audience = 'sigstore'
): TokenIdentity {
  const claims = decodeJwtClaims(token)
  const challenge = challengeClaim(claims)
  const iss = claims['iss']
  if (typeof iss !== 'string' || iss === '') {
    throw invalid('it has no "iss" claim')
  }
  checkTokenClaims(claims, { now, audience })
  const exp = numericDate(claims, 'exp')
  const expiresAt = exp === undefined ? undefined : new Date(exp)
  const aud = claims['aud']
  const audience0 = Array.isArray(aud)
    ? typeof aud[0] === 'string'
      ? aud[0]
      : undefined
    : typeof aud === 'string'
      ? aud
      : undefined
  const sub = typeof claims['sub'] === 'string' ? claims['sub'] : challenge
  return {
    issuer: iss,
    subject: sub,
    challenge,
    audience: audience0,
    expiresAt
  }
}
