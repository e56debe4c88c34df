export { HttpClient, tlsFailure, type HttpClientOptions } from './client.ts'
export { HttpError, parseErrorBody, type HttpErrorCode } from './errors.ts'
export type { HttpMethod, HttpRequest, HttpResponse } from './types.ts'
export type {
  Transport,
  TransportRequest,
  TransportResponse
} from './transport.ts'
