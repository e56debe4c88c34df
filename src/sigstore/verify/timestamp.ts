// RFC 3161 signed timestamps: parse a TimeStampResp (or a bare
// TimeStampToken), check that its CMS SignedData is signed by a trusted TSA
// whose chain and validFor window cover genTime, that the signed attributes
// bind the TSTInfo, and that the message imprint is the hash of the
// signature being timestamped. The verified genTime becomes an observer time.
// Does not talk to a TSA (sigstore/tsa does) and ignores certificates
// embedded in the token: only the trusted root's TSA chains count.
// Spec: RFC 3161 §2.4.2, RFC 5652 §5; shared/docs/cosign-spec.md §5.13.

import { createHash, verify as cryptoVerify } from 'node:crypto'
import {
  TAG,
  decodeInteger,
  decodeOid,
  decodeTime,
  parseDer,
  type DerNode
} from '../asn1/index.ts'
import {
  inWindow,
  type CertificateAuthority,
  type TrustMaterial
} from '../trust/index.ts'
import { OID, isValidAt } from '../x509/index.ts'
import { VerificationError } from './errors.ts'

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2'
const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4'
const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3'
const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4'

const DIGESTS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512'
}
const SIGNATURE_ALGS = new Set([
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13'
])

export interface TimestampToken {
  genTime: Date
  imprintAlgorithm: string
  imprint: Uint8Array
  tstInfoDer: Uint8Array
  /** issuerAndSerialNumber of the signer, or its subject key identifier. */
  signerIssuerDer: Uint8Array | undefined
  signerSerial: Uint8Array | undefined
  signerKeyId: Uint8Array | undefined
  digestAlgorithm: string
  /** signedAttrs re-tagged as SET OF, the bytes the TSA signed. */
  signedAttrsDer: Uint8Array
  messageDigest: Uint8Array
  signature: Uint8Array
}

function bad(message: string, cause?: unknown): VerificationError {
  return new VerificationError(
    'TIMESTAMP_INVALID',
    `RFC 3161 timestamp ${message}`,
    { cause }
  )
}

/** Parses a DER TimeStampResp or TimeStampToken; TIMESTAMP_INVALID on defects. */
export function parseTimestampToken(der: Uint8Array): TimestampToken {
  try {
    return parseUnchecked(der)
  } catch (e) {
    if (e instanceof VerificationError) throw e
    throw bad(`is malformed: ${(e as Error).message}`, e)
  }
}

function parseUnchecked(der: Uint8Array): TimestampToken {
  const root = parseDer(der).expect(TAG.SEQUENCE, 'TimeStampResp')
  let token: DerNode = root
  if (root.child(0).tag === TAG.SEQUENCE) {
    const status = decodeInteger(root.child(0).child(0))
    if (status !== 0n && status !== 1n)
      throw bad(`was not granted (status ${status})`)
    token = root.child(1)
  }
  token.expect(TAG.SEQUENCE, 'ContentInfo')
  if (decodeOid(token.child(0)) !== OID_SIGNED_DATA)
    throw bad('is not CMS SignedData')
  const wrapper = token.child(1)
  if (!wrapper.isContext(0)) throw bad('has no SignedData content')
  const sd = wrapper.child(0).expect(TAG.SEQUENCE, 'SignedData')
  const encap = sd.child(2).expect(TAG.SEQUENCE, 'EncapsulatedContentInfo')
  if (decodeOid(encap.child(0)) !== OID_TSTINFO)
    throw bad('does not hold a TSTInfo')
  const eContent = encap.child(1)
  if (!eContent.isContext(0)) throw bad('has no TSTInfo content')
  const tstOctets = eContent.child(0).expect(TAG.OCTET_STRING, 'eContent')
  const tst = tstOctets.parseContent().expect(TAG.SEQUENCE, 'TSTInfo')
  const imprint = tst.child(2).expect(TAG.SEQUENCE, 'MessageImprint')
  const imprintAlgorithm = DIGESTS[decodeOid(imprint.child(0).child(0))]
  if (!imprintAlgorithm) throw bad('uses an unsupported imprint hash')
  const genTime = tst.child(4).expect(TAG.GENERALIZED_TIME, 'genTime')

  const signerInfos = sd.children[sd.children.length - 1]!.expect(
    TAG.SET,
    'SignerInfos'
  )
  if (signerInfos.children.length !== 1)
    throw bad('must have exactly one signer')
  const si = signerInfos.child(0).expect(TAG.SEQUENCE, 'SignerInfo')
  const sid = si.child(1)
  let signerIssuerDer: Uint8Array | undefined
  let signerSerial: Uint8Array | undefined
  let signerKeyId: Uint8Array | undefined
  if (sid.tag === TAG.SEQUENCE) {
    signerIssuerDer = sid.child(0).expect(TAG.SEQUENCE, 'issuer').bytes
    signerSerial = sid.child(1).expect(TAG.INTEGER, 'serialNumber').value
  } else if (sid.isContext(0)) {
    signerKeyId = sid.value
  } else {
    throw bad('has an unknown signer identifier')
  }
  const digestAlgorithm = DIGESTS[decodeOid(si.child(2).child(0))]
  if (!digestAlgorithm) throw bad('uses an unsupported digest algorithm')
  const attrs = si.child(3)
  if (!attrs.isContext(0)) throw bad('has no signed attributes')
  const sigAlg = decodeOid(si.child(4).child(0))
  if (!SIGNATURE_ALGS.has(sigAlg))
    throw bad(`uses unsupported signature ${sigAlg}`)
  const signature = si.child(5).expect(TAG.OCTET_STRING, 'signature').value

  let contentType: string | undefined
  let messageDigest: Uint8Array | undefined
  for (const a of attrs.children) {
    const type = decodeOid(a.child(0))
    const values = a.child(1).expect(TAG.SET, 'attrValues')
    if (values.children.length !== 1) throw bad('has a multi-valued attribute')
    if (type === OID_ATTR_CONTENT_TYPE) contentType = decodeOid(values.child(0))
    else if (type === OID_ATTR_MESSAGE_DIGEST) {
      messageDigest = values
        .child(0)
        .expect(TAG.OCTET_STRING, 'messageDigest').value
    }
  }
  if (contentType !== OID_TSTINFO)
    throw bad('signed content type is not TSTInfo')
  if (!messageDigest) throw bad('has no message-digest attribute')

  const signedAttrsDer = Buffer.from(attrs.bytes)
  signedAttrsDer[0] = TAG.SET
  return {
    genTime: decodeTime(genTime),
    imprintAlgorithm,
    imprint: imprint.child(1).expect(TAG.OCTET_STRING, 'hashedMessage').value,
    tstInfoDer: tst.bytes,
    signerIssuerDer,
    signerSerial,
    signerKeyId,
    digestAlgorithm,
    signedAttrsDer,
    messageDigest,
    signature
  }
}

