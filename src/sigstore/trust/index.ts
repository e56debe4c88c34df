// Public surface of sigstore/trust: trusted root → TrustMaterial.
export {
  TRUSTED_ROOT_MEDIA_TYPES,
  TrustRootError,
  inWindow,
  parseTrustedRoot,
  publicGoodTrustMaterial,
  type CertificateAuthority,
  type LogAuthority,
  type TrustMaterial,
  type ValidityWindow
} from './trusted-root.ts'
