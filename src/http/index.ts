export { HttpClient, tlsFailure, type HttpClientOptions } from './client.ts'
export {
  HttpError,
  attemptsNote,
  isJsonBody,
  isWholeDer,
  parseErrorBody,
  type HttpErrorCode
} from './errors.ts'
export type { HttpMethod, HttpRequest, HttpResponse } from './types.ts'
export type {
  Transport,
  TransportRequest,
  TransportResponse
} from './transport.ts'
