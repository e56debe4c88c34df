// Fulcio's Sigstore extensions (OID arc 1.3.6.1.4.1.57264.1) decoded into a
// named summary. `.1`-`.6` carry raw UTF-8 bytes, `.8`-`.24` a DER
// UTF8String; `.7` lives in the SAN as an otherName and is not read here.
// Knows nothing about policy; it only reports what the certificate says.
// Spec: shared/docs/cosign-spec.md §4.4 (sigstore/fulcio docs/oid-info.md).

import { Asn1Error, TAG, parseDer } from '../asn1/index.ts'
import type { ParsedCertificate } from './certificate.ts'

export interface FulcioExtensions {
  /** Issuer: `.8` when present, else the deprecated `.1`. */
  issuer?: string
  /** Deprecated raw `.1` issuer (what cosign's legacy path reads). */
  issuerV1?: string
  /** DER `.8` issuer. */
  issuerV2?: string
  githubWorkflowTrigger?: string
  githubWorkflowSha?: string
  githubWorkflowName?: string
  githubWorkflowRepository?: string
  githubWorkflowRef?: string
  buildSignerURI?: string
  buildSignerDigest?: string
  runnerEnvironment?: string
  sourceRepositoryURI?: string
  sourceRepositoryDigest?: string
  sourceRepositoryRef?: string
  sourceRepositoryIdentifier?: string
  sourceRepositoryOwnerURI?: string
  sourceRepositoryOwnerIdentifier?: string
  buildConfigURI?: string
  buildConfigDigest?: string
  buildTrigger?: string
  runInvocationURI?: string
  sourceRepositoryVisibilityAtSigning?: string
  deploymentEnvironment?: string
  tokenSubject?: string
}

export type FulcioExtensionName = Exclude<
  keyof FulcioExtensions,
  'issuer' | 'issuerV1' | 'issuerV2'
>

const ARC = '1.3.6.1.4.1.57264.1.'

const RAW: Record<string, keyof FulcioExtensions> = {
  [`${ARC}1`]: 'issuerV1',
  [`${ARC}2`]: 'githubWorkflowTrigger',
  [`${ARC}3`]: 'githubWorkflowSha',
  [`${ARC}4`]: 'githubWorkflowName',
  [`${ARC}5`]: 'githubWorkflowRepository',
  [`${ARC}6`]: 'githubWorkflowRef'
}

const DER_UTF8: Record<string, keyof FulcioExtensions> = {
  [`${ARC}8`]: 'issuerV2',
  [`${ARC}9`]: 'buildSignerURI',
  [`${ARC}10`]: 'buildSignerDigest',
  [`${ARC}11`]: 'runnerEnvironment',
  [`${ARC}12`]: 'sourceRepositoryURI',
  [`${ARC}13`]: 'sourceRepositoryDigest',
  [`${ARC}14`]: 'sourceRepositoryRef',
  [`${ARC}15`]: 'sourceRepositoryIdentifier',
  [`${ARC}16`]: 'sourceRepositoryOwnerURI',
  [`${ARC}17`]: 'sourceRepositoryOwnerIdentifier',
  [`${ARC}18`]: 'buildConfigURI',
  [`${ARC}19`]: 'buildConfigDigest',
  [`${ARC}20`]: 'buildTrigger',
  [`${ARC}21`]: 'runInvocationURI',
  [`${ARC}22`]: 'sourceRepositoryVisibilityAtSigning',
  [`${ARC}23`]: 'deploymentEnvironment',
  [`${ARC}24`]: 'tokenSubject'
}

/** OID of each named extension, for messages ("expected … in <oid>"). */
export const FULCIO_EXTENSION_OIDS: Record<string, string> = Object.fromEntries(
  [...Object.entries(RAW), ...Object.entries(DER_UTF8)].map(([o, n]) => [n, o])
)

const strict = new TextDecoder('utf-8', { fatal: true })

/**
 * Decodes every Fulcio extension present. A known extension whose value is
 * not in its expected encoding (raw UTF-8 for `.1`-`.6`, one DER UTF8String
 * for `.8`-`.24`) rejects the certificate: guessing, or falling back from a
 * malformed `.8` issuer to the deprecated `.1`, would let a certificate say
 * two things at once (sigstore-js rejects it too).
 */
export function fulcioExtensions(
  cert: Pick<ParsedCertificate, 'extensions'>
): FulcioExtensions {
  const out: FulcioExtensions = {}
  for (const [oid, ext] of cert.extensions) {
    if (!oid.startsWith(ARC)) continue
    const raw = RAW[oid]
    if (raw) {
      out[raw] = decodeUtf8(ext.value, oid, raw, 'UTF-8 text')
      continue
    }
    const named = DER_UTF8[oid]
    if (named) out[named] = decodeDerUtf8(ext.value, oid, named)
  }
  const issuer = out.issuerV2 ?? out.issuerV1
  if (issuer !== undefined) out.issuer = issuer
  return out
}

function decodeDerUtf8(value: Uint8Array, oid: string, name: string): string {
  let node
  try {
    node = parseDer(value)
  } catch {
    throw malformed(oid, name, 'a DER UTF8String')
  }
  if (node.tag !== TAG.UTF8_STRING)
    throw malformed(oid, name, 'a DER UTF8String')
  return decodeUtf8(node.value, oid, name, 'a DER UTF8String')
}

function decodeUtf8(
  value: Uint8Array,
  oid: string,
  name: string,
  expected: string
): string {
  try {
    return strict.decode(value)
  } catch {
    throw malformed(oid, name, expected)
  }
}

function malformed(oid: string, name: string, expected: string): Asn1Error {
  return new Asn1Error(
    `Fulcio extension ${oid} (${name}) is present but is not ${expected}`
  )
}
