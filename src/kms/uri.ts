// cosign's KMS key URIs, parsed before any network call. Grammar from
// sigstore/sigstore pkg/signature/kms/{hashivault,aws,gcp,azure}/client.go.
import { KmsError } from './errors.ts'

export type KmsProviderName = 'hashivault' | 'awskms' | 'gcpkms' | 'azurekms'

export type KmsReference =
  | { provider: 'hashivault'; uri: string; keyName: string }
  | {
      provider: 'awskms'
      uri: string
      /** host[:port] from `awskms://ENDPOINT/…`, '' for the regional one */
      endpoint: string
      /** key id, key ARN, alias/NAME or alias ARN: what KMS takes as KeyId */
      keyId: string
      /** `alias/NAME` when the reference names an alias */
      alias?: string
      /** from an ARN */
      region?: string
    }
  | { provider: 'gcpkms'; uri: string; resource: string }
  | {
      provider: 'azurekms'
      uri: string
      /** the vault's host, e.g. `myvault.vault.azure.net` */
      vault: string
      keyName: string
      /** '' = the current version */
      version: string
    }

const SCHEMES: Record<string, KmsProviderName> = {
  'hashivault://': 'hashivault',
  'openbao://': 'hashivault',
  'awskms://': 'awskms',
  'gcpkms://': 'gcpkms',
  'azurekms://': 'azurekms'
}

/** Whether `value` names a key in a KMS (by scheme; parse it to validate). */
export function isKmsUri(value: string): boolean {
  return Object.keys(SCHEMES).some(s => value.startsWith(s))
}

const HASHIVAULT = /^(?:hashivault|openbao):\/\/(\w(?:[\w.-]*\w)?)$/
const UUID =
  'm?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}'
const ARN = 'arn:(?:aws|aws-us-gov|aws-cn):kms:([a-z0-9-]+):\\d{12}:'
const HOST = '([^/]*)/'
const AWS_FORMS = [
  new RegExp(`^awskms://${HOST}(${UUID})$`),
  new RegExp(`^awskms://${HOST}(${ARN}key/${UUID})$`),
  new RegExp(`^awskms://${HOST}((alias/.+))$`),
  new RegExp(`^awskms://${HOST}(${ARN}(alias/.+))$`)
]
const GCP =
  /^gcpkms:\/\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+(?:\/cryptoKeyVersions\/[^/]+)?)$/
const AZURE = /^azurekms:\/\/([^/]+)\/([^/]+)(?:\/([a-z0-9]*))?$/

function invalid(uri: string, shape: string): KmsError {
  return new KmsError(
    'KMS_URI_INVALID',
    `${JSON.stringify(uri)} is not a valid key URI; expected ${shape}`
  )
}

export function parseKmsUri(uri: string): KmsReference {
  const scheme = Object.keys(SCHEMES).find(s => uri.startsWith(s))
  switch (scheme ? SCHEMES[scheme] : undefined) {
    case 'hashivault': {
      const m = HASHIVAULT.exec(uri)
      if (!m?.[1]) throw invalid(uri, 'hashivault://KEY_NAME')
      return { provider: 'hashivault', uri, keyName: m[1] }
    }
    case 'awskms': {
      for (const [i, re] of AWS_FORMS.entries()) {
        const m = re.exec(uri)
        if (!m) continue
        const endpoint = m[1] ?? ''
        const keyId = m[2] ?? ''
        const region = i === 1 || i === 3 ? m[3] : undefined
        const alias = i === 2 ? m[3] : i === 3 ? m[4] : undefined
        return {
          provider: 'awskms',
          uri,
          endpoint,
          keyId,
          ...(alias ? { alias } : {}),
          ...(region ? { region } : {})
        }
      }
      throw invalid(
        uri,
        'awskms://[ENDPOINT]/KEY_ID, awskms:///alias/NAME or awskms:///arn:aws:kms:REGION:ACCOUNT:key/ID (note the third slash when there is no endpoint)'
      )
    }
    case 'gcpkms': {
      const m = GCP.exec(uri)
      if (!m?.[1])
        throw invalid(
          uri,
          'gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]'
        )
      return { provider: 'gcpkms', uri, resource: m[1] }
    }
    case 'azurekms': {
      const m = AZURE.exec(uri)
      if (!m?.[1] || !m[2])
        throw invalid(
          uri,
          'azurekms://VAULT.vault.azure.net/KEY_NAME[/VERSION]'
        )
      return {
        provider: 'azurekms',
        uri,
        vault: m[1],
        keyName: m[2],
        version: m[3] ?? ''
      }
    }
    default:
      throw invalid(
        uri,
        'hashivault://, awskms://, gcpkms:// or azurekms:// followed by the key'
      )
  }
}
