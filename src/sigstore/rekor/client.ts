// Rekor v1 wire client: create an entry (a 409 "already exists" becomes a GET
// of the existing entry), look entries up by UUID, global index or content
// (the proposed entry, as cosign's online lookup does), and return
// them in the bundle's TransparencyLogEntry form. Does not verify SETs or
// proofs (sigstore/verify does). Spec: cosign-spec.md §5.1, §5.4, §5.5;
// sigstore/rekor openapi.yaml; sigstore-js packages/sign/src/witness/tlog.

import {
  HttpError,
  attemptsNote,
  isJsonBody,
  type HttpClient
} from '../../http/index.ts'
import type { TransparencyLogEntry } from '../bundle/types.ts'
import {
  fromBase64,
  isBase64,
  nullLogger,
  redactUrl,
  sha256,
  toHex,
  type Logger
} from '../../util/index.ts'
import {
  SigstoreServiceError,
  isHttpLayerError,
  noAnswerError,
  serviceMessage
} from '../errors.ts'
import { toTransparencyLogEntry, type RekorV1LogEntry } from './convert.ts'

export const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev'
const ENTRIES_PATH = '/api/v1/log/entries'
// 64 hex (UUID) or 80 hex (16-hex tree ID + UUID)
const ENTRY_ID = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/

export interface RekorClientOptions {
  baseUrl: string
  http: Pick<HttpClient, 'request'>
  logger?: Logger
}

/** An entry as returned by Rekor, with its ID (UUID or 80-hex entry ID). */
export interface RekorEntry {
  uuid: string
  entry: TransparencyLogEntry
}

type Response = Awaited<ReturnType<HttpClient['request']>>

export class RekorClient {
  readonly baseUrl: string
  readonly #http: Pick<HttpClient, 'request'>
  readonly #logger: Logger

  constructor(options: RekorClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#http = options.http
    this.#logger = options.logger ?? nullLogger
  }

  /**
   * Logs a proposed entry and returns it with SET and inclusion proof. Safe
   * to retry: a repeat after a lost 201 answers 409, handled by fetching.
   */
  async createEntry(proposed: object): Promise<TransparencyLogEntry> {
    return (await this.createEntryWithId(proposed)).entry
  }

