// X.509 certificate parsing for verification: the fields the Sigstore checks
// need (validity, names, SPKI, extensions by OID, SAN types, basic
// constraints, key usage, EKU, key identifiers), read with our DER walker
// because node's X509Certificate does not expose raw extensions. The node
// object is still available (lazily) for callers that want it.
// Does not know which CA is trusted or what an identity policy is.
// Spec: RFC 5280 §4.1-4.2; Fulcio profile in shared/docs/cosign-spec.md §4.3.

import {
  X509Certificate as NodeX509Certificate,
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject
} from 'node:crypto'
import { AppError } from '../../util/index.ts'
import { fulcioExtensions, type FulcioExtensions } from './fulcio.ts'
import {
  Asn1Error,
  TAG,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOid,
  decodeString,
  decodeTime,
  parseDer,
  type DerNode
} from '../asn1/index.ts'

/** The bytes are not a certificate we can read. */
export class CertificateParseError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('CERTIFICATE_INVALID', message, { cause })
  }
}

export const OID = {
  SUBJECT_KEY_ID: '2.5.29.14',
  KEY_USAGE: '2.5.29.15',
  SUBJECT_ALT_NAME: '2.5.29.17',
  BASIC_CONSTRAINTS: '2.5.29.19',
  AUTHORITY_KEY_ID: '2.5.29.35',
  EXT_KEY_USAGE: '2.5.29.37',
  SCT_LIST: '1.3.6.1.4.1.11129.2.4.2',
  PRECERT_POISON: '1.3.6.1.4.1.11129.2.4.3',
  EKU_CODE_SIGNING: '1.3.6.1.5.5.7.3.3',
  EKU_TIME_STAMPING: '1.3.6.1.5.5.7.3.8',
  FULCIO_OTHERNAME_SAN: '1.3.6.1.4.1.57264.1.7'
} as const

export type SanType = 'uri' | 'email' | 'otherName' | 'dns' | 'ip' | 'dirName'

export interface SubjectAltName {
  type: SanType
  value: string
  /** otherName type-id, when `type` is otherName. */
  oid?: string
}

export interface Extension {
  critical: boolean
  /** Contents of extnValue (the DER inside the OCTET STRING). */
  value: Uint8Array
}

export type KeyUsage =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly'

const KEY_USAGE_BITS: KeyUsage[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly'
]

export interface ParsedCertificate {
  der: Uint8Array
  tbsDer: Uint8Array
  serialNumber: Uint8Array
  /** Raw DER of the issuer / subject Name, for exact comparisons. */
  issuerDer: Uint8Array
  subjectDer: Uint8Array
  /** RFC 4514-ish rendering, for messages. */
  issuer: string
  subject: string
  notBefore: Date
  notAfter: Date
  publicKeySpki: Uint8Array
  /** OID of the outer signatureAlgorithm. */
  signatureAlgorithm: string
  signatureValue: Uint8Array
  extensions: Map<string, Extension>
  sans: SubjectAltName[]
  /** sigstore-go's identity: first URI SAN, else email, else otherName. */
  subjectAlternativeName: string | undefined
  /** Fulcio's Sigstore extensions (a malformed one fails the parse). */
  readonly fulcio: FulcioExtensions
  isCA: boolean
  pathLenConstraint: number | undefined
  keyUsage: KeyUsage[] | undefined
  extKeyUsage: string[] | undefined
  subjectKeyId: Uint8Array | undefined
  authorityKeyId: Uint8Array | undefined
  /** node's view of the same certificate, built on first access. */
  readonly x509: NodeX509Certificate
  /** The subject public key as a node KeyObject, built on first access. */
  readonly publicKey: KeyObject
}

const NAME_ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress'
}

/** Parses a DER certificate; throws CertificateParseError on any defect. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  try {
    return parseCertificateUnchecked(der)
  } catch (e) {
    if (e instanceof CertificateParseError) throw e
    const why = e instanceof Error ? e.message : String(e)
    throw new CertificateParseError(`malformed certificate: ${why}`, e)
  }
}

/**
 * RFC 5280 §4.1 in order: the outer Certificate, the TBSCertificate's
 * fields, its extensions, then the extensions the Sigstore checks read.
 */
