// RFC 3161 timestamp authority client.

export {
  DEFAULT_TSA_URL,
  TsaClient,
  buildTimeStampReq,
  type TsaClientOptions
} from './client.ts'
