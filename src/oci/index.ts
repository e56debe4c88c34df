export * from './reference.ts'
export * from './media-types.ts'
export * from './types.ts'
export * from './errors.ts'
export {
  canonicalHost,
  resolveCredentials,
  type Credentials,
  type ResolveCredentialsOptions
} from './credentials.ts'
export {
  parseChallenges,
  pullScope,
  pushScope,
  type Challenge
} from './auth.ts'
export {
  RegistryClient,
  type GetManifestOptions,
  type ManifestResult,
  type PutManifestOptions,
  type PutManifestResult,
  type RegistryClientOptions
} from './registry.ts'
export {
  eventLoopStalls,
  mergeIntoTag,
  type TagMergeOptions,
  type TagMergeResult,
  type TagMergeSpec
} from './tag-merge.ts'
export {
  listReferrers,
  pushReferrer,
  type PushReferrerOptions,
  referrersTag,
  type ReferrerManifest,
  type ReferrersVia
} from './referrers.ts'
