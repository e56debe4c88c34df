// HashiCorp Vault (and OpenBao) transit keys, as cosign uses them
// (sigstore/sigstore pkg/signature/kms/hashivault): the digest is signed by
// POST /v1/{mount}/sign/{key}/sha2-256 with prehashed=true, the signature
// comes back as `vault:vN:base64(DER)`; the public key is the latest
// version's PEM from GET /v1/{mount}/keys/{key}.
// Auth: VAULT_TOKEN, or a JWT login (the CI job's OIDC token) at
// auth/{VAULT_AUTH_PATH}/login with role VAULT_AUTH_ROLE.
// API: https://developer.hashicorp.com/vault/api-docs/secret/transit
//      https://developer.hashicorp.com/vault/api-docs/auth/jwt#jwt-login
import type { HttpResponse } from '../http/index.ts'
import { publicKeyFromPem } from '../crypto/index.ts'
import {
  AppError,
  fromBase64,
  registerSecret,
  toBase64,
  type HashAlgorithm
} from '../util/index.ts'
import { KmsError } from './errors.ts'
import {
  bodyText,
  jsonOf,
  kmsFetch,
  serviceUrl,
  type KmsFailure
} from './http.ts'
import type { KmsContext, KmsKeyClient } from './types.ts'
import type { KmsReference } from './uri.ts'

const HASH_PATH: Record<HashAlgorithm, string> = {
  sha256: 'sha2-256',
  sha384: 'sha2-384',
  sha512: 'sha2-512'
}

/** Vault's `{"errors": [...]}`. */
function vaultErrors(res: HttpResponse): string {
  try {
    const v = res.json<{ errors?: unknown }>()
    if (Array.isArray(v.errors))
      return v.errors.filter(e => typeof e === 'string').join('; ')
  } catch {
    // not JSON
  }
  return bodyText(res)
}

interface VaultConfig {
  addr: URL
  mount: string
  namespace?: string
}

function readConfig(env: NodeJS.ProcessEnv): VaultConfig {
  const addr = env.VAULT_ADDR?.trim() || env.BAO_ADDR?.trim()
  if (!addr)
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      'hashivault:// keys need the Vault address, and VAULT_ADDR is not set',
      { remedy: 'Set VAULT_ADDR (e.g. https://vault.example.com:8200).' }
    )
  const namespace = env.VAULT_NAMESPACE?.trim() || env.BAO_NAMESPACE?.trim()
  const mount = (env.TRANSIT_SECRET_ENGINE_PATH?.trim() || 'transit').replace(
    /^\/+|\/+$/g,
    ''
  )
  return {
    addr: serviceUrl(addr, VAULT_ADDR_NAME),
    mount,
    ...(namespace ? { namespace } : {})
  }
}
const VAULT_ADDR_NAME = 'VAULT_ADDR'

class VaultKey implements KmsKeyClient {
  readonly #ref: Extract<KmsReference, { provider: 'hashivault' }>
  readonly #ctx: KmsContext
  readonly #config: VaultConfig
  #token: Promise<string> | undefined

  constructor(
    ref: Extract<KmsReference, { provider: 'hashivault' }>,
    ctx: KmsContext
  ) {
    this.#ref = ref
    this.#ctx = ctx
    this.#config = readConfig(ctx.env)
  }

  #url(path: string): string {
    return new URL(`v1/${path}`, this.#config.addr.href.replace(/\/?$/, '/'))
      .href
  }

  #headers(token?: string): Record<string, string> {
    return {
      'content-type': 'application/json',
      ...(token ? { 'x-vault-token': token } : {}),
      ...(this.#config.namespace
        ? { 'x-vault-namespace': this.#config.namespace }
        : {})
    }
  }

