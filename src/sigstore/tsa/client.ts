// RFC 3161 timestamp client: DER TimeStampReq (SHA-256 imprint of the
// signature bytes, random nonce, certReq) POSTed as
// application/timestamp-query; the reply must be granted and answer our
// request (imprint and nonce). It does not verify the TSA's signature or chain
// (sigstore/verify does). Spec: cosign-spec.md §5.13; RFC 3161 §2.4.

import { randomBytes } from 'node:crypto'
import {
  HttpError,
  attemptsNote,
  isWholeDer,
  type HttpClient
} from '../../http/index.ts'
import {
  equalBytes,
  nullLogger,
  redactUrl,
  sha256,
  type Logger
} from '../../util/index.ts'
import {
  SigstoreServiceError,
  isHttpLayerError,
  noAnswerError,
  serviceMessage
} from '../errors.ts'
import {
  boolean,
  children,
  derNull,
  integer,
  octetString,
  oid,
  oidToString,
  readOnly,
  readTlv,
  sequence,
  smallInteger,
  toBigInt,
  type Tlv
} from './der.ts'

export const DEFAULT_TSA_URL = 'https://timestamp.sigstore.dev/api/v1/timestamp'

const OID_SHA256 = '2.16.840.1.101.3.4.2.1'
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2'
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4'
const NONCE_BYTES = 8

const STATUS_TEXT: Record<number, string> = {
  2: 'rejection',
  3: 'waiting',
  4: 'revocationWarning',
  5: 'revocationNotification'
}

export interface TsaClientOptions {
  /** full timestamp endpoint URL, e.g. https://timestamp.sigstore.dev/api/v1/timestamp */
  url: string
  http: Pick<HttpClient, 'request'>
  logger?: Logger
}

/** DER TimeStampReq for a SHA-256 imprint (exported for tests and tools). */
export function buildTimeStampReq(
  imprint: Uint8Array,
  nonce: Uint8Array
): Uint8Array {
  return sequence(
    smallInteger(1),
    sequence(sequence(oid(OID_SHA256), derNull()), octetString(imprint)),
    integer(nonce),
    boolean(true)
  )
}

export class TsaClient {
  readonly url: string
  readonly #http: Pick<HttpClient, 'request'>
  readonly #logger: Logger

  constructor(options: TsaClientOptions) {
    this.url = options.url
    this.#http = options.http
    this.#logger = options.logger ?? nullLogger
  }

  /** A DER TimeStampResp over SHA-256(signature), checked to answer us. */
  async timestamp(signature: Uint8Array): Promise<Uint8Array> {
    const imprint = sha256(signature)
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
    nonce[0]! &= 0x7f
    this.#logger.debug(`POST ${redactUrl(this.url)}`)
    let res
    try {
      res = await this.#http.request({
        method: 'POST',
        url: this.url,
        headers: {
          'content-type': 'application/timestamp-query',
          accept: 'application/timestamp-reply'
        },
        body: buildTimeStampReq(imprint, nonce),
        // a repeated request only yields another timestamp for the same bytes
        retrySafe: true,
        complete: isWholeDer
      })
    } catch (e) {
      if (!isHttpLayerError(e)) throw e
      throw (
        noAnswerError(
          {
            name: 'The timestamp authority',
            url: redactUrl(this.url),
            prefix: 'TSA'
          },
          'nothing was pushed',
          e
        ) ?? this.#failed(e.message, e, e.remedy)
      )
    }
    if (res.status !== 200 && res.status !== 201) {
      throw this.#failed(
        `HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
        HttpError.fromResponse({ method: 'POST', url: this.url }, res)
      )
    }
    try {
      checkTimeStampResp(res.body, imprint, toBigInt(nonce))
    } catch (e) {
      if (e instanceof SigstoreServiceError) throw e
      throw this.#failed(
        `the reply is not a valid TimeStampResp (${(e as Error).message})`,
        e
      )
    }
    return res.body
  }

  #failed(why: string, cause?: unknown, remedy?: string): SigstoreServiceError {
    return new SigstoreServiceError(
      'TSA_REQUEST_FAILED',
      `The timestamp authority at ${redactUrl(this.url)} did not grant a timestamp: ${why}`,
      { cause, remedy }
    )
  }
}

/**
 * TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken
 * ContentInfo OPTIONAL }; the token's TSTInfo must carry our imprint and nonce.
 * Throws TypeError for structural problems, SigstoreServiceError for refusals.
 */
function checkTimeStampResp(
  der: Uint8Array,
  imprint: Uint8Array,
  nonce: bigint
): void {
  const [statusInfo, token] = children(readOnly(der, 0x30).value)
  const statusFields = children(expect(statusInfo, 0x30).value)
  const status = Number(toBigInt(expect(statusFields[0], 0x02).value))
  if (status !== 0 && status !== 1) {
    const text = statusFields
      .slice(1)
      .filter(f => f.tag === 0x30)
      .flatMap(f => children(f.value))
      .map(s => new TextDecoder().decode(s.value))
      .join('; ')
    throw new SigstoreServiceError(
      'TSA_REQUEST_FAILED',
      `The timestamp authority refused the request: status ${status} (${STATUS_TEXT[status] ?? 'unknown'})${text ? `: ${text}` : ''}`
    )
  }
  // ContentInfo { contentType signedData, [0] EXPLICIT SignedData }
  const [contentType, content] = children(expect(token, 0x30).value)
  if (oidToString(expect(contentType, 0x06).value) !== OID_SIGNED_DATA) {
    throw new TypeError('token is not SignedData')
  }
  const signedData = readTlv(expect(content, 0xa0).value)
  // SignedData { version, digestAlgorithms, encapContentInfo, ... }
  const encap = children(expect(signedData, 0x30).value)[2]
  const [eType, eContent] = children(expect(encap, 0x30).value)
  if (oidToString(expect(eType, 0x06).value) !== OID_TST_INFO) {
    throw new TypeError('token content is not TSTInfo')
  }
  const tstDer = expect(readTlv(expect(eContent, 0xa0).value), 0x04).value
  // TSTInfo { version, policy, messageImprint, serialNumber, genTime,
  //           accuracy?, ordering?, nonce?, tsa [0]?, extensions [1]? }
  const tst = children(readOnly(tstDer, 0x30).value)
  const [hashAlg, hashed] = children(expect(tst[2], 0x30).value)
  const alg = children(expect(hashAlg, 0x30).value)[0]
  if (
    oidToString(expect(alg, 0x06).value) !== OID_SHA256 ||
    !equalBytes(expect(hashed, 0x04).value, imprint)
  ) {
    throw new SigstoreServiceError(
      'TSA_REQUEST_FAILED',
      'The timestamp authority answered with a timestamp for different data (message imprint mismatch)'
    )
  }
  const replyNonce = tst.slice(5).find(f => f.tag === 0x02)
  if (!replyNonce || toBigInt(replyNonce.value) !== nonce) {
    throw new SigstoreServiceError(
      'TSA_REQUEST_FAILED',
      'The timestamp authority answered without our nonce (replayed or mismatched reply)'
    )
  }
}

function expect(t: Tlv | undefined, tag: number): Tlv {
  if (!t || t.tag !== tag) {
    throw new TypeError(`expected tag 0x${tag.toString(16)}`)
  }
  return t
}
