// The KMS context of a run: the run's HttpClient and logger, the environment
// the providers read their credentials from, and — on GitHub Actions — the
// job's OIDC token endpoint for logins that take a JWT (Vault).
import type { HttpClient } from '../http/index.ts'
import type { KmsContext } from '../kms/index.ts'

export { createKmsKey, fetchKmsPublicKey, isKmsUri } from '../kms/index.ts'
import { fetchKmsPublicKey } from '../kms/index.ts'
import { GitHubActionsIdentityProvider } from '../sigstore/index.ts'
import type { Logger } from '../util/index.ts'

export function kmsContext(
  http: HttpClient,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env
): KmsContext {
  const github =
    !!env.ACTIONS_ID_TOKEN_REQUEST_URL && !!env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  return {
    http,
    logger,
    env,
    ...(github
      ? {
          jobToken: (audience: string) =>
            new GitHubActionsIdentityProvider({
              http,
              env,
              audience,
              logger
            }).getToken()
        }
      : {})
  }
}

/** The public key of a KMS key (cosign verify --key awskms://…). */
export async function publicKeyOfKms(
  uri: string,
  deps: { logger: Logger; http?: HttpClient; env?: NodeJS.ProcessEnv }
): Promise<string> {
  if (!deps.http) throw new TypeError('a KMS key needs an HttpClient')
  const pem = await fetchKmsPublicKey(
    uri,
    kmsContext(deps.http, deps.logger, deps.env)
  )
  deps.logger.info(`verifying with the public key of ${uri}`)
  return pem
}
