// Fulcio wire client: POST /api/v2/signingCert with a public key and proof of
// possession, returning the PEM chain (leaf first). Knows nothing of where the
// token or key come from (signer.ts) or whether the chain is trusted (verify/).
// Spec: cosign-spec.md §4.1-§4.2; sigstore/fulcio fulcio.proto.

import {
  HttpError,
  attemptsNote,
  isJsonBody,
  type HttpClient
} from '../../http/index.ts'
import {
  fromBase64,
  isBase64,
  nullLogger,
  parsePemBlocks,
  redactUrl,
  toBase64,
  toPem,
  type Logger
} from '../../util/index.ts'
import {
  SigstoreServiceError,
  isHttpLayerError,
  noAnswerError,
  serviceMessage
} from '../errors.ts'

export const DEFAULT_FULCIO_URL = 'https://fulcio.sigstore.dev'
const SIGNING_CERT_PATH = '/api/v2/signingCert'

export interface FulcioClientOptions {
  baseUrl: string
  http: Pick<HttpClient, 'request'>
  logger?: Logger
}

export interface SigningCertificateRequest {
  /** raw OIDC JWT (audience sigstore) */
  identityToken: string
  /** PEM `PUBLIC KEY` of the key to certify */
  publicKeyPem: string
  /** signature with that key over the token's challenge claim */
  proofOfPossession: Uint8Array
  /** Fulcio's enum; informational (Fulcio infers it from the key) */
  keyAlgorithm?: 'ECDSA' | 'RSA_PSS' | 'ED25519'
}

export interface SigningCertificateResponse {
  /** PEM certificates, leaf first (Go-style PEM) */
  chainPem: string[]
  /** detached SCT (JSON AddChainResponse bytes), when Fulcio returns one */
  detachedSct?: Uint8Array
}

interface FulcioChain {
  chain?: { certificates?: unknown }
}

interface FulcioResponseJson {
  signedCertificateEmbeddedSct?: FulcioChain
  signedCertificateDetachedSct?: FulcioChain & {
    signedCertificateTimestamp?: unknown
  }
}

export class FulcioClient {
  readonly baseUrl: string
  readonly #http: Pick<HttpClient, 'request'>
  readonly #logger: Logger

  constructor(options: FulcioClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#http = options.http
    this.#logger = options.logger ?? nullLogger
  }

  /**
   * Requests a short-lived signing certificate. The token travels only in the
   * JSON body (`credentials.oidcIdentityToken`): that is the documented v2
   * request field, what sigstore-js sends and what @sigstore/mock reads, and
   * one copy is easier to keep out of logs than body plus header. Retry-safe:
   * issuance has no side effect a repeat could double.
   */
  async createSigningCertificate(
    req: SigningCertificateRequest
  ): Promise<SigningCertificateResponse> {
    const url = `${this.baseUrl}${SIGNING_CERT_PATH}`
    const body = JSON.stringify({
      credentials: { oidcIdentityToken: req.identityToken },
      publicKeyRequest: {
        publicKey: {
          algorithm: req.keyAlgorithm ?? 'ECDSA',
          content: req.publicKeyPem
        },
        proofOfPossession: toBase64(req.proofOfPossession)
      }
    })
    this.#logger.debug(`POST ${redactUrl(url)}`)
    let res
    try {
      res = await this.#http.request({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json'
        },
        body: new TextEncoder().encode(body),
        retrySafe: true,
        // A certificate cut short is asked for again (a new one is harmless).
        complete: isJsonBody
      })
    } catch (e) {
      if (!isHttpLayerError(e)) throw e
      throw (
        noAnswerError(
          {
            name: 'Fulcio',
            url: redactUrl(this.baseUrl),
            prefix: 'FULCIO'
          },
          'no certificate was issued and nothing was pushed',
          e
        ) ?? this.#failed(url, e.message, e.remedy, e)
      )
    }
    // Real Fulcio answers 200; @sigstore/mock (and some proxies) answer 201.
    if (res.status !== 200 && res.status !== 201) {
      throw this.#failed(
        url,
        `HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
        res.status === 401 || res.status === 403
          ? 'Fulcio rejected the identity token: check its issuer is supported and its audience is "sigstore".'
          : undefined,
        HttpError.fromResponse({ method: 'POST', url }, res)
      )
    }
    return this.#parse(url, res.body)
  }

  #parse(url: string, body: Uint8Array): SigningCertificateResponse {
    let json: FulcioResponseJson
    try {
      json = JSON.parse(new TextDecoder().decode(body)) as FulcioResponseJson
    } catch {
      throw this.#failed(url, 'the response is not JSON')
    }
    const embedded = json?.signedCertificateEmbeddedSct
    const detached = json?.signedCertificateDetachedSct
    const form = embedded ?? detached
    if (!form || (embedded && detached)) {
      throw this.#failed(
        url,
        'the response has neither signedCertificateEmbeddedSct nor signedCertificateDetachedSct'
      )
    }
    const chainPem = normalizeChain(form.chain?.certificates)
    if (!chainPem) {
      throw this.#failed(url, 'the response has no PEM certificate chain')
    }
    if (!detached) return { chainPem }
    const sct = detached.signedCertificateTimestamp
    if (typeof sct !== 'string' || sct === '' || !isBase64(sct)) {
      throw this.#failed(url, 'the detached SCT is missing or not base64')
    }
    return { chainPem, detachedSct: fromBase64(sct) }
  }

  #failed(
    url: string,
    why: string,
    remedy?: string,
    cause?: unknown
  ): SigstoreServiceError {
    return new SigstoreServiceError(
      'FULCIO_CERTIFICATE_REQUEST_FAILED',
      `Fulcio at ${redactUrl(url)} did not issue a signing certificate: ${why}`,
      { remedy, cause }
    )
  }
}

/** Each entry must be exactly one CERTIFICATE block; re-armoured Go style. */
function normalizeChain(certs: unknown): string[] | undefined {
  if (!Array.isArray(certs) || certs.length === 0) return undefined
  const out: string[] = []
  for (const c of certs) {
    if (typeof c !== 'string') return undefined
    const blocks = parsePemBlocks(c)
    if (blocks.length !== 1 || blocks[0]!.label !== 'CERTIFICATE') {
      return undefined
    }
    if (blocks[0]!.der.length === 0) return undefined
    out.push(toPem('CERTIFICATE', blocks[0]!.der))
  }
  return out
}
