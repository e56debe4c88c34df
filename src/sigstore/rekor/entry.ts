// Proposed Rekor v1 entries: hashedrekord v0.0.1 (a signature over a digest)
// and dsse v0.0.1 (a DSSE envelope). Rekor canonicalizes what it stores; these
// are only the request bodies. Spec: cosign-spec.md §5.2, §5.10;
// sigstore/rekor pkg/types/{hashedrekord,dsse}/v0.0.1 schemas.

import { toBase64, utf8, type HashAlgorithm } from '../../util/index.ts'

export interface HashedRekordEntry {
  apiVersion: '0.0.1'
  kind: 'hashedrekord'
  spec: {
    signature: { content: string; publicKey: { content: string } }
    data: { hash: { algorithm: HashAlgorithm; value: string } }
  }
}

export interface DsseEntry {
  apiVersion: '0.0.1'
  kind: 'dsse'
  spec: { proposedContent: { envelope: string; verifiers: string[] } }
}

export interface HashedRekordInput {
  /** lowercase hex SHA-256 of the signed bytes (not the image digest) */
  payloadSha256Hex?: string
  /** or any allowed digest of the signed bytes */
  digest?: { algorithm: HashAlgorithm; hex: string }
  /** raw signature bytes (DER for ECDSA) */
  signature: Uint8Array
  /** PEM leaf certificate (keyless) or PEM public key (key pair) */
  verifierPem: string
}

const HEX_LENGTH: Record<HashAlgorithm, number> = {
  sha256: 64,
  sha384: 96,
  sha512: 128
}

export function buildHashedRekordEntry(
  input: HashedRekordInput
): HashedRekordEntry {
  const digest =
    input.digest ??
    (input.payloadSha256Hex === undefined
      ? undefined
      : { algorithm: 'sha256' as const, hex: input.payloadSha256Hex })
  if (!digest || (input.digest && input.payloadSha256Hex !== undefined)) {
    throw new TypeError('pass exactly one of payloadSha256Hex and digest')
  }
  const len = HEX_LENGTH[digest.algorithm]
  if (len === undefined || !new RegExp(`^[0-9a-f]{${len}}$`).test(digest.hex)) {
    throw new TypeError(`digest must be ${len ?? '?'} lowercase hex characters`)
  }
  if (input.signature.length === 0) throw new TypeError('empty signature')
  assertPem(input.verifierPem)
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      signature: {
        content: toBase64(input.signature),
        publicKey: { content: toBase64(utf8(input.verifierPem)) }
      },
      data: { hash: { algorithm: digest.algorithm, value: digest.hex } }
    }
  }
}

export interface DsseEntryInput {
  /** the DSSE envelope JSON exactly as it will be stored/published */
  envelopeJson: string
  /** PEM leaf certificate or public key, one per envelope signature */
  verifierPem: string | string[]
}

export function buildDsseEntry(input: DsseEntryInput): DsseEntry {
  let env: { payload?: unknown; payloadType?: unknown; signatures?: unknown }
  try {
    env = JSON.parse(input.envelopeJson) as typeof env
  } catch {
    throw new TypeError('envelopeJson is not JSON')
  }
  if (
    typeof env?.payload !== 'string' ||
    typeof env.payloadType !== 'string' ||
    !Array.isArray(env.signatures) ||
    env.signatures.length === 0
  ) {
    throw new TypeError('envelopeJson is not a signed DSSE envelope')
  }
  const verifiers = Array.isArray(input.verifierPem)
    ? input.verifierPem
    : [input.verifierPem]
  if (verifiers.length === 0) throw new TypeError('no verifier')
  verifiers.forEach(assertPem)
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      proposedContent: {
        envelope: input.envelopeJson,
        verifiers: verifiers.map(v => toBase64(utf8(v)))
      }
    }
  }
}

function assertPem(pem: string): void {
  if (!/-----BEGIN (CERTIFICATE|PUBLIC KEY)-----/.test(pem)) {
    throw new TypeError('verifierPem must be a PEM certificate or public key')
  }
}
