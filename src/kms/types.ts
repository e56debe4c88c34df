// What a KMS provider module implements, and what it is given. Providers are
// loaded with a dynamic import (one chunk each), so a run that signs with a
// key file or keyless never loads them.
import type { HttpClient } from '../http/index.ts'
import type { HashAlgorithm, Logger } from '../util/index.ts'
import type { KmsReference } from './uri.ts'

export interface KmsContext {
  http: HttpClient
  env: NodeJS.ProcessEnv
  logger: Logger
  /**
   * The CI job's OIDC token for an audience, when the platform mints one on
   * request (GitHub Actions' token endpoint). GitLab hands tokens out as
   * variables (`id_tokens:`), which providers read from `env`.
   */
  jobToken?: (audience: string) => Promise<string>
}

/** One key in a KMS, as a provider module exposes it. */
export interface KmsKeyClient {
  /** DER SubjectPublicKeyInfo of the key (version) that signs. */
  publicKey(): Promise<Uint8Array>
  /** Signs a digest made with `hash`; DER ECDSA or PKCS#1 v1.5 signature. */
  signDigest(digest: Uint8Array, hash: HashAlgorithm): Promise<Uint8Array>
  /** Creates the key (ECDSA P-256) unless it exists; its SPKI. */
  create(): Promise<Uint8Array>
}

export type KmsProviderModule = {
  openKey(ref: KmsReference, ctx: KmsContext): Promise<KmsKeyClient>
}
