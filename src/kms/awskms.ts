// AWS KMS asymmetric keys, as cosign uses them (sigstore/sigstore
// pkg/signature/kms/aws): GetPublicKey for the DER SubjectPublicKeyInfo,
// Sign with MessageType DIGEST, CreateKey ECC_NIST_P256 / SIGN_VERIFY plus
// CreateAlias for generate-key-pair. JSON 1.1 protocol (X-Amz-Target
// TrentService.*), SigV4-signed (sigv4.ts), credentials from the SDKs'
// chain (aws-credentials.ts).
// API: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
//      https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
import type { HttpResponse } from '../http/index.ts'
import { fromBase64, toBase64, type HashAlgorithm } from '../util/index.ts'
import {
  awsEndpoint,
  awsRegion,
  readAwsProfile,
  resolveAwsCredentials,
  AWS_CREDENTIALS_REMEDY
} from './aws-credentials.ts'
import { KmsError } from './errors.ts'
import { bodyText, jsonOf, kmsFetch, type KmsFailure } from './http.ts'
import { signRequest, type AwsCredentials } from './sigv4.ts'
import type { KmsContext, KmsKeyClient } from './types.ts'
import type { KmsReference } from './uri.ts'

type AwsRef = Extract<KmsReference, { provider: 'awskms' }>

const EC_ALGORITHMS: Record<HashAlgorithm, string> = {
  sha256: 'ECDSA_SHA_256',
  sha384: 'ECDSA_SHA_384',
  sha512: 'ECDSA_SHA_512'
}
const RSA_ALGORITHMS: Record<HashAlgorithm, string> = {
  sha256: 'RSASSA_PKCS1_V1_5_SHA_256',
  sha384: 'RSASSA_PKCS1_V1_5_SHA_384',
  sha512: 'RSASSA_PKCS1_V1_5_SHA_512'
}

