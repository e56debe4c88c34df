// Public surface of sigstore/tuf: a strict TUF client for the Sigstore
// repositories (trusted_root.json and signing_config.v0.2.json delivery).
export { canonicalJson } from './canonical.ts'
export { TufError, type TufErrorCode } from './errors.ts'
export {
  TufClient,
  type TufClientOptions,
  type TufRemote,
  type TufStore,
  type TufTargets
} from './updater.ts'
export { httpRemote, fileStore, cacheDirName } from './io.ts'
