// RegistryError: a registry operation that failed, with our REGISTRY_* code,
// the distribution error code from the response body (MANIFEST_UNKNOWN,
// DENIED, …) and, for 401/403, a remedy naming the repository and the
// permission to grant. Spec: distribution-spec "Error Codes"; cosign-spec §10.7.
import { AppError, redact } from '../util/index.ts'

export type RegistryErrorCode =
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_DENIED'
  | 'REGISTRY_MANIFEST_UNKNOWN'
  | 'REGISTRY_NAME_UNKNOWN'
  | 'REGISTRY_BLOB_UNKNOWN'
  | 'REGISTRY_INVALID_RESPONSE'
  | 'REGISTRY_DIGEST_MISMATCH'
  | 'REGISTRY_INSECURE'
  | 'REGISTRY_INSECURE_REALM'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_PRECONDITION_FAILED'
  | 'REGISTRY_REFERRERS_TAG_INVALID'
  | 'REGISTRY_WRITE_NOT_CONFIRMED'
  | 'REGISTRY_TAG_FULL'
  | 'REGISTRY_CREDENTIALS_INVALID'
  | 'REGISTRY_ERROR'

export interface RegistryErrorOptions {
  status?: number
  registryCode?: string
  cause?: unknown
  remedy?: string
}

export class RegistryError extends AppError {
  declare readonly code: RegistryErrorCode
  readonly status: number | undefined
  /** First `errors[].code` of the registry's JSON body, if any. */
  readonly registryCode: string | undefined

  constructor(
    code: RegistryErrorCode,
    message: string,
    options: RegistryErrorOptions = {}
  ) {
    super(code, redact(message), {
      cause: options.cause,
      remedy: options.remedy
    })
    this.status = options.status
    this.registryCode = options.registryCode
  }
}

export interface DistributionError {
  code: string
  message: string
}

/** The `errors` array of a distribution error body; [] when absent. */
export function distributionErrors(body: unknown): DistributionError[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors
  if (!Array.isArray(errors)) return []
  return errors.flatMap(e => {
    const code = (e as { code?: unknown })?.code
    const message = (e as { message?: unknown })?.message
    return typeof code === 'string'
      ? [{ code, message: typeof message === 'string' ? message : '' }]
      : []
  })
}

export type Permission = 'pull' | 'push'

/** What to do about a 401/403, by registry. */
export function permissionRemedy(
  registry: string,
  repository: string,
  permission: Permission,
  hasCredentials: boolean
): string {
  const target = `${registry}/${repository}`
  if (registry === 'ghcr.io') {
    return permission === 'push'
      ? `Pushing to ${target} needs \`permissions: packages: write\` in the workflow and a docker/login-action step (or GITHUB_TOKEN) for ghcr.io; the package must also grant this repository write access.`
      : `Reading ${target} needs \`permissions: packages: read\` and a docker/login-action step for ghcr.io when the package is private.`
  }
  if (/(^|\.)gitlab\./.test(registry) || registry.startsWith('gitlab')) {
    return `Use CI_REGISTRY_USER/CI_REGISTRY_PASSWORD or a deploy token with ${permission === 'push' ? 'write_registry' : 'read_registry'} for ${target}.`
  }
  const verb = permission === 'push' ? 'push to' : 'pull from'
  return hasCredentials
    ? `The credentials used for ${registry} cannot ${verb} ${target}: log in with credentials that can ${verb} ${target}.`
    : `No credentials were found for ${registry}: log in (docker login ${registry}) with credentials that can ${verb} ${target}.`
}