  async createEntryWithId(proposed: object): Promise<RekorEntry> {
    const url = `${this.baseUrl}${ENTRIES_PATH}`
    this.#logger.debug(`POST ${redactUrl(url)}`)
    const res = await this.#send(
      'REKOR_ENTRY_CREATE_FAILED',
      'POST',
      url,
      JSON.stringify(proposed)
    )
    if (res.status === 201 || res.status === 200) {
      return this.#parseEntry('REKOR_ENTRY_CREATE_FAILED', url, res)
    }
    if (res.status === 409) {
      const id = conflictId(res)
      if (!id) {
        throw this.#failed(
          'REKOR_ENTRY_CREATE_FAILED',
          url,
          `HTTP 409 without the existing entry's ID: ${serviceMessage(res.body)}`
        )
      }
      this.#logger.debug(`Rekor already has this entry (${id}); fetching it`)
      return this.getEntryWithId(id, 'REKOR_ENTRY_CREATE_FAILED')
    }
    throw this.#failed(
      'REKOR_ENTRY_CREATE_FAILED',
      url,
      `HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
      HttpError.fromResponse({ method: 'POST', url }, res),
      res.status === 400
        ? 'Rekor rejected the entry as invalid (key/hash combination, signature, or schema).'
        : undefined
    )
  }

  /** GET /api/v1/log/entries/{uuid}: entry with a fresh inclusion proof. */
  async getEntryByUuid(uuid: string): Promise<TransparencyLogEntry> {
    return (await this.getEntryWithId(uuid)).entry
  }

  async getEntryWithId(
    uuid: string,
    code:
      | 'REKOR_ENTRY_LOOKUP_FAILED'
      | 'REKOR_ENTRY_CREATE_FAILED' = 'REKOR_ENTRY_LOOKUP_FAILED'
  ): Promise<RekorEntry> {
    const id = uuid.toLowerCase()
    if (!ENTRY_ID.test(id)) {
      throw new TypeError('a Rekor entry UUID is 64 or 80 hex characters')
    }
    return this.#get(code, `${this.baseUrl}${ENTRIES_PATH}/${id}`)
  }

  /** GET /api/v1/log/entries?logIndex=N (global index). */
  async getEntryByIndex(logIndex: number): Promise<TransparencyLogEntry> {
    if (!Number.isSafeInteger(logIndex) || logIndex < 0) {
      throw new TypeError('logIndex must be a non-negative integer')
    }
    const url = new URL(`${this.baseUrl}${ENTRIES_PATH}`)
    url.searchParams.set('logIndex', String(logIndex))
    return (await this.#get('REKOR_ENTRY_LOOKUP_FAILED', url.toString())).entry
  }

  /**
   * The logged entries equal to `proposed` (POST /api/v1/log/entries/retrieve
   * with {"entries": [proposed]}: Rekor canonicalizes it and looks up its
   * leaf), with SET and inclusion proof; [] when the log has none. What
   * cosign does for a .sig without a Rekor bundle (pkg/cosign/tlog.go
   * FindTlogEntry).
   */
  async findEntries(proposed: object): Promise<RekorEntry[]> {
    const url = `${this.baseUrl}${ENTRIES_PATH}/retrieve`
    this.#logger.debug(`POST ${redactUrl(url)}`)
    const res = await this.#send(
      'REKOR_ENTRY_LOOKUP_FAILED',
      'POST',
      url,
      JSON.stringify({ entries: [proposed] })
    )
    if (res.status === 404) return []
    if (res.status !== 200) {
      throw this.#failed(
        'REKOR_ENTRY_LOOKUP_FAILED',
        url,
        `HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
        HttpError.fromResponse({ method: 'POST', url }, res)
      )
    }
    let json: unknown
    try {
      json = res.json()
    } catch {
      throw this.#failed(
        'REKOR_ENTRY_LOOKUP_FAILED',
        url,
        'the response is not JSON'
      )
    }
    if (!Array.isArray(json)) {
      throw this.#failed(
        'REKOR_ENTRY_LOOKUP_FAILED',
        url,
        'expected an array of {uuid: entry} objects'
      )
    }
    const out: RekorEntry[] = []
    for (const item of json) {
      // One object per searched entry; an entry not logged is {} (or null).
      if (item === null || typeof item !== 'object') continue
      for (const [uuid, raw] of Object.entries(item as object)) {
        if (!ENTRY_ID.test(uuid)) {
          throw this.#failed(
            'REKOR_ENTRY_LOOKUP_FAILED',
            url,
            'an entry ID is not 64 or 80 hex characters'
          )
        }
        // As cosign (verifyUUID): an entry whose body is not the leaf its
        // ID names is not the one asked for; skip it.
        const body = (raw as Partial<RekorV1LogEntry> | null)?.body
        if (
          typeof body !== 'string' ||
          !isBase64(body) ||
          toHex(sha256(concatLeaf(fromBase64(body)))) !== uuid.slice(-64)
        ) {
          this.#logger.debug(
            `Rekor entry ${uuid}: the body is not that leaf; skipped`
          )
          continue
        }
        try {
          out.push({
            uuid,
            entry: toTransparencyLogEntry(raw as RekorV1LogEntry)
          })
        } catch (e) {
          throw this.#failed(
            'REKOR_ENTRY_LOOKUP_FAILED',
            url,
            (e as Error).message
          )
        }
      }
    }
    return out
  }

  async #get(
    code: 'REKOR_ENTRY_LOOKUP_FAILED' | 'REKOR_ENTRY_CREATE_FAILED',
    url: string
  ): Promise<RekorEntry> {
    this.#logger.debug(`GET ${redactUrl(url)}`)
    const res = await this.#send(code, 'GET', url)
    if (res.status !== 200) {
      throw this.#failed(
        code,
        url,
        res.status === 404
          ? 'no such entry (HTTP 404)'
          : `HTTP ${res.status}${attemptsNote(res)}: ${serviceMessage(res.body)}`,
        HttpError.fromResponse({ method: 'GET', url }, res)
      )
    }
    return this.#parseEntry(code, url, res)
  }

  async #send(
    code: 'REKOR_ENTRY_LOOKUP_FAILED' | 'REKOR_ENTRY_CREATE_FAILED',
    method: 'GET' | 'POST',
    url: string,
    body?: string
  ): Promise<Response> {
    try {
      return await this.#http.request({
        method,
        url,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        ...(body === undefined ? {} : { body: new TextEncoder().encode(body) }),
        // POST is safe to repeat because 409 is handled above: an entry whose
        // answer was cut short is created once and fetched on the repeat.
        retrySafe: true,
        complete: isJsonBody
      })
    } catch (e) {
      if (!isHttpLayerError(e)) throw e
      throw (
        noAnswerError(
          { name: 'Rekor', url: redactUrl(this.baseUrl), prefix: 'REKOR' },
          code === 'REKOR_ENTRY_CREATE_FAILED'
            ? 'the signature was not logged and nothing was pushed'
            : 'no entry was read',
          e
        ) ?? this.#failed(code, url, e.message, e, e.remedy)
      )
    }
  }

  #parseEntry(
    code: 'REKOR_ENTRY_LOOKUP_FAILED' | 'REKOR_ENTRY_CREATE_FAILED',
    url: string,
    res: Response
  ): RekorEntry {
    let json: unknown
    try {
      json = res.json()
    } catch {
      throw this.#failed(code, url, 'the response is not JSON')
    }
    // Create and GET answer {uuid: entry}; retrieve-style endpoints wrap that
    // in an array. Exactly one entry is expected either way.
    const obj = Array.isArray(json) && json.length === 1 ? json[0] : json
    const keys = obj && typeof obj === 'object' ? Object.keys(obj) : []
    if (keys.length !== 1 || !ENTRY_ID.test(keys[0]!)) {
      throw this.#failed(code, url, 'expected exactly one {uuid: entry} object')
    }
    const uuid = keys[0]!
    try {
      const raw = (obj as Record<string, RekorV1LogEntry>)[uuid]!
      return { uuid, entry: toTransparencyLogEntry(raw) }
    } catch (e) {
      throw this.#failed(code, url, (e as Error).message)
    }
  }

  #failed(
    code: 'REKOR_ENTRY_LOOKUP_FAILED' | 'REKOR_ENTRY_CREATE_FAILED',
    url: string,
    why: string,
    cause?: unknown,
    remedy?: string
  ): SigstoreServiceError {
    const what =
      code === 'REKOR_ENTRY_CREATE_FAILED'
        ? 'did not log the entry; nothing was pushed'
        : 'lookup failed'
    return new SigstoreServiceError(
      code,
      `Rekor at ${redactUrl(url)} ${what}: ${why}`,
      { cause, remedy }
    )
  }
}

/** The existing entry's ID from a 409: Location's last segment, or message. */
function conflictId(res: Response): string | undefined {
  const location = res.headers['location']
  if (typeof location === 'string' && location !== '') {
    const path = location.split('?')[0]!.replace(/\/+$/, '')
    const last = path.slice(path.lastIndexOf('/') + 1).toLowerCase()
    if (ENTRY_ID.test(last)) return last
  }
  const m = /\b((?:[0-9a-f]{16})?[0-9a-f]{64})\b/i.exec(
    serviceMessage(res.body)
  )
  return m?.[1]?.toLowerCase()
}

/** 0x00 || body: the RFC 6962 leaf input. */
function concatLeaf(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1)
  out.set(body, 1)
  return out
}
