// Public surface of sigstore/trust: trusted root → TrustMaterial.
export {
  TRUSTED_ROOT_MEDIA_TYPES,
  TrustRootError,
  inWindow,
  parseTrustedRoot,
  publicGoodTrustMaterial,
  replaceAuthorities,
  type CertificateAuthority,
  type LogAuthority,
  type TrustMaterial,
  type ValidityWindow
} from './trusted-root.ts'
export {
  SIGNING_CONFIG_MEDIA_TYPE,
  SigningConfigError,
  parseSigningConfig,
  selectService,
  selectServices,
  validAt,
  type ServiceConfiguration,
  type ServiceSelector,
  type SigningConfig,
  type SigningService
} from './signing-config.ts'