/** `AccessDeniedException` from `{"__type": "com.amazonaws.kms#AccessDeniedException"}`. */
function awsError(res: HttpResponse): { type: string; message: string } {
  let type = res.headers['x-amzn-errortype']?.split(':')[0] ?? ''
  let message = ''
  try {
    const v = res.json<Record<string, unknown>>()
    if (typeof v.__type === 'string') type = v.__type
    const m = v.message ?? v.Message
    if (typeof m === 'string') message = m
  } catch {
    message = bodyText(res)
  }
  return { type: type.replace(/^.*#/, ''), message }
}

const isThrottled = (res: HttpResponse): boolean =>
  res.status === 429 || /Throttling/.test(awsError(res).type)

class AwsKmsKey implements KmsKeyClient {
  readonly #ref: AwsRef
  readonly #ctx: KmsContext
  #setup:
    Promise<{ url: URL; region: string; creds: AwsCredentials }> | undefined
  /** The key's ARN, once KMS has named it (for IAM remedies). */
  #arn: string | undefined
  #algorithms: string[] = []

  constructor(ref: AwsRef, ctx: KmsContext) {
    this.#ref = ref
    this.#ctx = ctx
  }

  #prepare(): Promise<{ url: URL; region: string; creds: AwsCredentials }> {
    this.#setup ??= (async () => {
      const profile = await readAwsProfile(this.#ctx.env)
      const region = this.#ref.region ?? awsRegion(this.#ctx.env, profile)
      if (!region)
        throw new KmsError(
          'KMS_CONFIG_INVALID',
          `${this.#ref.uri}: no AWS region (the key is not an ARN, and AWS_REGION, AWS_DEFAULT_REGION and the profile's region are unset)`,
          {
            remedy:
              'Set AWS_REGION (aws-actions/configure-aws-credentials sets it), or name the key by its ARN.'
          }
        )
      const url = this.#ref.endpoint
        ? new URL(`https://${this.#ref.endpoint}/`)
        : awsEndpoint(this.#ctx.env, 'kms', region)
      const creds = await resolveAwsCredentials(this.#ctx, profile, region)
      return { url, region, creds }
    })()
    return this.#setup
  }

  #iamRemedy(actions: string[]): string {
    const resource =
      this.#arn ??
      (this.#ref.keyId.startsWith('arn:')
        ? this.#ref.keyId
        : `the key ${this.#ref.keyId}`)
    return [
      `Allow ${actions.join(', ')} on ${resource} for the role or user this job runs as, in its IAM policy and in the key policy:`,
      '  {"Effect": "Allow",',
      `   "Action": [${actions.map(a => JSON.stringify(a)).join(', ')}],`,
      `   "Resource": ${JSON.stringify(this.#arn ?? 'arn:aws:kms:REGION:ACCOUNT:key/KEY_ID')}}`
    ].join('\n')
  }

  #classify(res: HttpResponse, actions: string[]): KmsFailure {
    const { type, message } = awsError(res)
    const detail = `${type}${type && message ? ': ' : ''}${message}`
    switch (type) {
      case 'AccessDeniedException':
        return {
          code: 'KMS_PERMISSION_DENIED',
          detail,
          remedy: this.#iamRemedy(actions)
        }
      case 'UnrecognizedClientException':
      case 'InvalidSignatureException':
      case 'IncompleteSignatureException':
      case 'MissingAuthenticationTokenException':
      case 'ExpiredTokenException':
      case 'InvalidClientTokenId':
      case 'SignatureDoesNotMatch':
        return {
          code: 'KMS_AUTH_FAILED',
          detail,
          remedy: `AWS refused the credentials (${type}): check that they are current and for this account/partition.\n${AWS_CREDENTIALS_REMEDY}`
        }
      case 'NotFoundException':
        return {
          code: 'KMS_KEY_NOT_FOUND',
          detail,
          remedy: `Check the key id/alias and the region, or create it: sigil generate-key-pair --kms ${this.#ref.uri}`
        }
      case 'DisabledException':
      case 'KMSInvalidStateException':
      case 'KeyUnavailableException':
        return {
          code: 'KMS_KEY_DISABLED',
          detail,
          remedy:
            'The key cannot sign in its current state (disabled, pending deletion or unavailable): enable it (aws kms enable-key / cancel-key-deletion) or use another key.'
        }
      case 'InvalidKeyUsageException':
      case 'UnsupportedOperationException':
        return {
          code: 'KMS_KEY_UNSUPPORTED',
          detail,
          remedy:
            'Use an asymmetric SIGN_VERIFY key (ECC_NIST_P256, as generate-key-pair --kms creates).'
        }
    }
    if (isThrottled(res))
      return {
        code: 'KMS_THROTTLED',
        detail: detail || 'ThrottlingException',
        remedy:
          'KMS kept throttling (ThrottlingException) for the whole retry budget: raise the retry budget (input "retry-budget", --retry-budget) or the account\'s KMS request quota.'
      }
    return { code: 'KMS_REQUEST_FAILED', detail }
  }

  async #call(
    target: string,
    body: Record<string, unknown>,
    what: string,
    actions: string[]
  ): Promise<Record<string, unknown>> {
    const { url, region, creds } = await this.#prepare()
    const text = JSON.stringify(body)
    const headers = signRequest(
      {
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `TrentService.${target}`
        },
        body: text
      },
      creds,
      { region, service: 'kms' }
    )
    const res = await kmsFetch(
      this.#ctx,
      {
        what,
        method: 'POST',
        url,
        headers,
        body: text,
        // Sign, GetPublicKey and a CreateAlias that lost a race are safe to
        // repeat; CreateKey is not sent twice (retrySafe false below).
        retrySafe: target !== 'CreateKey',
        transient: isThrottled
      },
      r => this.#classify(r, actions)
    )
    // Some operations (CreateAlias) answer 200 with no body.
    return res.body.length === 0 ? {} : jsonOf(res, what)
  }

  async publicKey(): Promise<Uint8Array> {
    const out = await this.#call(
      'GetPublicKey',
      { KeyId: this.#ref.keyId },
      `reading the public key of ${this.#ref.uri}`,
      ['kms:GetPublicKey']
    )
    if (typeof out.KeyId === 'string') this.#arn = out.KeyId
    if (out.KeyUsage !== undefined && out.KeyUsage !== 'SIGN_VERIFY')
      throw new KmsError(
        'KMS_KEY_UNSUPPORTED',
        `${this.#ref.uri} is a ${String(out.KeyUsage)} key, not SIGN_VERIFY`,
        {
          remedy:
            'Use an asymmetric SIGN_VERIFY key (ECC_NIST_P256, as generate-key-pair --kms creates).'
        }
      )
    this.#algorithms = Array.isArray(out.SigningAlgorithms)
      ? out.SigningAlgorithms.filter((a): a is string => typeof a === 'string')
      : []
    if (typeof out.PublicKey !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `GetPublicKey for ${this.#ref.uri} returned no PublicKey`
      )
    return fromBase64(out.PublicKey)
  }

  async signDigest(
    digest: Uint8Array,
    hash: HashAlgorithm
  ): Promise<Uint8Array> {
    const rsa = this.#algorithms.some(a => a.startsWith('RSASSA'))
    const algorithm = (rsa ? RSA_ALGORITHMS : EC_ALGORITHMS)[hash]
    const out = await this.#call(
      'Sign',
      {
        KeyId: this.#ref.keyId,
        Message: toBase64(digest),
        MessageType: 'DIGEST',
        SigningAlgorithm: algorithm
      },
      `signing with ${this.#ref.uri}`,
      ['kms:Sign']
    )
    if (typeof out.Signature !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        `Sign with ${this.#ref.uri} returned no Signature`
      )
    return fromBase64(out.Signature)
  }

  async create(): Promise<Uint8Array> {
    const alias = this.#ref.alias
    if (!alias)
      throw new KmsError(
        'KMS_URI_INVALID',
        `generate-key-pair --kms needs an alias to name the new key, got ${this.#ref.uri}`,
        { remedy: 'Use awskms:///alias/NAME (or an alias ARN).' }
      )
    try {
      return await this.publicKey()
    } catch (e) {
      if (!(e instanceof KmsError) || e.code !== 'KMS_KEY_NOT_FOUND') throw e
    }
    const created = await this.#call(
      'CreateKey',
      {
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        Description: 'Created by Sigstore'
      },
      `creating a key for ${this.#ref.uri}`,
      ['kms:CreateKey', 'kms:CreateAlias']
    )
    const meta = created.KeyMetadata as
      { KeyId?: unknown; Arn?: unknown } | undefined
    if (typeof meta?.KeyId !== 'string')
      throw new KmsError(
        'KMS_RESPONSE_INVALID',
        'CreateKey returned no KeyMetadata.KeyId'
      )
    if (typeof meta.Arn === 'string') this.#arn = meta.Arn
    await this.#call(
      'CreateAlias',
      { AliasName: alias, TargetKeyId: meta.KeyId },
      `naming the new key ${alias}`,
      ['kms:CreateAlias']
    )
    return this.publicKey()
  }
}

export async function openKey(
  ref: KmsReference,
  ctx: KmsContext
): Promise<KmsKeyClient> {
  if (ref.provider !== 'awskms') throw new TypeError('not an awskms key')
  return Promise.resolve(new AwsKmsKey(ref, ctx))
}