  #policyRemedy(
    capability: 'read' | 'update' | 'create',
    path: string
  ): string {
    return [
      `Grant the token's policy ${capability} on the transit path:`,
      `  path "${path}" {`,
      `    capabilities = ["${capability}"]`,
      '  }',
      `(the mount is TRANSIT_SECRET_ENGINE_PATH, now "${this.#config.mount}").`
    ].join('\n')
  }

  #classify(
    res: HttpResponse,
    policy: { capability: 'read' | 'update' | 'create'; path: string }
  ): KmsFailure {
    const detail = vaultErrors(res)
    if (res.status === 403 && /invalid token|token.*expired/i.test(detail))
      return {
        code: 'KMS_AUTH_FAILED',
        detail,
        remedy:
          'The Vault token is invalid or expired: set a fresh VAULT_TOKEN, or log in with the job token (VAULT_AUTH_ROLE).'
      }
    if (res.status === 403)
      return {
        code: 'KMS_PERMISSION_DENIED',
        detail,
        remedy: this.#policyRemedy(policy.capability, policy.path)
      }
    if (res.status === 404 || /not found|no such key/i.test(detail))
      return {
        code: 'KMS_KEY_NOT_FOUND',
        detail,
        remedy: `Check the key name and TRANSIT_SECRET_ENGINE_PATH, or create the key: sigil generate-key-pair --kms ${this.#ref.uri}`
      }
    if (res.status === 400 && /version/i.test(detail))
      return {
        code: 'KMS_KEY_DISABLED',
        detail,
        remedy:
          'The key version is not available for signing (trimmed, or below min_encryption_version): rotate the key or raise its available versions.'
      }
    if (res.status === 429)
      return {
        code: 'KMS_THROTTLED',
        detail,
        remedy:
          'Vault kept answering 429 (a rate limit quota) for the whole retry budget: raise the quota for this path, or the retry budget (input "retry-budget", --retry-budget).'
      }
    return { code: 'KMS_REQUEST_FAILED', detail }
  }

  /** VAULT_TOKEN, or one JWT login per run. */
  #getToken(): Promise<string> {
    this.#token ??= this.#login()
    return this.#token
  }

  async #login(): Promise<string> {
    const env = this.#ctx.env
    const direct = env.VAULT_TOKEN?.trim() || env.BAO_TOKEN?.trim()
    if (direct) {
      registerSecret(direct)
      return direct
    }
    const role = env.VAULT_AUTH_ROLE?.trim()
    const path = (env.VAULT_AUTH_PATH?.trim() || 'jwt').replace(
      /^\/+|\/+$/g,
      ''
    )
    if (!role)
      throw new KmsError(
        'KMS_CREDENTIALS_MISSING',
        `${this.#ref.uri}: no Vault token: VAULT_TOKEN is not set, and no JWT login is configured (VAULT_AUTH_ROLE)`,
        {
          remedy: [
            'Set VAULT_TOKEN, or log in with the job\'s OIDC token: VAULT_AUTH_ROLE=<role> (and VAULT_AUTH_PATH if the JWT auth method is not mounted at "jwt").',
            'GitLab: id_tokens: { VAULT_ID_TOKEN: { aud: <the role\'s bound_audiences> } }. GitHub: permissions: id-token: write (audience VAULT_JWT_AUDIENCE, default "vault").'
          ].join('\n')
        }
      )
    let jwt = env.VAULT_ID_TOKEN?.trim()
    if (!jwt && this.#ctx.jobToken) {
      try {
        jwt = await this.#ctx.jobToken(
          env.VAULT_JWT_AUDIENCE?.trim() || 'vault'
        )
      } catch (e) {
        if (!(e instanceof AppError)) throw e
        throw new KmsError(
          'KMS_CREDENTIALS_MISSING',
          `${this.#ref.uri}: the job's OIDC token for the Vault login could not be obtained: ${e.message}`,
          { cause: e, ...(e.remedy ? { remedy: e.remedy } : {}) }
        )
      }
    }
    if (!jwt)
      throw new KmsError(
        'KMS_CREDENTIALS_MISSING',
        `${this.#ref.uri}: VAULT_AUTH_ROLE asks for a JWT login, but there is no token to log in with (VAULT_ID_TOKEN is not set and this job cannot request one)`,
        {
          remedy:
            'GitLab: id_tokens: { VAULT_ID_TOKEN: { aud: <bound audience> } }. GitHub: permissions: id-token: write.'
        }
      )
    registerSecret(jwt)
    const res = await kmsFetch(
      this.#ctx,
      {
        what: `logging in to Vault (auth/${path}, role "${role}")`,
        method: 'POST',
        url: this.#url(`auth/${path}/login`),
        headers: this.#headers(),
        body: JSON.stringify({ role, jwt }),
        retrySafe: true
      },
      res => {
        const detail = vaultErrors(res)
        if (res.status === 400 || res.status === 403 || res.status === 401)
          return {
            code: 'KMS_AUTH_FAILED',
            detail,
            remedy: `Vault refused the job token for role "${role}" at auth/${path}: check the role's bound_audiences (the token's aud), bound_claims and user_claim, and that the auth method's jwks_url / oidc_discovery_url trusts this CI's issuer.`
          }
        return this.#classify(res, {
          capability: 'update',
          path: `auth/${path}/login`
        })
      }
    )
    const auth = jsonOf(res, 'Vault login').auth as
      { client_token?: unknown } | undefined
    const token = auth?.client_token
    if (typeof token !== 'string' || !token)
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `Vault login at auth/${path} returned no client_token`
      )
    registerSecret(token)
    this.#ctx.logger.debug(
      `logged in to Vault at auth/${path} as role "${role}"`
    )
    return token
  }

  #keyPath(): string {
    return `${this.#config.mount}/keys/${this.#ref.keyName}`
  }

  async publicKey(): Promise<Uint8Array> {
    const token = await this.#getToken()
    const res = await kmsFetch(
      this.#ctx,
      {
        what: `reading the public key of ${this.#ref.uri}`,
        method: 'GET',
        url: this.#url(this.#keyPath()),
        headers: this.#headers(token)
      },
      r => this.#classify(r, { capability: 'read', path: this.#keyPath() })
    )
    const data = jsonOf(res, `reading ${this.#ref.uri}`).data as
      | {
          keys?: Record<string, { public_key?: unknown; name?: unknown }>
          latest_version?: unknown
          type?: unknown
        }
      | undefined
    const latest = data?.latest_version
    const version =
      typeof latest === 'number' || typeof latest === 'string'
        ? data?.keys?.[String(latest)]
        : undefined
    if (
      typeof data?.type === 'string' &&
      !/^(ecdsa-p(256|384|521)|rsa-(2048|3072|4096))$/.test(data.type)
    )
      throw new KmsError(
        'KMS_KEY_UNSUPPORTED',
        `${this.#ref.uri} is a Vault "${data.type}" key; Sigil signs with ecdsa-p256/p384/p521 and rsa-2048/3072/4096 transit keys`,
        {
          remedy: `Create an ecdsa-p256 key: sigil generate-key-pair --kms hashivault://NEW_KEY`
        }
      )
    if (typeof version?.public_key !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `Vault's answer for ${this.#ref.uri} has no public key for its latest version`
      )
    try {
      return publicKeyFromPem(version.public_key)
    } catch (e) {
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `the public key Vault returned for ${this.#ref.uri} is not a PEM public key`,
        { cause: e }
      )
    }
  }

  async signDigest(
    digest: Uint8Array,
    hash: HashAlgorithm
  ): Promise<Uint8Array> {
    const token = await this.#getToken()
    const path = `${this.#config.mount}/sign/${this.#ref.keyName}`
    const res = await kmsFetch(
      this.#ctx,
      {
        what: `signing with ${this.#ref.uri}`,
        method: 'POST',
        url: this.#url(`${path}/${HASH_PATH[hash]}`),
        headers: this.#headers(token),
        body: JSON.stringify({
          input: toBase64(digest),
          prehashed: true,
          key_version: 0,
          signature_algorithm: 'pkcs1v15',
          marshaling_algorithm: 'asn1'
        }),
        // A repeated signature request signs the same digest again.
        retrySafe: true
      },
      r => this.#classify(r, { capability: 'update', path: `${path}/*` })
    )
    const data = jsonOf(res, `signing with ${this.#ref.uri}`).data as
      { signature?: unknown } | undefined
    const sig = data?.signature
    const m = typeof sig === 'string' ? /^vault:v\d+:(.+)$/.exec(sig) : null
    if (!m?.[1])
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `Vault's signature for ${this.#ref.uri} is not in the vault:vN:BASE64 form`
      )
    return fromBase64(m[1])
  }

  async create(): Promise<Uint8Array> {
    const token = await this.#getToken()
    await kmsFetch(
      this.#ctx,
      {
        what: `creating ${this.#ref.uri}`,
        method: 'POST',
        url: this.#url(this.#keyPath()),
        headers: this.#headers(token),
        // Creating an existing key changes nothing (Vault ignores the type).
        body: JSON.stringify({ type: 'ecdsa-p256' }),
        retrySafe: true
      },
      r => this.#classify(r, { capability: 'create', path: this.#keyPath() })
    )
    return this.publicKey()
  }
}

export async function openKey(
  ref: KmsReference,
  ctx: KmsContext
): Promise<KmsKeyClient> {
  if (ref.provider !== 'hashivault') throw new TypeError('not a hashivault key')
  return Promise.resolve(new VaultKey(ref, ctx))
}
