// Google Cloud KMS asymmetric keys, as cosign uses them (sigstore/sigstore
// pkg/signature/kms/gcp): the key version is the one in the URI, else the
// first of ListCryptoKeyVersions(filter state=ENABLED, orderBy name desc);
// GetPublicKey for its PEM; AsymmetricSign with the digest and CRC32C
// checks both ways; generate-key-pair creates the key ring and an
// EC_SIGN_P256_SHA256 key. REST v1, bearer tokens from gcp-auth.ts; the
// endpoint can be overridden like gcloud's (CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS).
// https://cloud.google.com/kms/docs/reference/rest
import type { HttpResponse } from '../http/index.ts'
import { publicKeyFromPem } from '../crypto/index.ts'
import { fromBase64, toBase64, type HashAlgorithm } from '../util/index.ts'
import { KmsError } from './errors.ts'
import { googleAccessToken, GCP_CREDENTIALS_REMEDY } from './gcp-auth.ts'
import {
  bodyText,
  jsonOf,
  kmsFetch,
  serviceUrl,
  type KmsFailure
} from './http.ts'
import type { KmsContext, KmsKeyClient } from './types.ts'
import type { KmsReference } from './uri.ts'

type GcpRef = Extract<KmsReference, { provider: 'gcpkms' }>

// CRC32C (Castagnoli), as AsymmetricSign's integrity fields use.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const SUPPORTED = new Set([
  'EC_SIGN_P256_SHA256',
  'EC_SIGN_P384_SHA384',
  'RSA_SIGN_PKCS1_2048_SHA256',
  'RSA_SIGN_PKCS1_3072_SHA256',
  'RSA_SIGN_PKCS1_4096_SHA256'
])

function googleError(res: HttpResponse): { status: string; message: string } {
  try {
    const e = res.json<{ error?: { status?: unknown; message?: unknown } }>()
      .error
    return {
      status: String(e?.status ?? ''),
      message: String(e?.message ?? '')
    }
  } catch {
    return { status: '', message: bodyText(res) }
  }
}

class GcpKmsKey implements KmsKeyClient {
  readonly #ref: GcpRef
  readonly #ctx: KmsContext
  readonly #base: string
  #token: Promise<string> | undefined
  #version: Promise<string> | undefined

  constructor(ref: GcpRef, ctx: KmsContext) {
    this.#ref = ref
    this.#ctx = ctx
    const override = ctx.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS?.trim()
    this.#base = override
      ? serviceUrl(
          override,
          'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS'
        ).href.replace(/\/?$/, '/')
      : 'https://cloudkms.googleapis.com/'
  }

