// The independent oracle: sigstore-js's @sigstore/verify, offline, against a
// given trusted root (no TUF). Every bundle our code produces should pass it;
// it throws (VerificationError / PolicyError with a code) when it doesn't.
// See ../../../shared/docs/test-stack.md §4.

import { createPublicKey } from 'node:crypto'
import { bundleFromJSON } from '@sigstore/bundle'
import { TrustedRoot } from '@sigstore/protobuf-specs'
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify'

export interface OracleInput {
  trustedRoot: object
  /** bundle JSON (object or string) */
  bundle: unknown
  /** the signed bytes, for messageSignature bundles */
  artifact?: Uint8Array
  san?: string
  issuer?: string
  /** for key-pair bundles: the key every `publicKey.hint` maps to */
  publicKeyPem?: string
  tlogThreshold?: number
  ctlogThreshold?: number
  timestampThreshold?: number
}

export interface OracleResult {
  san: string | undefined
  issuer: string | undefined
}

export function verifyWithSigstoreJs(input: OracleInput): OracleResult {
  const keyFinder = input.publicKeyPem
    ? () => ({
        publicKey: createPublicKey(input.publicKeyPem!),
        validFor: () => true
      })
    : undefined
  const trust = toTrustMaterial(
    TrustedRoot.fromJSON(input.trustedRoot),
    keyFinder
  )
  const json =
    typeof input.bundle === 'string' ? JSON.parse(input.bundle) : input.bundle
  const entity = toSignedEntity(
    bundleFromJSON(json),
    input.artifact ? Buffer.from(input.artifact) : undefined
  )
  const verifier = new Verifier(trust, {
    tlogThreshold: input.tlogThreshold ?? 1,
    ctlogThreshold: input.ctlogThreshold ?? (input.publicKeyPem ? 0 : 1),
    timestampThreshold: input.timestampThreshold ?? 0
  })
  const signer = verifier.verify(entity, {
    ...(input.san ? { subjectAlternativeName: input.san } : {}),
    ...(input.issuer ? { extensions: { issuer: input.issuer } } : {})
  })
  return {
    san: signer.identity?.subjectAlternativeName,
    issuer: signer.identity?.extensions?.issuer
  }
}
