// Azure Key Vault keys, as cosign uses them (sigstore/sigstore
// pkg/signature/kms/azure): GET /keys/{name}[/{version}] for the JWK public
// key, POST …/sign with ES256/ES384/ES512 (RS256 for RSA) over the digest —
// Key Vault answers r‖s, converted here to DER as cosign does —, and
// POST /keys/{name}/create (EC P-256, sign/verify) for generate-key-pair.
// Tokens: Microsoft Entra client credentials at
// {AZURE_AUTHORITY_HOST}/{AZURE_TENANT_ID}/oauth2/v2.0/token with
// AZURE_CLIENT_SECRET, or a federated token (AZURE_FEDERATED_TOKEN_FILE) as
// client assertion, scope https://vault.azure.net/.default.
// https://learn.microsoft.com/rest/api/keyvault/keys/sign/sign
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
import { createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { HttpResponse } from '../http/index.ts'
import {
  concatBytes,
  fromBase64,
  registerSecret,
  toBase64Url,
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

type AzureRef = Extract<KmsReference, { provider: 'azurekms' }>
const API = 'api-version=7.4'

export const AZURE_CREDENTIALS_REMEDY = [
  'Give the job an Entra ID identity with the Key Vault Crypto User role on the key:',
  '  GitHub: permissions: id-token: write, and AZURE_CLIENT_ID / AZURE_TENANT_ID (a federated credential',
  '          for the repository); Sigil requests the job token for api://AzureADTokenExchange;',
  '  GitLab: id_tokens: { AZURE_ID_TOKEN: { aud: api://AzureADTokenExchange } } written to',
  '          AZURE_FEDERATED_TOKEN_FILE, with AZURE_CLIENT_ID and AZURE_TENANT_ID;',
  '  or AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET.'
].join('\n')

/** Minimal DER INTEGER of big-endian unsigned bytes. */
function derInt(b: Uint8Array): Uint8Array {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  const v = b.subarray(i)
  const pad = (v[0] ?? 0) & 0x80 ? Uint8Array.of(0) : new Uint8Array(0)
  return concatBytes(Uint8Array.of(0x02, pad.length + v.length), pad, v)
}
function derLength(n: number): Uint8Array {
  return n < 0x80 ? Uint8Array.of(n) : Uint8Array.of(0x81, n)
}
/** r‖s (JWS) → DER ECDSA-Sig-Value. */
export function rawToDer(sig: Uint8Array): Uint8Array {
  const half = sig.length / 2
  const body = concatBytes(
    derInt(sig.subarray(0, half)),
    derInt(sig.subarray(half))
  )
  return concatBytes(Uint8Array.of(0x30), derLength(body.length), body)
}

class AzureKey implements KmsKeyClient {
  readonly #ref: AzureRef
  readonly #ctx: KmsContext
  readonly #base: string
  #token: Promise<string> | undefined
  #jws: string | undefined

  constructor(ref: AzureRef, ctx: KmsContext) {
    this.#ref = ref
    this.#ctx = ctx
    this.#base = serviceUrl(
      `https://${ref.vault}/`,
      'the azurekms:// vault'
    ).href
  }

  async #getToken(): Promise<string> {
    const env = this.#ctx.env
    const tenant = env.AZURE_TENANT_ID?.trim()
    const client = env.AZURE_CLIENT_ID?.trim()
    if (!tenant || !client)
      throw new KmsError(
        'KMS_CREDENTIALS_MISSING',
        `${this.#ref.uri}: AZURE_TENANT_ID and AZURE_CLIENT_ID must be set`,
        { remedy: AZURE_CREDENTIALS_REMEDY }
      )
    const form: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: client,
      scope: 'https://vault.azure.net/.default'
    }
    const secret = env.AZURE_CLIENT_SECRET?.trim()
    const file = env.AZURE_FEDERATED_TOKEN_FILE?.trim()
    if (secret) {
      registerSecret(secret)
      form.client_secret = secret
    } else {
      let assertion: string | undefined
      if (file) {
        try {
          assertion = (await readFile(file, 'utf8')).trim()
        } catch (e) {
          throw new KmsError(
            'KMS_CREDENTIALS_MISSING',
            `AZURE_FEDERATED_TOKEN_FILE names ${JSON.stringify(file)}, which cannot be read`,
            { cause: e, remedy: AZURE_CREDENTIALS_REMEDY }
          )
        }
      } else if (this.#ctx.jobToken) {
        assertion = await this.#ctx.jobToken('api://AzureADTokenExchange')
      }
      if (!assertion)
        throw new KmsError(
          'KMS_CREDENTIALS_MISSING',
          `${this.#ref.uri}: no Azure credential (AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE)`,
          { remedy: AZURE_CREDENTIALS_REMEDY }
        )
      registerSecret(assertion)
      form.client_assertion_type =
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
      form.client_assertion = assertion
    }
    const authority = (
      env.AZURE_AUTHORITY_HOST?.trim() || 'https://login.microsoftonline.com'
    ).replace(/\/+$/, '')
    const res = await kmsFetch(
      this.#ctx,
      {
        what: `getting a Key Vault token for client ${client}`,
        method: 'POST',
        url: serviceUrl(
          `${authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`,
          'AZURE_AUTHORITY_HOST'
        ).href,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        retrySafe: true
      },
      r => {
        let detail = bodyText(r)
        try {
          const j = r.json<Record<string, unknown>>()
          detail = `${String(j.error ?? '')}: ${String(j.error_description ?? '').split('\n')[0] ?? ''}`
        } catch {
          // not JSON
        }
        if (r.status === 429) return { code: 'KMS_THROTTLED', detail }
        return {
          code: 'KMS_AUTH_FAILED',
          detail,
          remedy: `Entra ID refused the credentials of client ${client}: for federated tokens the app's federated credential must match the token's issuer, subject and audience (api://AzureADTokenExchange).`
        }
      }
    )
    const token = jsonOf(res, 'Entra ID token').access_token
    if (typeof token !== 'string' || !token)
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        'the Entra ID token endpoint returned no access_token'
      )
    registerSecret(token)
    return token
  }

  #classify(res: HttpResponse, operation: string): KmsFailure {
    let code = ''
    let inner = ''
    let message = bodyText(res)
    try {
      const e = res.json<{
        error?: {
          code?: unknown
          message?: unknown
          innererror?: { code?: unknown }
        }
      }>().error
      code = String(e?.code ?? '')
      inner = String(e?.innererror?.code ?? '')
      message = String(e?.message ?? '')
    } catch {
      // not JSON
    }
    const detail = `${code}${inner ? `/${inner}` : ''}${message ? `: ${message}` : ''}`
    if (res.status === 401)
      return {
        code: 'KMS_AUTH_FAILED',
        detail,
        remedy: AZURE_CREDENTIALS_REMEDY
      }
    if (res.status === 403 && /disabled/i.test(message + inner))
      return {
        code: 'KMS_KEY_DISABLED',
        detail,
        remedy:
          'Enable the key (az keyvault key set-attributes --enabled true) or use another key.'
      }
    if (res.status === 403)
      return {
        code: 'KMS_PERMISSION_DENIED',
        detail,
        remedy: `Allow the key operation "${operation}" for the job's identity: assign it the "Key Vault Crypto User" role on the key (RBAC vaults: Microsoft.KeyVault/vaults/keys/${operation === 'sign' ? 'sign' : 'read'}/action), or add "${operation}" to its access policy's key permissions.`
      }
    if (res.status === 404)
      return {
        code: 'KMS_KEY_NOT_FOUND',
        detail,
        remedy: `Check the vault and key name of ${this.#ref.uri}, or create it: sigil generate-key-pair --kms ${this.#ref.uri}`
      }
    if (res.status === 429)
      return {
        code: 'KMS_THROTTLED',
        detail,
        remedy:
          'Key Vault kept throttling (429) for the whole retry budget: raise the retry budget (input "retry-budget", --retry-budget).'
      }
    return { code: 'KMS_REQUEST_FAILED', detail }
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    body: object | undefined,
    what: string,
    operation: string
  ): Promise<Record<string, unknown>> {
    this.#token ??= this.#getToken()
    const token = await this.#token
    const res = await kmsFetch(
      this.#ctx,
      {
        what,
        method,
        url: `${this.#base}${path}${path.includes('?') ? '&' : '?'}${API}`,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {})
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        retrySafe: true
      },
      r => this.#classify(r, operation)
    )
    return jsonOf(res, what)
  }

  #keyPath(): string {
    return `keys/${encodeURIComponent(this.#ref.keyName)}${this.#ref.version ? `/${this.#ref.version}` : ''}`
  }

  #spkiOf(out: Record<string, unknown>): Uint8Array {
    const jwk = out.key as Record<string, unknown> | undefined
    const attributes = out.attributes as { enabled?: unknown } | undefined
    if (attributes?.enabled === false)
      throw new KmsError('KMS_KEY_DISABLED', `${this.#ref.uri} is disabled`, {
        remedy: 'Enable the key, or use another key.'
      })
    if (
      !jwk ||
      (jwk.kty !== 'EC' &&
        jwk.kty !== 'EC-HSM' &&
        jwk.kty !== 'RSA' &&
        jwk.kty !== 'RSA-HSM')
    )
      throw new KmsError(
        'KMS_KEY_UNSUPPORTED',
        `${this.#ref.uri} is not an EC or RSA key`
      )
    const kty = String(jwk.kty).replace('-HSM', '')
    const ec = kty === 'EC'
    this.#jws = ec
      ? (
          { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<
            string,
            string
          >
        )[String(jwk.crv)]
      : 'RS256'
    try {
      const key = createPublicKey({
        key: (ec
          ? { kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
          : { kty, n: jwk.n, e: jwk.e }) as never,
        format: 'jwk'
      })
      this.#kid = typeof jwk.kid === 'string' ? jwk.kid : undefined
      return new Uint8Array(key.export({ format: 'der', type: 'spki' }))
    } catch (e) {
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `the JWK Key Vault returned for ${this.#ref.uri} is not a usable public key`,
        { cause: e }
      )
    }
  }
  #kid: string | undefined

  async publicKey(): Promise<Uint8Array> {
    const out = await this.#call(
      'GET',
      this.#keyPath(),
      undefined,
      `reading the public key of ${this.#ref.uri}`,
      'get'
    )
    return this.#spkiOf(out)
  }

  async signDigest(
    digest: Uint8Array,
    hash: HashAlgorithm
  ): Promise<Uint8Array> {
    const alg =
      this.#jws ?? { sha256: 'ES256', sha384: 'ES384', sha512: 'ES512' }[hash]
    // Sign with the version whose public key was read (kid names it).
    const versionPath = this.#kid
      ? new URL(this.#kid).pathname.replace(/^\//, '')
      : this.#keyPath()
    const out = await this.#call(
      'POST',
      `${versionPath}/sign`,
      { alg, value: toBase64Url(digest) },
      `signing with ${this.#ref.uri}`,
      'sign'
    )
    if (typeof out.value !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `Key Vault's sign answer for ${this.#ref.uri} has no value`
      )
    const raw = fromBase64(out.value.replace(/-/g, '+').replace(/_/g, '/'))
    return alg.startsWith('ES') ? rawToDer(raw) : raw
  }

  async create(): Promise<Uint8Array> {
    try {
      return await this.publicKey()
    } catch (e) {
      if (!(e instanceof KmsError) || e.code !== 'KMS_KEY_NOT_FOUND') throw e
    }
    const out = await this.#call(
      'POST',
      `keys/${encodeURIComponent(this.#ref.keyName)}/create`,
      { kty: 'EC', crv: 'P-256', key_ops: ['sign', 'verify'] },
      `creating ${this.#ref.uri}`,
      'create'
    )
    return this.#spkiOf(out)
  }
}

export async function openKey(
  ref: KmsReference,
  ctx: KmsContext
): Promise<KmsKeyClient> {
  if (ref.provider !== 'azurekms') throw new TypeError('not an azurekms key')
  return Promise.resolve(new AzureKey(ref, ctx))
}
