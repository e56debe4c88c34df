// Public surface of the KMS layer: cosign's key URIs (hashivault://,
// awskms://, gcpkms://, azurekms://), a signer whose private key never leaves
// the KMS, and key creation. Knows nothing of OCI, Sigstore or the CI
// platform; each provider is a chunk loaded on first use.
import { createPublicKey } from 'node:crypto'
import { verifySignature } from '../crypto/index.ts'
import { AppError, digest, toPem, type HashAlgorithm } from '../util/index.ts'
import { KmsError } from './errors.ts'
import type { KmsContext, KmsKeyClient, KmsProviderModule } from './types.ts'
import { parseKmsUri, type KmsReference } from './uri.ts'

export { KmsError, type KmsErrorCode } from './errors.ts'
export { isKmsUri, parseKmsUri, type KmsReference } from './uri.ts'
export type { KmsContext, KmsKeyClient } from './types.ts'

/** A signer backed by a KMS key: the same surface as a local SigningKey,
 * except that signing is a network call. */
export interface KmsSigner {
  readonly uri: string
  readonly algorithm:
    | 'ECDSA_P256_SHA256'
    | 'ECDSA_P384_SHA384'
    | 'ECDSA_P521_SHA512'
    | 'RSA_PKCS1V15_SHA256'
  readonly hash: HashAlgorithm
  readonly publicKeySpki: Uint8Array
  readonly publicKeyPem: string
  /** Hashes `data`, has the KMS sign the digest, and checks the signature
   * against the public key before returning it. */
  sign(data: Uint8Array): Promise<Uint8Array>
}

async function loadProvider(ref: KmsReference): Promise<KmsProviderModule> {
  // Literal specifiers, so that ncc emits one chunk per provider.
  switch (ref.provider) {
    case 'hashivault':
      return import('./hashivault.ts')
    case 'awskms':
      return import('./awskms.ts')
    case 'gcpkms':
      return import('./gcpkms.ts')
    case 'azurekms':
      return import('./azurekms.ts')
  }
}

export async function openKmsKey(
  uri: string,
  ctx: KmsContext
): Promise<KmsKeyClient> {
  const ref = parseKmsUri(uri)
  const provider = await loadProvider(ref)
  return provider.openKey(ref, ctx)
}

function describeKey(
  uri: string,
  spki: Uint8Array
): {
  algorithm: KmsSigner['algorithm']
  hash: HashAlgorithm
} {
  let key
  try {
    key = createPublicKey({
      key: Buffer.from(spki),
      format: 'der',
      type: 'spki'
    })
  } catch (e) {
    throw new KmsError(
      'KMS_RESPONSE_INVALID',
      `the public key of ${uri} is not a valid SubjectPublicKeyInfo`,
      { cause: e }
    )
  }
  if (key.asymmetricKeyType === 'ec') {
    switch (key.asymmetricKeyDetails?.namedCurve) {
      case 'prime256v1':
        return { algorithm: 'ECDSA_P256_SHA256', hash: 'sha256' }
      case 'secp384r1':
        return { algorithm: 'ECDSA_P384_SHA384', hash: 'sha384' }
      case 'secp521r1':
        return { algorithm: 'ECDSA_P521_SHA512', hash: 'sha512' }
    }
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits >= 2048)
      return { algorithm: 'RSA_PKCS1V15_SHA256', hash: 'sha256' }
  }
  throw new KmsError(
    'KMS_KEY_UNSUPPORTED',
    `${uri} is a ${key.asymmetricKeyType ?? 'unknown'} key${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}, which Sigil does not sign with`,
    {
      remedy:
        'Use an ECDSA P-256 key (the cosign default), P-384, P-521 or RSA 2048+ with PKCS#1 v1.5.'
    }
  )
}

/** Opens `uri` and fetches its public key: ready to sign. */
export async function createKmsSigner(
  uri: string,
  ctx: KmsContext
): Promise<KmsSigner> {
  const client = await openKmsKey(uri, ctx)
  const spki = await client.publicKey()
  const { algorithm, hash } = describeKey(uri, spki)
  return {
    uri,
    algorithm,
    hash,
    publicKeySpki: spki,
    publicKeyPem: toPem('PUBLIC KEY', spki),
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const signature = await client.signDigest(digest(hash, data), hash)
      // Fail closed: a signature that does not verify (another key version
      // signed, a broken proxy) must never reach a registry or a log.
      let ok = false
      try {
        ok = verifySignature(spki, data, signature, hash)
      } catch (e) {
        if (!(e instanceof AppError)) throw e
      }
      if (!ok)
        throw new KmsError(
          'KMS_RESPONSE_INVALID',
          `${uri} returned a signature that does not verify with its public key (was the key rotated while signing?)`,
          {
            remedy:
              'Run again; if it persists, check the key version the KMS signs with.'
          }
        )
      return signature
    }
  }
}

/** The PEM public key of `uri` (cosign public-key / verify --key URI). */
export async function fetchKmsPublicKey(
  uri: string,
  ctx: KmsContext
): Promise<string> {
  const client = await openKmsKey(uri, ctx)
  const spki = await client.publicKey()
  describeKey(uri, spki)
  return toPem('PUBLIC KEY', spki)
}

/** cosign generate-key-pair --kms: creates the key (ECDSA P-256) unless it
 * exists; its PEM public key. */
export async function createKmsKey(
  uri: string,
  ctx: KmsContext
): Promise<string> {
  const client = await openKmsKey(uri, ctx)
  return toPem('PUBLIC KEY', await client.create())
}
