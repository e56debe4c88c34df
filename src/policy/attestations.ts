// The attestation verifier of `attestations[]` authorities: the statements
// of one image that verify under the authority's checks (identities or key,
// log, timestamps, trust root), by the same engine as `verify-attestation`.
// Predicate types and their policies are matched by evaluate.ts.
import { verifyImageAttestations } from '../cosign/index.ts'
import type { AttestationVerifier } from './evaluate.ts'

export const verifyAttestationsForAuthority: AttestationVerifier = async (
  request,
  deps
) => {
  const { annotations: _none, ...options } = request.options
  const image = await verifyImageAttestations(
    request.target,
    options,
    deps,
    request.signatureRepository
  )
  return image.attestations.map(a => ({
    predicateType: a.predicateType,
    statement: a.statement,
    location: a.location,
    ...(a.identity ? { identity: a.identity } : {})
  }))
}