function parseCertificateUnchecked(der: Uint8Array): ParsedCertificate {
  const outer = readCertificate(der)
  const tbs = readTbsCertificate(outer.tbs)
  if (!equalBytesView(tbs.signature.bytes, outer.signatureAlgorithm.bytes)) {
    throw new Asn1Error('signature algorithms in TBS and certificate differ')
  }
  const { extensions } = tbs
  const notBefore = decodeTime(tbs.validity.child(0))
  const notAfter = decodeTime(tbs.validity.child(1))
  const constraints = readBasicConstraints(extensions)
  const keyUsage = readKeyUsage(extensions)
  const extKeyUsage = readExtKeyUsage(extensions)
  const subjectKeyId = readSubjectKeyId(extensions)
  const authorityKeyId = readAuthorityKeyId(extensions)
  const san = extensions.get(OID.SUBJECT_ALT_NAME)
  const sans = san ? parseGeneralNames(parseDer(san.value)) : []
  // Eager: a malformed Fulcio extension rejects the certificate here.
  const fulcio = fulcioExtensions({ extensions })
  const spkiBytes = tbs.subjectPublicKeyInfo.bytes
  let x509: NodeX509Certificate | undefined
  let publicKey: KeyObject | undefined
  return {
    der,
    tbsDer: outer.tbs.bytes,
    serialNumber: tbs.serialNumber.value,
    issuerDer: tbs.issuer.bytes,
    subjectDer: tbs.subject.bytes,
    issuer: formatName(tbs.issuer),
    subject: formatName(tbs.subject),
    notBefore,
    notAfter,
    publicKeySpki: spkiBytes,
    signatureAlgorithm: decodeOid(outer.signatureAlgorithm.child(0)),
    signatureValue: outer.signatureValue,
    extensions,
    sans,
    subjectAlternativeName: primaryName(sans)?.value,
    fulcio,
    isCA: constraints.isCA,
    pathLenConstraint: constraints.pathLenConstraint,
    keyUsage,
    extKeyUsage,
    subjectKeyId,
    authorityKeyId,
    get x509(): NodeX509Certificate {
      x509 ??= new NodeX509Certificate(der)
      return x509
    },
    get publicKey(): KeyObject {
      publicKey ??= createPublicKey({
        key: Buffer.from(spkiBytes),
        format: 'der',
        type: 'spki'
      })
      return publicKey
    }
  }
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } */
function readCertificate(der: Uint8Array): {
  tbs: DerNode
  signatureAlgorithm: DerNode
  signatureValue: Uint8Array
} {
  const root = parseDer(der).expect(TAG.SEQUENCE, 'Certificate')
  if (root.children.length !== 3) {
    throw new Asn1Error('Certificate must have 3 elements')
  }
  return {
    tbs: root.child(0).expect(TAG.SEQUENCE, 'TBSCertificate'),
    signatureAlgorithm: root
      .child(1)
      .expect(TAG.SEQUENCE, 'signatureAlgorithm'),
    signatureValue: decodeBitString(root.child(2)).bytes
  }
}

interface TbsCertificate {
  serialNumber: DerNode
  signature: DerNode
  issuer: DerNode
  validity: DerNode
  subject: DerNode
  subjectPublicKeyInfo: DerNode
  extensions: Map<string, Extension>
}

/** TBSCertificate (RFC 5280 §4.1.2): version, serial … subjectPublicKeyInfo,
 * then the optional unique IDs and [3] extensions (v3 only). */