  #classify(res: HttpResponse, permission: string, role: string): KmsFailure {
    const { status, message } = googleError(res)
    const detail = `${status}${status && message ? ': ' : ''}${message}`
    if (res.status === 401 || status === 'UNAUTHENTICATED')
      return { code: 'KMS_AUTH_FAILED', detail, remedy: GCP_CREDENTIALS_REMEDY }
    if (res.status === 403 || status === 'PERMISSION_DENIED')
      return {
        code: 'KMS_PERMISSION_DENIED',
        detail,
        remedy: `Grant the job's principal ${permission} on the key, e.g. gcloud kms keys add-iam-policy-binding ${this.#ref.resource.replace(/\/cryptoKeyVersions\/.*/, '')} --member=PRINCIPAL --role=${role}`
      }
    if (res.status === 404 || status === 'NOT_FOUND')
      return {
        code: 'KMS_KEY_NOT_FOUND',
        detail,
        remedy: `Check the project, location, key ring, key and version of ${this.#ref.uri}, or create it: sigil generate-key-pair --kms ${this.#ref.uri}`
      }
    if (status === 'FAILED_PRECONDITION')
      return {
        code: 'KMS_KEY_DISABLED',
        detail,
        remedy:
          'The key version cannot sign in its state (disabled, destroyed or scheduled for destruction): enable or restore it, or name an enabled version.'
      }
    if (res.status === 429 || status === 'RESOURCE_EXHAUSTED')
      return {
        code: 'KMS_THROTTLED',
        detail,
        remedy:
          'Cloud KMS kept answering RESOURCE_EXHAUSTED for the whole retry budget: raise the retry budget (input "retry-budget", --retry-budget) or the project\'s Cloud KMS quota.'
      }
    return { code: 'KMS_REQUEST_FAILED', detail }
  }

  async #call(
    method: 'GET' | 'POST',
    path: string,
    body: object | undefined,
    what: string,
    perm: [string, string]
  ): Promise<Record<string, unknown>> {
    this.#token ??= googleAccessToken(this.#ctx)
    const token = await this.#token
    const res = await kmsFetch(
      this.#ctx,
      {
        what,
        method,
        url: `${this.#base}v1/${path}`,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {})
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        retrySafe: true
      },
      r => this.#classify(r, perm[0], perm[1])
    )
    return jsonOf(res, what)
  }

  /** The key version to use: the URI's, or the newest enabled one. */
  #keyVersion(): Promise<string> {
    this.#version ??= (async () => {
      if (this.#ref.resource.includes('/cryptoKeyVersions/')) {
        const v = await this.#call(
          'GET',
          this.#ref.resource,
          undefined,
          `reading ${this.#ref.uri}`,
          ['cloudkms.cryptoKeyVersions.get', 'roles/cloudkms.viewer']
        )
        this.#checkVersion(v)
        return this.#ref.resource
      }
      const q = new URLSearchParams({
        filter: 'state=ENABLED',
        orderBy: 'name desc'
      })
      const out = await this.#call(
        'GET',
        `${this.#ref.resource}/cryptoKeyVersions?${q.toString()}`,
        undefined,
        `listing the versions of ${this.#ref.uri}`,
        ['cloudkms.cryptoKeyVersions.list', 'roles/cloudkms.viewer']
      )
      const first = Array.isArray(out.cryptoKeyVersions)
        ? (out.cryptoKeyVersions[0] as Record<string, unknown> | undefined)
        : undefined
      if (typeof first?.name !== 'string')
        throw new KmsError(
          'KMS_KEY_DISABLED',
          `${this.#ref.uri} has no enabled key version`,
          {
            remedy:
              'Enable a version (gcloud kms keys versions enable) or create one.'
          }
        )
      this.#checkVersion(first)
      return first.name
    })()
    return this.#version
  }

  #checkVersion(v: Record<string, unknown>): void {
    if (typeof v.algorithm === 'string' && !SUPPORTED.has(v.algorithm))
      throw new KmsError(
        'KMS_KEY_UNSUPPORTED',
        `${this.#ref.uri} uses ${v.algorithm}; Sigil signs with EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384 and RSA_SIGN_PKCS1_*_SHA256`,
        {
          remedy: 'Create an EC_SIGN_P256_SHA256 key (generate-key-pair --kms).'
        }
      )
    if (typeof v.state === 'string' && v.state !== 'ENABLED')
      throw new KmsError(
        'KMS_KEY_DISABLED',
        `${String(v.name)} is ${v.state}`,
        {
          remedy: 'Enable the key version, or name an enabled one in the URI.'
        }
      )
  }

  async publicKey(): Promise<Uint8Array> {
    const version = await this.#keyVersion()
    const out = await this.#call(
      'GET',
      `${version}/publicKey`,
      undefined,
      `reading the public key of ${this.#ref.uri}`,
      [
        'cloudkms.cryptoKeyVersions.viewPublicKey',
        'roles/cloudkms.publicKeyViewer'
      ]
    )
    if (typeof out.pem !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `GetPublicKey for ${version} returned no pem`
      )
    if (
      out.pemCrc32c !== undefined &&
      Number(out.pemCrc32c) !== crc32c(new TextEncoder().encode(out.pem))
    )
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `the public key of ${version} was corrupted in transit (CRC32C mismatch)`
      )
    return publicKeyFromPem(out.pem)
  }

  async signDigest(
    digest: Uint8Array,
    hash: HashAlgorithm
  ): Promise<Uint8Array> {
    const version = await this.#keyVersion()
    const crc = crc32c(digest)
    const out = await this.#call(
      'POST',
      `${version}:asymmetricSign`,
      { digest: { [hash]: toBase64(digest) }, digestCrc32c: String(crc) },
      `signing with ${this.#ref.uri}`,
      ['cloudkms.cryptoKeyVersions.useToSign', 'roles/cloudkms.signer']
    )
    if (out.verifiedDigestCrc32c !== true)
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `AsymmetricSign with ${version}: the request was corrupted in transit (digest CRC32C not verified)`
      )
    if (typeof out.signature !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `AsymmetricSign with ${version} returned no signature`
      )
    const sig = fromBase64(out.signature)
    if (Number(out.signatureCrc32c) !== crc32c(sig))
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `AsymmetricSign with ${version}: the response was corrupted in transit (CRC32C mismatch)`
      )
    return sig
  }

  async create(): Promise<Uint8Array> {
    const m =
      /^(projects\/[^/]+\/locations\/[^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)$/.exec(
        this.#ref.resource
      )
    if (!m?.[1] || !m[2] || !m[3])
      throw new KmsError(
        'KMS_URI_INVALID',
        `generate-key-pair --kms creates a key, not a version: drop /cryptoKeyVersions/… from ${this.#ref.uri}`
      )
    try {
      return await this.publicKey()
    } catch (e) {
      if (!(e instanceof KmsError) || e.code !== 'KMS_KEY_NOT_FOUND') throw e
      this.#version = undefined
    }
    const perm: [string, string] = [
      'cloudkms.keyRings.create and cloudkms.cryptoKeys.create',
      'roles/cloudkms.admin'
    ]
    try {
      await this.#call(
        'POST',
        `${m[1]}/keyRings?keyRingId=${encodeURIComponent(m[2])}`,
        {},
        `creating the key ring ${m[2]}`,
        perm
      )
    } catch (e) {
      // ALREADY_EXISTS (409): the ring is there.
      if (
        !(e instanceof KmsError) ||
        !/ALREADY_EXISTS|HTTP 409/.test(e.message)
      )
        throw e
    }
    await this.#call(
      'POST',
      `${m[1]}/keyRings/${m[2]}/cryptoKeys?cryptoKeyId=${encodeURIComponent(m[3])}`,
      {
        purpose: 'ASYMMETRIC_SIGN',
        versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' }
      },
      `creating the key ${m[3]}`,
      perm
    )
    return this.publicKey()
  }
}

export async function openKey(
  ref: KmsReference,
  ctx: KmsContext
): Promise<KmsKeyClient> {
  if (ref.provider !== 'gcpkms') throw new TypeError('not a gcpkms key')
  return Promise.resolve(new GcpKmsKey(ref, ctx))
}