function eq(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a).equals(b)
}

function signerMatches(tok: TimestampToken, ca: CertificateAuthority): boolean {
  const leaf = ca.certChain[0]!
  if (tok.signerKeyId) return eq(tok.signerKeyId, leaf.subjectKeyId)
  return (
    eq(tok.signerIssuerDer, leaf.issuerDer) &&
    eq(tok.signerSerial, leaf.serialNumber)
  )
}

/**
 * Verifies a timestamp over `signature` (the bytes that were timestamped)
 * and returns its genTime.
 */
export function verifyRFC3161Timestamp(
  der: Uint8Array,
  signature: Uint8Array,
  trust: TrustMaterial
): Date {
  const tok = parseTimestampToken(der)
  const t = tok.genTime.getTime()

  const imprint = createHash(tok.imprintAlgorithm).update(signature).digest()
  if (!imprint.equals(tok.imprint)) {
    throw bad('does not cover this signature (message imprint differs)')
  }
  const tstDigest = createHash(tok.digestAlgorithm)
    .update(tok.tstInfoDer)
    .digest()
  if (!tstDigest.equals(tok.messageDigest)) {
    throw bad('signed attributes do not match its TSTInfo')
  }

  const candidates = trust.timestampAuthorities.filter(ca =>
    signerMatches(tok, ca)
  )
  if (candidates.length === 0) {
    throw bad('is not signed by a timestamp authority in the trusted root')
  }
  let lastWhy = ''
  for (const ca of candidates) {
    if (!inWindow(ca.validFor, t)) {
      lastWhy = `the TSA ${ca.uri} was not valid at ${tok.genTime.toISOString()}`
      continue
    }
    const expired = ca.certChain.find(c => !isValidAt(c, tok.genTime))
    if (expired) {
      lastWhy = `TSA certificate "${expired.subject}" was not valid at ${tok.genTime.toISOString()}`
      continue
    }
    const leaf = ca.certChain[0]!
    if (!leaf.extKeyUsage?.includes(OID.EKU_TIME_STAMPING)) {
      lastWhy = `TSA certificate "${leaf.subject}" lacks the timeStamping key usage`
      continue
    }
    let ok = false
    try {
      ok = cryptoVerify(
        tok.digestAlgorithm,
        tok.signedAttrsDer,
        leaf.publicKey,
        tok.signature
      )
    } catch {
      ok = false
    }
    if (ok) return tok.genTime
    lastWhy = 'its signature does not verify with the TSA key'
  }
  throw bad(lastWhy)
}
