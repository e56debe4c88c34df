// Rekor v2 (rekor-tiles) wire client: POST /api/v2/log/entries with a
// CreateEntryRequest (hashedrekord or DSSE, request version 0.0.2) and read
// the TransparencyLogEntry the log answers: an inclusion proof with a signed
// checkpoint, no signed entry timestamp and no integrated time (a bundle
// carries an RFC 3161 timestamp instead). Does not verify the proof
// (sigstore/verify does). Shapes: sigstore/rekor-tiles api/proto
// rekor_service.proto and sigstore/protobuf-specs rekor/v2 (entry.proto,
// hashedrekord.proto, dsse.proto, verifier.proto), in proto3 JSON.

import { createPublicKey } from 'node:crypto'
import {
  HttpError,
  attemptsNote,
  isJsonBody,
  type HttpClient
} from '../../http/index.ts'
import { parseTlogEntry } from '../bundle/index.ts'
import type { Envelope, TransparencyLogEntry } from '../bundle/types.ts'
import {
  nullLogger,
  redactUrl,
  toBase64,
  type HashAlgorithm,
  type Logger
} from '../../util/index.ts'
import {
  SigstoreServiceError,
  isHttpLayerError,
  noAnswerError,
  serviceMessage
} from '../errors.ts'

export const REKOR_V2_ENTRIES_PATH = '/api/v2/log/entries'

/** protobuf-specs Verifier: the signer's certificate or public key. */
export interface RekorV2Verifier {
  keyDetails: string
  x509Certificate?: { rawBytes: string }
  publicKey?: { rawBytes: string }
}

export interface HashedRekordRequestV002 {
  hashedRekordRequestV002: {
    digest: string
    signature: { content: string; verifier: RekorV2Verifier }
  }
}

export interface DsseRequestV002 {
  dsseRequestV002: { envelope: Envelope; verifiers: RekorV2Verifier[] }
}

export type RekorV2Request = HashedRekordRequestV002 | DsseRequestV002

export interface RekorV2VerifierInput {
  /** DER leaf certificate (keyless), or */
  certificateDer?: Uint8Array
  /** DER SubjectPublicKeyInfo (key pair, KMS). */
  publicKeySpki: Uint8Array
  /** The digest the signature scheme uses. */
  hash: HashAlgorithm
}

/**
 * protobuf-specs PublicKeyDetails of a key: the log checks the signature
 * with exactly this algorithm, so it must be the one the signer used.
 */
export function publicKeyDetails(
  spki: Uint8Array,
  hash: HashAlgorithm
): string {
  const key = createPublicKey({
    key: Buffer.from(spki),
    format: 'der',
    type: 'spki'
  })
  const d = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = {
        prime256v1: 'P256',
        secp384r1: 'P384',
        secp521r1: 'P521'
      }[String(d.namedCurve)]
      const h = { sha256: 'SHA_256', sha384: 'SHA_384', sha512: 'SHA_512' }[
        hash
      ]
      if (curve) return `PKIX_ECDSA_${curve}_${h}`
      break
    }
    case 'rsa':
      if (hash === 'sha256' && [2048, 3072, 4096].includes(d.modulusLength!))
        return `PKIX_RSA_PKCS1V15_${d.modulusLength}_SHA256`
      break
    case 'ed25519':
      return 'PKIX_ED25519'
  }
  throw new TypeError(
    `Rekor v2 has no key type for this ${key.asymmetricKeyType ?? 'unknown'} key with ${hash}`
  )
}

function verifier(v: RekorV2VerifierInput): RekorV2Verifier {
  return {
    keyDetails: publicKeyDetails(v.publicKeySpki, v.hash),
    ...(v.certificateDer
      ? { x509Certificate: { rawBytes: toBase64(v.certificateDer) } }
      : { publicKey: { rawBytes: toBase64(v.publicKeySpki) } })
  }
}

