// OIDC identity: the IdentityProvider role, its env / static / GitHub Actions
// implementations, and unverified JWT claim inspection.

export {
  EnvIdentityProvider,
  GitHubActionsIdentityProvider,
  SIGSTORE_AUDIENCE,
  StaticIdentityProvider,
  type EnvIdentityProviderOptions,
  type GitHubActionsIdentityProviderOptions,
  type IdentityProvider
} from './providers.ts'
export {
  challengeClaim,
  decodeJwtClaims,
  checkTokenClaims,
  inspectToken,
  type JwtClaims,
  type TokenIdentity
} from './jwt.ts'
