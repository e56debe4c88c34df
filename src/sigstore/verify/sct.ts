// SCT policy: count the embedded SCTs that verify with a trusted CT log key
// valid at the SCT's time; SCTs from logs the trusted root does not list are
// skipped (sigstore-go), and fewer verified SCTs than the threshold fails.
// The parsing and signed-data layout live in x509/sct.ts.
// Spec: shared/docs/cosign-spec.md §4.6 (Validated), RFC 6962 §3.

import { toBase64 } from '../../util/index.ts'
import { inWindow, type TrustMaterial } from '../trust/index.ts'
import {
  embeddedSCTs,
  precertTbs,
  sctSignedData,
  verifySCTSignature,
  type ParsedCertificate,
  type SignedCertificateTimestamp
} from '../x509/index.ts'
import type { CertificatePath } from './chain.ts'
import { VerificationError } from './errors.ts'

export interface VerifiedSCT {
  sct: SignedCertificateTimestamp
  logUrl: string
}

/**
 * Verifies the SCTs embedded in `cert` (issued by `issuerOrPath`: the
 * issuing certificate, or the path verifyCertificateChain returned) and returns the
 * ones that verified; throws SCT_MISSING / SCT_INVALID below `threshold`.
 */
export function verifySCTs(
  cert: ParsedCertificate,
  issuerOrPath: ParsedCertificate | CertificatePath,
  trust: TrustMaterial,
  threshold = 1
): VerifiedSCT[] {
  const issuer = 'path' in issuerOrPath ? issuerOrPath.path[1] : issuerOrPath
  if (!issuer) {
    throw new VerificationError(
      'SCT_INVALID',
      'no issuing CA certificate to check the SCT against'
    )
  }
  let scts: SignedCertificateTimestamp[]
  let tbs: Uint8Array | undefined
  try {
    scts = embeddedSCTs(cert)
    if (scts.length > 0) tbs = precertTbs(cert)
  } catch (e) {
    throw new VerificationError(
      'SCT_INVALID',
      'the embedded SCT list is malformed',
      { cause: e }
    )
  }
  if (scts.length === 0) {
    if (threshold <= 0) return []
    throw new VerificationError(
      'SCT_MISSING',
      'the signing certificate carries no signed certificate timestamp (SCT)'
    )
  }
  const verified: VerifiedSCT[] = []
  const seen = new Set<string>()
  let failed = 0
  let unknown = 0
  for (const sct of scts) {
    const id = toBase64(sct.logId)
    const logs = (trust.ctlogsById.get(id) ?? []).filter(l =>
      inWindow(l.validFor, sct.timestamp)
    )
    if (logs.length === 0) {
      unknown++
      continue
    }
    const data = sctSignedData(sct, tbs!, issuer.publicKeySpki)
    const log = logs.find(l => verifySCTSignature(sct, data, l.publicKey))
    if (!log) {
      failed++
      continue
    }
    // One log counts once toward the threshold.
    if (seen.has(id)) continue
    seen.add(id)
    verified.push({ sct, logUrl: log.baseUrl })
  }
  if (verified.length < threshold) {
    throw new VerificationError(
      'SCT_INVALID',
      `${verified.length} of ${scts.length} SCTs verified (threshold ${threshold}; ` +
        `${failed} failed verification, ${unknown} from CT logs not trusted at their time)`
    )
  }
  return verified
}
