// Public surface of sigstore/x509: certificates, Fulcio extensions, SCTs.
export {
  CertificateParseError,
  HANDLED_CRITICAL,
  OID,
  hashForSignatureAlgorithm,
  isSignedBy,
  isValidAt,
  parseCertificate,
  type Extension,
  type KeyUsage,
  type ParsedCertificate,
  type SanType,
  type SubjectAltName
} from './certificate.ts'
export {
  FULCIO_EXTENSION_OIDS,
  fulcioExtensions,
  type FulcioExtensionName,
  type FulcioExtensions
} from './fulcio.ts'
export {
  embeddedSCTs,
  parseSCT,
  parseSCTList,
  precertTbs,
  sctSignedData,
  verifySCTSignature,
  type SignedCertificateTimestamp
} from './sct.ts'
