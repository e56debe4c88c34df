// Registry authentication: ping /v2/ once, parse the WWW-Authenticate
// challenge, then send Basic credentials or a bearer token fetched from the
// realm for the scopes each request needs (cached until shortly before
// expiry). Knows nothing of manifests. Spec: distribution auth/token.md,
// auth/oauth.md, RFC 9110 §11.6.1; cosign-spec §10.2.
import type { HttpClient, HttpResponse } from '../http/index.ts'
import { HttpError, isJsonBody } from '../http/index.ts'
import {
  nullLogger,
  redactUrl,
  registerSecret,
  toBase64,
  utf8,
  type Logger
} from '../util/index.ts'
import type { Credentials } from './credentials.ts'
import { RegistryError, permissionRemedy } from './errors.ts'
import { isLoopbackRegistry } from './reference.ts'

export interface Challenge {
  /** Lower-case: `basic`, `bearer`, … */
  scheme: string
  /** Lower-case keys, unquoted values. */
  params: Record<string, string>
}

/** Parses one or more challenges (`Bearer realm="…",service="…", Basic realm="…"`). */
export function parseChallenges(header: string | undefined): Challenge[] {
  const out: Challenge[] = []
  const s = header ?? ''
  let i = 0
  let current: Challenge | undefined
  const skip = (chars: RegExp): void => {
    while (i < s.length && chars.test(s[i] as string)) i++
  }
  while (i < s.length) {
    skip(/[\s,]/)
    const start = i
    while (i < s.length && !/[\s,=]/.test(s[i] as string)) i++
    const name = s.slice(start, i)
    if (!name) break
    skip(/\s/)
    if (s[i] !== '=') {
      current = { scheme: name.toLowerCase(), params: {} }
      out.push(current)
      continue
    }
    i++
    skip(/\s/)
    let value = ''
    if (s[i] === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\') i++
        value += s[i] ?? ''
      }
      i++
    } else {
      const v = i
      while (i < s.length && !/[\s,]/.test(s[i] as string)) i++
      value = s.slice(v, i)
    }
    if (current) current.params[name.toLowerCase()] = value
  }
  return out
}

export const pullScope = (repository: string): string =>
  `repository:${repository}:pull`
export const pushScope = (repository: string): string =>
  `repository:${repository}:push,pull`

interface CachedToken {
  scopes: string[]
  value: string
  expiresAt: number
}

export interface AuthenticatorOptions {
  http: HttpClient
  /** `https://host[:port]` of the registry. */
  origin: string
  registry: string
  credentials?: Credentials | (() => Promise<Credentials | undefined>)
  /** Accept a plain-http realm on a non-loopback host (the user opted in). */
  allowHttpRealm?: boolean
  logger?: Logger
}

const EXPIRY_MARGIN_MS = 10_000
const DEFAULT_TOKEN_SECONDS = 60

export class Authenticator {
  readonly #o: AuthenticatorOptions
  #origin: string
  readonly #logger: Logger
  #challenge: Promise<Challenge | undefined> | undefined
  #credentials: Promise<Credentials | undefined> | undefined
  #tokens: CachedToken[] = []
  readonly #pending = new Map<
    string,
    { scopes: string[]; token: Promise<CachedToken> }
  >()

  constructor(options: AuthenticatorOptions) {
    this.#o = options
    this.#origin = options.origin
    this.#logger = options.logger ?? nullLogger
  }

  /** The registry turned out to speak another scheme (see RegistryClient). */
  setOrigin(origin: string): void {
    this.#origin = origin
  }