function readTbsCertificate(tbs: DerNode): TbsCertificate {
  const f = tbs.children
  let i = 0
  let version = 0
  if (f[0]?.isContext(0)) {
    version = Number(decodeInteger(f[0].child(0)))
    i = 1
  }
  if (version !== 2 && version !== 0 && version !== 1) {
    throw new Asn1Error(`unsupported certificate version ${version + 1}`)
  }
  const out: TbsCertificate = {
    serialNumber: need(f[i++], 'serialNumber').expect(TAG.INTEGER, 'serial'),
    signature: need(f[i++], 'signature').expect(TAG.SEQUENCE),
    issuer: need(f[i++], 'issuer').expect(TAG.SEQUENCE, 'issuer'),
    validity: need(f[i++], 'validity').expect(TAG.SEQUENCE, 'validity'),
    subject: need(f[i++], 'subject').expect(TAG.SEQUENCE, 'subject'),
    subjectPublicKeyInfo: need(f[i++], 'subjectPublicKeyInfo').expect(
      TAG.SEQUENCE
    ),
    extensions: new Map()
  }
  for (; i < f.length; i++) {
    const node = f[i]!
    if (node.isContext(1) || node.isContext(2)) continue
    if (!node.isContext(3)) throw new Asn1Error('unexpected TBS element')
    if (version !== 2) throw new Asn1Error('extensions need version 3')
    readExtensions(node.child(0), out.extensions)
  }
  return out
}

/** Extensions ::= SEQUENCE OF Extension; each OID at most once. */
function readExtensions(node: DerNode, into: Map<string, Extension>): void {
  const seq = node.expect(TAG.SEQUENCE, 'extensions')
  for (const ext of seq.children) {
    ext.expect(TAG.SEQUENCE, 'Extension')
    const oid = decodeOid(ext.child(0))
    let critical = false
    let valueNode = ext.child(1)
    if (valueNode.tag === TAG.BOOLEAN) {
      critical = decodeBoolean(valueNode)
      valueNode = ext.child(2)
    }
    valueNode.expect(TAG.OCTET_STRING, 'extnValue')
    if (into.has(oid)) throw new Asn1Error(`duplicate extension ${oid}`)
    into.set(oid, { critical, value: valueNode.value })
  }
}

function readBasicConstraints(extensions: Map<string, Extension>): {
  isCA: boolean
  pathLenConstraint: number | undefined
} {
  let isCA = false
  let pathLenConstraint: number | undefined
  const bc = extensions.get(OID.BASIC_CONSTRAINTS)
  if (bc) {
    const seq = parseDer(bc.value).expect(TAG.SEQUENCE, 'basicConstraints')
    for (const c of seq.children) {
      if (c.tag === TAG.BOOLEAN) isCA = decodeBoolean(c)
      else if (c.tag === TAG.INTEGER)
        pathLenConstraint = Number(decodeInteger(c))
      else throw new Asn1Error('invalid basicConstraints')
    }
  }
  return { isCA, pathLenConstraint }
}

function readKeyUsage(
  extensions: Map<string, Extension>
): KeyUsage[] | undefined {
  const ku = extensions.get(OID.KEY_USAGE)
  if (!ku) return undefined
  const { bytes } = decodeBitString(parseDer(ku.value))
  const keyUsage: KeyUsage[] = []
  for (let bit = 0; bit < KEY_USAGE_BITS.length; bit++) {
    const byte = bytes[bit >> 3] ?? 0
    if (byte & (0x80 >> (bit & 7))) keyUsage.push(KEY_USAGE_BITS[bit]!)
  }
  return keyUsage
}

function readExtKeyUsage(
  extensions: Map<string, Extension>
): string[] | undefined {
  const eku = extensions.get(OID.EXT_KEY_USAGE)
  if (!eku) return undefined
  return parseDer(eku.value)
    .expect(TAG.SEQUENCE, 'extKeyUsage')
    .children.map(decodeOid)
}

function readSubjectKeyId(
  extensions: Map<string, Extension>
): Uint8Array | undefined {
  const ski = extensions.get(OID.SUBJECT_KEY_ID)
  if (!ski) return undefined
  return parseDer(ski.value).expect(TAG.OCTET_STRING, 'SKI').value
}

function readAuthorityKeyId(
  extensions: Map<string, Extension>
): Uint8Array | undefined {
  const aki = extensions.get(OID.AUTHORITY_KEY_ID)
  if (!aki) return undefined
  const seq = parseDer(aki.value).expect(TAG.SEQUENCE, 'AKI')
  return seq.children.find(c => c.isContext(0))?.value
}

