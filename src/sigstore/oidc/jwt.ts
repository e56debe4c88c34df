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

/**
 * Summarises the token's claims and rejects tokens that Fulcio would refuse
 * for reasons we can see locally (no issuer, expired).
 */
export function inspectToken(token: string, now = new Date()): TokenIdentity {
  const claims = decodeJwtClaims(token)
  const challenge = challengeClaim(claims)
  const iss = claims['iss']
  if (typeof iss !== 'string' || iss === '') {
    throw invalid('it has no "iss" claim')
  }
  const exp = claims['exp']
  let expiresAt: Date | undefined
  if (exp !== undefined) {
    if (typeof exp !== 'number' || !Number.isFinite(exp)) {
      throw invalid('its "exp" claim is not a number')
    }
    expiresAt = new Date(exp * 1000)
    if (expiresAt.getTime() <= now.getTime()) {
      throw invalid(`it expired at ${expiresAt.toISOString()}`)
    }
  }
  const aud = claims['aud']
  const audience = Array.isArray(aud)
    ? typeof aud[0] === 'string'
      ? aud[0]
      : undefined
    : typeof aud === 'string'
      ? aud
      : undefined
  const sub = typeof claims['sub'] === 'string' ? claims['sub'] : challenge
  return { issuer: iss, subject: sub, challenge, audience, expiresAt }
}
