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
  text(): string
  json<T = unknown>(): T
}