/** sigstore-go's identity: first URI SAN, else email, else otherName. */
function primaryName(sans: SubjectAltName[]): SubjectAltName | undefined {
  return (
    sans.find(s => s.type === 'uri') ??
    sans.find(s => s.type === 'email') ??
    sans.find(s => s.type === 'otherName')
  )
}

function need(n: DerNode | undefined, what: string): DerNode {
  if (!n) throw new Asn1Error(`missing ${what}`)
  return n
}

function equalBytesView(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  )
}

function formatName(name: DerNode): string {
  const parts: string[] = []
  for (const rdn of name.children) {
    rdn.expect(TAG.SET, 'RDN')
    for (const atv of rdn.children) {
      const oid = decodeOid(atv.child(0))
      let value: string
      try {
        value = decodeString(atv.child(1))
      } catch {
        value = '#' + Buffer.from(atv.child(1).bytes).toString('hex')
      }
      parts.push(`${NAME_ATTRS[oid] ?? oid}=${value}`)
    }
  }
  return parts.join(', ')
}

function parseGeneralNames(seq: DerNode): SubjectAltName[] {
  seq.expect(TAG.SEQUENCE, 'GeneralNames')
  const out: SubjectAltName[] = []
  for (const gn of seq.children) {
    if ((gn.tag & 0xc0) !== 0x80) throw new Asn1Error('invalid GeneralName')
    switch (gn.tag & 0x1f) {
      case 0: {
        // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
        const oid = decodeOid(gn.child(0))
        const wrapped = gn.child(1)
        if (!wrapped.isContext(0)) throw new Asn1Error('invalid otherName')
        const inner = wrapped.child(0)
        out.push({ type: 'otherName', oid, value: decodeString(inner) })
        break
      }
      case 1:
        out.push({ type: 'email', value: decodeString(gn) })
        break
      case 2:
        out.push({ type: 'dns', value: decodeString(gn) })
        break
      case 4:
        out.push({ type: 'dirName', value: formatName(gn.child(0)) })
        break
      case 6:
        out.push({ type: 'uri', value: decodeString(gn) })
        break
      case 7:
        out.push({ type: 'ip', value: formatIp(gn.value) })
        break
      default:
        // x400Address, ediPartyName, registeredID: never in Sigstore certs.
        break
    }
  }
  return out
}

function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.')
  if (b.length === 16) {
    const groups: string[] = []
    for (let i = 0; i < 16; i += 2) {
      groups.push(((b[i]! << 8) | b[i + 1]!).toString(16))
    }
    return groups.join(':')
  }
  throw new Asn1Error('invalid iPAddress length')
}

// ---- signatures -------------------------------------------------------------

const SIG_HASH: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null
}

/** Hash for a signature algorithm OID; undefined when unsupported. */
export function hashForSignatureAlgorithm(
  oid: string
): string | null | undefined {
  return Object.hasOwn(SIG_HASH, oid) ? SIG_HASH[oid] : undefined
}

/** Whether `issuerKey` made the certificate's signature. Never throws. */
export function isSignedBy(
  cert: ParsedCertificate,
  issuerKey: KeyObject
): boolean {
  const hash = hashForSignatureAlgorithm(cert.signatureAlgorithm)
  if (hash === undefined) return false
  try {
    return cryptoVerify(hash, cert.tbsDer, issuerKey, cert.signatureValue)
  } catch {
    return false
  }
}

/** Whether `at` lies within [notBefore, notAfter] (inclusive, RFC 5280). */
export function isValidAt(cert: ParsedCertificate, at: Date): boolean {
  const t = at.getTime()
  return cert.notBefore.getTime() <= t && t <= cert.notAfter.getTime()
}

/** Handled extension OIDs; any other critical extension fails closed. */
export const HANDLED_CRITICAL = new Set<string>([
  OID.KEY_USAGE,
  OID.SUBJECT_ALT_NAME,
  OID.BASIC_CONSTRAINTS,
  OID.EXT_KEY_USAGE,
  OID.SUBJECT_KEY_ID,
  OID.AUTHORITY_KEY_ID
])
