// Request and response shapes of the HTTP layer. Plain data, so the layers
// above never see undici types.

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'

export interface HttpRequest {
  method: HttpMethod
  url: string | URL
  headers?: Record<string, string>
  body?: Uint8Array | string
  /** POST/PATCH are retried only when the caller says a repeat is harmless. */
  retrySafe?: boolean
  /** false: one attempt only (the caller has its own retry protocol, e.g.
   * a read-merge-write of a mutable tag that must re-read first). */
  retry?: boolean
  /** A 2xx response for which this says false (e.g. a body cut short that
   * does not parse) is retried like a 5xx, within the budget, up to three
   * times (then it is returned: the caller reports it). */
  complete?: (res: HttpResponse) => boolean
  /** A non-2xx answer for which this says true is retried like a 429,
   * within the budget (e.g. AWS's ThrottlingException, sent as HTTP 400). */
  transient?: (res: HttpResponse) => boolean
  /** Per-attempt timeout; defaults to the client's. */
  timeoutMs?: number
  /** Refuse bodies larger than this (default 64 MiB). */
  maxBodyBytes?: number
}

export interface HttpResponse {
  status: number
  /** Final URL, after redirects. */
  url: string
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>
  body: Uint8Array
  /** Attempts made for this response, and the time they took (ms). */
  attempts?: number
  elapsedMs?: number
  text(): string
  json<T = unknown>(): T
}
