// Fulcio: the wire client and the keyless certificate-issuing role.

export {
  DEFAULT_FULCIO_URL,
  FulcioClient,
  type FulcioClientOptions,
  type SigningCertificateRequest,
  type SigningCertificateResponse
} from './client.ts'
export {
  FulcioSigner,
  requestCertificate,
  type FulcioSignerOptions,
  type IssuedCertificate,
  type RequestCertificateOptions
} from './signer.ts'
