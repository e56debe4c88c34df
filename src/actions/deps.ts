// The lower-layer surface the GitHub adapter uses (one import point).
export * from '../cosign/index.ts'
export * from '../util/index.ts'
export {
  EnvIdentityProvider,
  GitHubActionsIdentityProvider,
  StaticIdentityProvider,
  type Bundle,
  type IdentityProvider
} from '../sigstore/index.ts'