/** A hashedrekord 0.0.2 request: a signature over a digest (the log checks it). */
export function buildHashedRekordRequestV002(o: {
  digest: Uint8Array
  signature: Uint8Array
  verifier: RekorV2VerifierInput
}): HashedRekordRequestV002 {
  if (o.signature.length === 0) throw new TypeError('empty signature')
  if (![32, 48, 64].includes(o.digest.length))
    throw new TypeError('the digest is not SHA-256, SHA-384 or SHA-512')
  return {
    hashedRekordRequestV002: {
      digest: toBase64(o.digest),
      signature: {
        content: toBase64(o.signature),
        verifier: verifier(o.verifier)
      }
    }
  }
}

/** A DSSE 0.0.2 request: the whole envelope, one verifier per signature. */
export function buildDsseRequestV002(o: {
  envelope: Envelope
  verifier: RekorV2VerifierInput
}): DsseRequestV002 {
  if (o.envelope.signatures.length !== 1)
    throw new TypeError('a DSSE entry here holds exactly one signature')
  return {
    dsseRequestV002: {
      envelope: o.envelope,
      verifiers: [verifier(o.verifier)]
    }
  }
}

export interface RekorV2ClientOptions {
  baseUrl: string
  http: Pick<HttpClient, 'request'>
  logger?: Logger
}

export class RekorV2Client {
  readonly baseUrl: string
  readonly #http: Pick<HttpClient, 'request'>
  readonly #logger: Logger

  constructor(options: RekorV2ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#http = options.http
    this.#logger = options.logger ?? nullLogger
  }

  /** Logs the request's entry; answers it with inclusion proof and checkpoint. */
  async createEntry(request: RekorV2Request): Promise<TransparencyLogEntry> {
    const url = `${this.baseUrl}${REKOR_V2_ENTRIES_PATH}`
    this.#logger.debug(`POST ${redactUrl(url)}`)
    let res
    try {
      res = await this.#http.request({
        method: 'POST',
        url,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json'
        },
        body: new TextEncoder().encode(JSON.stringify(request)),
        // A repeat after a lost answer logs the same entry again at worst
        // (rekor-tiles deduplicates recent entries): harmless to the bundle.
        retrySafe: true,
        complete: isJsonBody
      })
    } catch (e) {
      if (!isHttpLayerError(e)) throw e
      throw (
        noAnswerError(
          { name: 'Rekor', url: redactUrl(this.baseUrl), prefix: 'REKOR' },
          'the signature was not logged and nothing was pushed',
          e
        ) ?? this.#failed(url, e.message, e, e.remedy)
      )
    }
    if (res.status !== 200 && res.status !== 201) {
      throw this.#failed(
        url,
        `HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
        HttpError.fromResponse({ method: 'POST', url }, res),
        res.status === 400
          ? 'Rekor rejected the entry as invalid (key type, signature or digest).'
          : res.status === 404
            ? 'This URL does not serve the Rekor v2 API: check the signing config, or set "rekor-url" (--rekor-url) to a Rekor v1 log.'
            : undefined
      )
    }
    let json: unknown
    try {
      json = res.json()
    } catch {
      throw this.#failed(url, 'the response is not JSON')
    }
    let entry: TransparencyLogEntry
    try {
      entry = parseTlogEntry(json)
    } catch (e) {
      throw this.#failed(url, (e as Error).message)
    }
    const kind = entry.kindVersion.kind
    const wanted =
      'hashedRekordRequestV002' in request ? 'hashedrekord' : 'dsse'
    if (kind !== wanted || entry.kindVersion.version !== '0.0.2') {
      throw this.#failed(
        url,
        `answered a ${kind} ${entry.kindVersion.version} entry for a ${wanted} 0.0.2 request`
      )
    }
    return entry
  }

  #failed(
    url: string,
    why: string,
    cause?: unknown,
    remedy?: string
  ): SigstoreServiceError {
    return new SigstoreServiceError(
      'REKOR_ENTRY_CREATE_FAILED',
      `Rekor v2 at ${redactUrl(url)} did not log the entry; nothing was pushed: ${why}`,
      { cause, ...(remedy ? { remedy } : {}) }
    )
  }
}