  /** GET /v2/ at the registry's origin; REGISTRY_UNREACHABLE without an
   * answer. */
  async ping(): Promise<HttpResponse> {
    let res: HttpResponse
    try {
      res = await this.#o.http.request({
        method: 'GET',
        url: `${this.#origin}/v2/`,
        maxBodyBytes: 1024 * 1024
      })
    } catch (e) {
      throw new RegistryError(
        'REGISTRY_UNREACHABLE',
        `cannot reach registry ${this.#o.registry}: ${(e as Error).message}`,
        {
          cause: e,
          remedy: (e as HttpError).remedy
        }
      )
    }
    return res
  }

  /** Takes a ping response someone else asked for as this client's own. */
  adoptPing(res: HttpResponse): void {
    this.#challenge ??= Promise.resolve(this.#challengeOf(res))
  }

  /** The registry's challenge (pinging once); undefined for an open registry. */
  challenge(): Promise<Challenge | undefined> {
    return (this.#challenge ??= this.#ping())
  }

  credentials(): Promise<Credentials | undefined> {
    const c = this.#o.credentials
    this.#credentials ??= typeof c === 'function' ? c() : Promise.resolve(c)
    return this.#credentials
  }

  /** The Authorization value for a request needing `scopes`, if any. */
  async header(scopes: string[]): Promise<string | undefined> {
    const challenge = await (this.#challenge ??= this.#ping())
    // An open registry: do not even look credentials up (helpers are slow).
    if (!challenge) return undefined
    const creds = await this.credentials()
    if (creds && 'token' in creds) return `Bearer ${creds.token}`
    if (challenge.scheme === 'basic') {
      return creds && 'password' in creds
        ? basic(creds.username, creds.password)
        : undefined
    }
    if (challenge.scheme !== 'bearer') return undefined
    const now = Date.now()
    this.#tokens = this.#tokens.filter(t => t.expiresAt > now)
    const cached = this.#tokens.find(t => covers(t.scopes, scopes))
    if (cached) return `Bearer ${cached.value}`
    // Parallel requests share one token request: for the same scopes, or
    // one already under way whose scopes cover these (push,pull ⊇ pull;
    // should that one be refused, these scopes are asked for on their own).
    const key = [...scopes].sort().join(' ')
    const same = this.#pending.get(key)?.token
    if (same) return `Bearer ${(await same).value}`
    const wider = [...this.#pending.values()].find(p =>
      covers(p.scopes, scopes)
    )?.token
    const own = (): Promise<CachedToken> => {
      const existing = this.#pending.get(key)?.token
      if (existing) return existing
      const token = this.#fetchToken(challenge, scopes, creds).then(t => {
        // Cached as it arrives. (Not `this.#tokens.push(await …)`: that
        // reads the array before the wait, and a concurrent call that prunes
        // expired tokens replaces it: the token was lost, and every later
        // request fetched its own.)
        this.#tokens.push(t)
        return t
      })
      const shared = token.finally(() => this.#pending.delete(key))
      this.#pending.set(key, { scopes, token: shared })
      return shared
    }
    const token = wider ? await wider.catch(own) : await own()
    return `Bearer ${token.value}`
  }

  /** Learns from a 401: adopts its challenge and forgets tokens that failed.
   * True when another try can help (a fresh bearer token, or a new scheme). */
  async unauthorized(
    res: HttpResponse,
    scopes: string[],
    /** The refused request carried a bearer token (it expired or was revoked). */
    sentBearer = false
  ): Promise<boolean> {
    const next = pickChallenge(parseChallenges(res.headers['www-authenticate']))
    if (!next) return false
    const previous = await this.#challenge
    this.#challenge = Promise.resolve(next)
    const hadTokens = this.#tokens.some(t => covers(t.scopes, scopes))
    this.#tokens = this.#tokens.filter(t => !covers(t.scopes, scopes))
    const creds = await this.credentials()
    if (creds && 'token' in creds) return false
    if (next.scheme !== previous?.scheme) return true
    // A concurrent request may already have dropped the token this one
    // sent: what the request carried decides, not the cache.
    return next.scheme === 'bearer' && (hadTokens || sentBearer)
  }

  async #ping(): Promise<Challenge | undefined> {
    return this.#challengeOf(await this.ping())
  }

  #challengeOf(res: HttpResponse): Challenge | undefined {
    if (res.status !== 401) return undefined
    const challenge = pickChallenge(
      parseChallenges(res.headers['www-authenticate'])
    )
    this.#logger.debug(
      `registry ${this.#o.registry} asks for ${challenge?.scheme ?? 'an unknown'} auth`
    )
    return challenge
  }

  async #fetchToken(
    challenge: Challenge,
    wanted: string[],
    creds: Credentials | undefined
  ): Promise<CachedToken> {
    const realm = this.#realm(challenge)
    const scopes = [...wanted]
    const extra = challenge.params.scope
    if (extra)
      for (const s of extra.split(' '))
        if (s && !covers(scopes, [s])) scopes.push(s)
    const service = challenge.params.service
    let res: HttpResponse
    try {
      if (creds && 'identityToken' in creds) {
        res = await this.#postRefresh(
          realm,
          service,
          scopes,
          creds.identityToken
        )
        // Registries without the OAuth2 endpoint (ggcr falls back the same way).
        if (res.status === 404 || res.status === 405)
          res = await this.#getToken(realm, service, scopes, undefined)
      } else {
        res = await this.#getToken(realm, service, scopes, creds)
      }
    } catch (e) {
      throw new RegistryError(
        'REGISTRY_UNREACHABLE',
        `cannot reach the token service of ${this.#o.registry} (${redactUrl(realm)})`,
        {
          cause: e
        }
      )
    }
    if (res.status === 401 || res.status === 403) {
      const repo = /^repository:([^:]+):/.exec(wanted[0] ?? '')?.[1] ?? ''
      const push = wanted.some(s => s.includes(':push'))
      throw new RegistryError(
        'REGISTRY_UNAUTHORIZED',
        `the token service of ${this.#o.registry} refused ${creds ? 'the credentials' : 'anonymous access'} for ${scopes.join(' ')} (HTTP ${res.status})`,
        {
          status: res.status,
          cause: HttpError.fromResponse({ method: 'GET', url: realm }, res),
          remedy: permissionRemedy(
            this.#o.registry,
            repo,
            push ? 'push' : 'pull',
            !!creds
          )
        }
      )
    }
    if (res.status !== 200) {
      throw new RegistryError(
        'REGISTRY_ERROR',
        `the token service of ${this.#o.registry} answered HTTP ${res.status}`,
        {
          status: res.status,
          cause: HttpError.fromResponse({ method: 'GET', url: realm }, res)
        }
      )
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown }
    try {
      body = res.json()
    } catch (e) {
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `the token service of ${this.#o.registry} returned invalid JSON`,
        { cause: e }
      )
    }
    const value =
      typeof body.token === 'string' && body.token
        ? body.token
        : body.access_token
    if (typeof value !== 'string' || !value) {
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `the token service of ${this.#o.registry} returned no token`
      )
    }
    // A registry token is as good as the password for its lifetime.
    registerSecret(value)
    const seconds =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in
        : DEFAULT_TOKEN_SECONDS
    const expiresAt =
      Date.now() + Math.max(seconds * 1000 - EXPIRY_MARGIN_MS, 1000)
    this.#logger.debug(
      `registry token for ${scopes.join(' ')} valid ${seconds} s`
    )
    return { scopes, value, expiresAt }
  }

  #realm(challenge: Challenge): URL {
    let realm: URL
    try {
      realm = new URL(challenge.params.realm ?? '')
    } catch {
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `registry ${this.#o.registry} sent a bearer challenge without a valid realm URL`
      )
    }
    const secure =
      realm.protocol === 'https:' ||
      (realm.protocol === 'http:' &&
        (isLoopbackRegistry(realm.host) || this.#o.allowHttpRealm === true))
    if (!secure) {
      throw new RegistryError(
        'REGISTRY_INSECURE_REALM',
        `registry ${this.#o.registry} points its token service at ${redactUrl(realm)}, which is not https; refusing to send credentials there`
      )
    }
    return realm
  }

  #getToken(
    realm: URL,
    service: string | undefined,
    scopes: string[],
    creds: Credentials | undefined
  ): Promise<HttpResponse> {
    const url = new URL(realm)
    if (service) url.searchParams.set('service', service)
    for (const s of scopes) url.searchParams.append('scope', s)
    const headers: Record<string, string> = {}
    if (creds && 'password' in creds)
      headers.authorization = basic(creds.username, creds.password)
    return this.#o.http.request({
      method: 'GET',
      url,
      headers,
      complete: isJsonBody,
      maxBodyBytes: 1024 * 1024
    })
  }

  #postRefresh(
    realm: URL,
    service: string | undefined,
    scopes: string[],
    refreshToken: string
  ): Promise<HttpResponse> {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: 'sigil'
    })
    if (service) form.set('service', service)
    form.set('scope', scopes.join(' '))
    return this.#o.http.request({
      method: 'POST',
      url: realm,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      retrySafe: true,
      complete: isJsonBody,
      maxBodyBytes: 1024 * 1024
    })
  }
}

/** Bearer wins over Basic when a registry offers both. */
function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return (
    challenges.find(c => c.scheme === 'bearer') ??
    challenges.find(c => c.scheme === 'basic')
  )
}

function basic(username: string, password: string): string {
  return `Basic ${toBase64(utf8(`${username}:${password}`))}`
}

/** Does a token granted for `have` also serve `want`? (`push,pull` ⊇ `pull`) */
export function covers(have: string[], want: string[]): boolean {
  const granted = new Map<string, Set<string>>()
  for (const s of have) {
    const i = s.lastIndexOf(':')
    const key = s.slice(0, i)
    const set = granted.get(key) ?? new Set<string>()
    for (const a of s.slice(i + 1).split(',')) set.add(a)
    granted.set(key, set)
  }
  return want.every(s => {
    const i = s.lastIndexOf(':')
    const set = granted.get(s.slice(0, i))
    return (
      !!set &&
      s
        .slice(i + 1)
        .split(',')
        .every(a => set.has(a) || set.has('*'))
    )
  })
}
