// The certificate-issuing role of keyless signing: token from the injected
// IdentityProvider, proof of possession = key.sign(challenge claim), Fulcio
// call, and a check that the leaf certifies our key. Knows nothing of what is
// signed later or of trust roots. Spec: cosign-spec.md §4.1, §6.3;
// sigstore-js packages/sign/src/signer/fulcio.

import { X509Certificate } from 'node:crypto'
import {
  generateEphemeralKey,
  spkiFromCertificate,
  type SigningKey
} from '../../crypto/index.ts'
import {
  equalBytes,
  nullLogger,
  parsePemBlocks,
  utf8,
  type Logger
} from '../../util/index.ts'
import { SigstoreServiceError } from '../errors.ts'
import {
  inspectToken,
  type IdentityProvider,
  type TokenIdentity
} from '../oidc/index.ts'
import type { FulcioClient } from './client.ts'

export interface IssuedCertificate {
  /** PEM certificates, leaf first */
  chainPem: string[]
  detachedSct?: Uint8Array
  /** unverified claims of the token the certificate was issued for */
  identity: TokenIdentity
  /** the leaf's notAfter */
  notAfter: Date
}

export interface RequestCertificateOptions {
  identityProvider: IdentityProvider
  key: SigningKey
  fulcio: Pick<FulcioClient, 'createSigningCertificate' | 'baseUrl'>
  logger?: Logger
  now?: () => Date
}

/** One Fulcio round trip for `key`, bound to the provider's identity. */
export async function requestCertificate(
  options: RequestCertificateOptions
): Promise<IssuedCertificate> {
  const { key, fulcio } = options
  const logger = options.logger ?? nullLogger
  const now = options.now ?? (() => new Date())
  const token = await options.identityProvider.getToken()
  const identity = inspectToken(token, now())
  logger.debug(
    `Requesting a signing certificate from ${fulcio.baseUrl} for ${identity.challenge} (issuer ${identity.issuer})`
  )
  const issued = await fulcio.createSigningCertificate({
    identityToken: token,
    publicKeyPem: key.publicKeyPem,
    proofOfPossession: key.sign(utf8(identity.challenge)),
    keyAlgorithm: key.algorithm.startsWith('RSA') ? 'RSA_PSS' : 'ECDSA'
  })
  const leafDer = parsePemBlocks(issued.chainPem[0]!)[0]!.der
  let notAfter: Date
  let leafSpki: Uint8Array
  try {
    notAfter = new Date(new X509Certificate(leafDer).validTo)
    leafSpki = spkiFromCertificate(leafDer)
  } catch (e) {
    throw new SigstoreServiceError(
      'FULCIO_CERTIFICATE_REQUEST_FAILED',
      `Fulcio at ${fulcio.baseUrl} returned a leaf certificate that cannot be parsed`,
      { cause: e }
    )
  }
  // Fail closed: a certificate for another key would make every signature
  // unverifiable (or worse, bind our signatures to someone else's key).
  if (!equalBytes(leafSpki, key.publicKeySpki)) {
    throw new SigstoreServiceError(
      'FULCIO_CERTIFICATE_REQUEST_FAILED',
      `Fulcio at ${fulcio.baseUrl} returned a certificate for a different public key`
    )
  }
  return {
    chainPem: issued.chainPem,
    ...(issued.detachedSct ? { detachedSct: issued.detachedSct } : {}),
    identity,
    notAfter
  }
}

export interface FulcioSignerOptions {
  identityProvider: IdentityProvider
  fulcio: Pick<FulcioClient, 'createSigningCertificate' | 'baseUrl'>
  /** defaults to a fresh ephemeral P-256 key */
  key?: SigningKey
  logger?: Logger
  now?: () => Date
  /** re-issue when the leaf expires within this margin (default 60 s) */
  renewBeforeMs?: number
}

/**
 * Keyless signer for a whole run: one ephemeral key, one certificate shared by
 * every signature (ten images → one Fulcio request) until it nears expiry.
 */
export class FulcioSigner {
  readonly #options: FulcioSignerOptions
  readonly #key: SigningKey
  #pending: Promise<IssuedCertificate> | undefined

  constructor(options: FulcioSignerOptions) {
    this.#options = options
    this.#key = options.key ?? generateEphemeralKey()
  }

  get publicKeyPem(): string {
    return this.#key.publicKeyPem
  }

  get algorithm(): SigningKey['algorithm'] {
    return this.#key.algorithm
  }

  get hash(): SigningKey['hash'] {
    return this.#key.hash
  }

  /**
   * The current certificate, requested on first use and memoised; concurrent
   * callers share one request (and its failure).
   */
  async certificate(): Promise<IssuedCertificate> {
    const current = this.#pending
    if (current) {
      const cert = await current
      const now = (this.#options.now ?? (() => new Date()))().getTime()
      const margin = this.#options.renewBeforeMs ?? 60_000
      if (cert.notAfter.getTime() - margin > now) return cert
      if (this.#pending !== current) return this.certificate()
    }
    const pending = requestCertificate({ ...this.#options, key: this.#key })
    this.#pending = pending
    // A failed request is not cached: the next call asks again.
    pending.catch(() => {
      if (this.#pending === pending) this.#pending = undefined
    })
    return pending
  }

  /** Signs `data` and returns the signature with the certificate covering it. */
  async sign(
    data: Uint8Array
  ): Promise<{ signature: Uint8Array; certificate: IssuedCertificate }> {
    const certificate = await this.certificate()
    return { signature: this.#key.sign(data), certificate }
  }
}
