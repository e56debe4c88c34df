// Certificate path validation against the trusted root's CAs, at one
// observer time (a verified integratedTime or TSA genTime — never "now" for
// short-lived Fulcio certificates): a CA whose validFor covers the time
// issued the leaf, every certificate on the path is valid at that time, CA
// constraints hold, no unhandled critical extension, the leaf may sign code.
// Ignores any chain shipped with the signature: only trust material anchors.
// Spec: shared/docs/cosign-spec.md §4.3, §8.2 step 3a, §8.3 step 4;
// sigstore/architecture-docs client-spec.md §4.3 (hybrid model).

import {
  HANDLED_CRITICAL,
  OID,
  isSignedBy,
  isValidAt,
  parseCertificate,
  type ParsedCertificate
} from '../x509/index.ts'
import {
  inWindow,
  type CertificateAuthority,
  type TrustMaterial
} from '../trust/index.ts'
import { VerificationError } from './errors.ts'

const ANY_EKU = '2.5.29.37.0'

export interface CertificatePath {
  /** leaf first, trust anchor last. */
  path: ParsedCertificate[]
  ca: CertificateAuthority
}

export interface ChainOptions {
  /** Extended key usage the leaf must carry (default code signing). */
  extKeyUsage?: string
}

// Leaf → issuer signature checks are the expensive part; remember them for
// the lifetime of the parsed objects (several observer times, re-verification).
const signedBy = new WeakMap<
  ParsedCertificate,
  WeakMap<ParsedCertificate, boolean>
>()

function issuedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (!Buffer.from(cert.issuerDer).equals(issuer.subjectDer)) return false
  if (
    cert.authorityKeyId &&
    issuer.subjectKeyId &&
    !Buffer.from(cert.authorityKeyId).equals(issuer.subjectKeyId)
  ) {
    return false
  }
  let m = signedBy.get(cert)
  if (!m) {
    m = new WeakMap()
    signedBy.set(cert, m)
  }
  let ok = m.get(issuer)
  if (ok === undefined) {
    ok = isSignedBy(cert, issuer.publicKey)
    m.set(issuer, ok)
  }
  return ok
}

function fail(code: string, message: string): VerificationError {
  return new VerificationError(code, message)
}

function checkPath(
  path: ParsedCertificate[],
  at: Date,
  eku: string
): VerificationError | undefined {
  const when = at.toISOString()
  for (const [i, c] of path.entries()) {
    if (!isValidAt(c, at)) {
      return fail(
        'CERTIFICATE_EXPIRED_AT_SIGNING',
        `${i === 0 ? 'the signing certificate' : `CA certificate "${c.subject}"`} was not valid at ${when} ` +
          `(valid ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()})`
      )
    }
    for (const [oid, ext] of c.extensions) {
      if (ext.critical && !HANDLED_CRITICAL.has(oid)) {
        return fail(
          'CERTIFICATE_CHAIN_INVALID',
          `certificate "${c.subject || '(leaf)'}" has an unhandled critical extension ${oid}`
        )
      }
    }
    if (i > 0) {
      if (!c.isCA) {
        return fail(
          'CERTIFICATE_CHAIN_INVALID',
          `issuer "${c.subject}" is not a CA`
        )
      }
      if (c.keyUsage && !c.keyUsage.includes('keyCertSign')) {
        return fail(
          'CERTIFICATE_CHAIN_INVALID',
          `issuer "${c.subject}" may not sign certificates`
        )
      }
      // pathLen counts the intermediates allowed below this CA.
      if (c.pathLenConstraint !== undefined && c.pathLenConstraint < i - 1) {
        return fail(
          'CERTIFICATE_CHAIN_INVALID',
          `path length constraint of "${c.subject}" exceeded`
        )
      }
      if (
        c.extKeyUsage &&
        !c.extKeyUsage.includes(eku) &&
        !c.extKeyUsage.includes(ANY_EKU)
      ) {
        return fail(
          'CERTIFICATE_EKU_INVALID',
          `issuer "${c.subject}" is not allowed to issue for ${eku}`
        )
      }
    }
  }
  const leaf = path[0]!
  if (!leaf.extKeyUsage?.includes(eku)) {
    return fail(
      'CERTIFICATE_EKU_INVALID',
      `the signing certificate lacks the extended key usage ${eku}`
    )
  }
  if (leaf.keyUsage && !leaf.keyUsage.includes('digitalSignature')) {
    return fail(
      'CERTIFICATE_EKU_INVALID',
      'the signing certificate may not make digital signatures'
    )
  }
  return undefined
}

/**
 * Builds and validates the path from `leaf` to a trusted CA valid at `at`.
 * Throws CERTIFICATE_UNTRUSTED_CA, CERTIFICATE_EXPIRED_AT_SIGNING,
 * CERTIFICATE_CHAIN_INVALID or CERTIFICATE_EKU_INVALID.
 */
export function verifyCertificateChain(
  leaf: Uint8Array | ParsedCertificate,
  trust: TrustMaterial,
  at: Date,
  options: ChainOptions = {}
): CertificatePath {
  const cert =
    leaf instanceof Uint8Array
      ? (() => {
          try {
            return parseCertificate(leaf)
          } catch (e) {
            throw new VerificationError(
              'CERTIFICATE_INVALID',
              'the signing certificate is malformed',
              {
                cause: e
              }
            )
          }
        })()
      : leaf
  const eku = options.extKeyUsage ?? OID.EKU_CODE_SIGNING
  const t = at.getTime()
  let best: VerificationError | undefined
  let anyIssuer = false
  for (const ca of trust.certificateAuthorities) {
    const k = ca.certChain.findIndex(c => issuedBy(cert, c))
    if (k < 0) continue
    anyIssuer = true
    if (!inWindow(ca.validFor, t)) {
      best ??= fail(
        'CERTIFICATE_UNTRUSTED_CA',
        `the issuing CA ${ca.uri} was not trusted at ${at.toISOString()}`
      )
      continue
    }
    const path = [cert, ...ca.certChain.slice(k)]
    const err = checkPath(path, at, eku)
    if (!err) return { path, ca }
    best = err
  }
  if (best) throw best
  throw fail(
    'CERTIFICATE_UNTRUSTED_CA',
    anyIssuer
      ? `no trusted CA valid at ${at.toISOString()} issued the signing certificate`
      : `the signing certificate (issuer "${cert.issuer}") was not issued by a CA in the trusted root`
  )
}
