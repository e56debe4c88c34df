// Public surface of sigstore/bundle: wire types and structural validation.
export * from './types.ts'
export {
  BundleError,
  bundleVersion,
  parseBundle,
  parseTlogEntry,
  type BundleErrorCode,
  type BundleVersion
} from './parse.ts'
