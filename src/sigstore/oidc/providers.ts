// Identity providers: where the OIDC token for Fulcio comes from (a literal,
// an environment variable such as GitLab's SIGSTORE_ID_TOKEN, or GitHub
// Actions' token endpoint). They don't know about Fulcio; adapters pass the
// platform-specific remedy (GitHub `id-token: write`, GitLab `id_tokens:`).
// Spec: cosign-spec.md §6.1-§6.3.

import {
  attemptsNote,
  isJsonBody,
  tlsFailure,
  type HttpClient
} from '../../http/index.ts'
import {
  nullLogger,
  redactUrl,
  registerSecret,
  type Logger
} from '../../util/index.ts'
import {
  SigstoreServiceError,
  isHttpLayerError,
  serviceMessage
} from '../errors.ts'
import { checkTokenClaims, decodeJwtClaims } from './jwt.ts'

/** The role: hands out an OIDC identity token (audience `sigstore`). */
export interface IdentityProvider {
  getToken(): Promise<string>
}

export const SIGSTORE_AUDIENCE = 'sigstore'

/** Checks the shape and registers the token as a secret before returning. */
function accept(token: string): string {
  const t = token.trim()
  registerSecret(t)
  decodeJwtClaims(t)
  return t
}

/** A token the caller already has (e.g. from `--identity-token`). */
export class StaticIdentityProvider implements IdentityProvider {
  readonly #token: string

  /**
   * Checks the token at once (exp, nbf, aud: see checkTokenClaims), so a
   * token that cannot work fails before any network call of the run.
   */
  constructor(token: string, options: { audience?: string } = {}) {
    registerSecret(token.trim())
    checkTokenClaims(decodeJwtClaims(token.trim()), options)
    this.#token = token
  }

  getToken(): Promise<string> {
    return Promise.resolve().then(() => accept(this.#token))
  }
}

export interface EnvIdentityProviderOptions {
  env?: Record<string, string | undefined>
  /** What to do when the variable is unset; platform-specific. */
  remedy?: string
}

/** Reads the token from an environment variable (cosign's envvar provider). */
export class EnvIdentityProvider implements IdentityProvider {
  readonly varName: string
  readonly #env: Record<string, string | undefined>
  readonly #remedy: string

  constructor(
    varName = 'SIGSTORE_ID_TOKEN',
    options: EnvIdentityProviderOptions = {}
  ) {
    this.varName = varName
    this.#env = options.env ?? process.env
    this.#remedy =
      options.remedy ??
      `Set ${varName} to an OIDC identity token with audience "sigstore".`
    // A token already in the environment is checked now, before any network
    // call of the run (exp, nbf, aud).
    const token = this.#env[varName]?.trim()
    if (token) {
      registerSecret(token)
      checkTokenClaims(decodeJwtClaims(token))
    }
  }

  async getToken(): Promise<string> {
    const token = this.#env[this.varName]
    if (token === undefined || token.trim() === '') {
      throw new SigstoreServiceError(
        'IDENTITY_TOKEN_UNAVAILABLE',
        `No OIDC identity token: the environment variable ${this.varName} is not set`,
        { remedy: this.#remedy }
      )
    }
    return accept(token)
  }
}

export interface GitHubActionsIdentityProviderOptions {
  http: Pick<HttpClient, 'request'>
  env?: Record<string, string | undefined>
  audience?: string
  remedy?: string
  logger?: Logger
}

const GITHUB_REMEDY =
  'Grant the job permission to request an OIDC token:\n' +
  'permissions:\n  id-token: write'

/**
 * GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore with
 * `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` → `{"value": JWT}`.
 */
export class GitHubActionsIdentityProvider implements IdentityProvider {
  readonly #http: Pick<HttpClient, 'request'>
  readonly #env: Record<string, string | undefined>
  readonly #audience: string
  readonly #remedy: string
  readonly #logger: Logger

  constructor(options: GitHubActionsIdentityProviderOptions) {
    this.#http = options.http
    this.#env = options.env ?? process.env
    this.#audience = options.audience ?? SIGSTORE_AUDIENCE
    this.#remedy = options.remedy ?? GITHUB_REMEDY
    this.#logger = options.logger ?? nullLogger
  }

  async getToken(): Promise<string> {
    const requestUrl = this.#env['ACTIONS_ID_TOKEN_REQUEST_URL']
    const requestToken = this.#env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']
    if (!requestUrl || !requestToken) {
      throw this.#unavailable(
        'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set'
      )
    }
    registerSecret(requestToken)
    let url: URL
    try {
      url = new URL(requestUrl)
    } catch {
      throw this.#unavailable('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL')
    }
    url.searchParams.set('audience', this.#audience)
    this.#logger.debug(`Requesting an OIDC token from ${redactUrl(url)}`)

    let res
    try {
      res = await this.#http.request({
        method: 'GET',
        url: url.toString(),
        headers: {
          authorization: `Bearer ${requestToken}`,
          accept: 'application/json'
        },
        retrySafe: true,
        complete: isJsonBody
      })
    } catch (e) {
      if (!isHttpLayerError(e)) throw e
      const tls = tlsFailure(e)
      throw this.#unavailable(
        tls
          ? `GitHub's OIDC token endpoint ${redactUrl(url.origin)} could not be used: its TLS certificate did not verify (${tls.code})`
          : `GitHub's OIDC token endpoint ${redactUrl(url.origin)} did not answer (${e.message})`,
        e,
        tls?.remedy ??
          e.remedy ??
          "Check network access to the runner's token service (proxy, NO_PROXY) and re-run the job."
      )
    }
    if (res.status === 401 || res.status === 403) {
      // The variables are there, so the job has the permission: the request
      // token itself was refused.
      throw this.#unavailable(
        `GitHub's OIDC token endpoint refused this job's request token (HTTP ${res.status}: ${serviceMessage(res.body)})`,
        undefined,
        'The job does have the id-token permission (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are set), but the endpoint refused ACTIONS_ID_TOKEN_REQUEST_TOKEN. It is valid only inside the job that received it, while that job runs: do not pass it to another job or workflow, and re-run the job.'
      )
    }
    if (res.status !== 200) {
      throw this.#unavailable(
        `GitHub's OIDC token endpoint answered HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
        undefined,
        "GitHub's token service failed: re-run the job (https://www.githubstatus.com lists outages)."
      )
    }
    let value: unknown
    try {
      value = res.json<{ value?: unknown } | null>()?.value
    } catch {
      value = undefined
    }
    if (typeof value !== 'string' || value === '') {
      throw this.#unavailable(
        `GitHub's OIDC token endpoint answered without a token ("value")`
      )
    }
    return accept(value)
  }

  /** `remedy` defaults to the one for a job without the id-token permission. */
  #unavailable(
    why: string,
    cause?: unknown,
    remedy: string = this.#remedy
  ): SigstoreServiceError {
    return new SigstoreServiceError(
      'IDENTITY_TOKEN_UNAVAILABLE',
      `No OIDC identity token from GitHub Actions: ${why}`,
      { remedy, cause }
    )
  }
}
