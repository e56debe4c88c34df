// Does the logged entry describe *this* signature? Compares the canonical
// Rekor body with the signature content and the signer's key/certificate:
// hashedrekord 0.0.1/0.0.2, dsse 0.0.1/0.0.2, intoto 0.0.2. Without this a
// valid entry for another artifact could vouch for a forged bundle
// (CVE-2022-36056).
// Knows nothing about inclusion; tlog/index.ts checks that first.
// Spec: shared/docs/cosign-spec.md §5.2-5.3, §5.10, §5.12; sigstore-go
// pkg/verify/tlog.go; sigstore-js packages/verify/src/tlog/*.ts.

import {
  fromBase64,
  fromHex,
  parsePemBlocks,
  type HashAlgorithm,
  isObject
} from '../../../util/index.ts'
import { parseCertificate } from '../../x509/index.ts'
import { VerificationError } from '../errors.ts'
import type { SignatureContent, TlogEntry } from '../signed-entity.ts'
import { hashBytes } from '../signed-entity.ts'
import { preAuthEncoding } from '../signature.ts'

/** Who signed, as the body must name it. */
export interface SignerKeyInfo {
  /** Leaf certificate DER (certificate mode). */
  certificateDer?: Uint8Array
  /** DER SPKI of the verifying key. */
  spki: Uint8Array
}

type Json = Record<string, unknown>

function mismatch(entry: TlogEntry, what: string): VerificationError {
  return new VerificationError(
    'TLOG_BODY_MISMATCH',
    `transparency log entry ${entry.logIndex} does not match the signature: ${what}`
  )
}

function invalid(entry: TlogEntry, what: string): VerificationError {
  return new VerificationError(
    'TLOG_BODY_INVALID',
    `transparency log entry ${entry.logIndex} has an unusable body: ${what}`
  )
}

const get = (o: unknown, ...path: string[]): unknown => {
  let cur = o
  for (const p of path) {
    if (!isObject(cur)) return undefined
    cur = cur[p]
  }
  return cur
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}

function b64Field(entry: TlogEntry, v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || v === '')
    throw invalid(entry, `${what} is missing`)
  return fromBase64(v)
}

function hexField(entry: TlogEntry, v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw invalid(entry, `${what} is missing`)
  try {
    return fromHex(v)
  } catch {
    throw invalid(entry, `${what} is not hex`)
  }
}

const V1_HASH: Record<string, HashAlgorithm> = {
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512'
}
const V2_HASH: Record<string, HashAlgorithm> = {
  SHA2_256: 'sha256',
  SHA2_384: 'sha384',
  SHA2_512: 'sha512'
}

/** Checks a verifier given as PEM text (cert or public key) against the signer. */
function checkPemVerifier(
  entry: TlogEntry,
  pemText: string,
  signer: SignerKeyInfo
): void {
  const blocks = parsePemBlocks(pemText)
  if (blocks.length !== 1)
    throw invalid(entry, 'verifier is not a single PEM block')
  const { label, der } = blocks[0]!
  if (label === 'CERTIFICATE') checkCertVerifier(entry, der, signer)
  else if (label === 'PUBLIC KEY') checkKeyVerifier(entry, der, signer)
  else throw invalid(entry, `verifier has PEM type ${label}`)
}

function checkCertVerifier(
  entry: TlogEntry,
  der: Uint8Array,
  signer: SignerKeyInfo
): void {
  if (signer.certificateDer) {
    if (!eq(der, signer.certificateDer)) {
      throw mismatch(entry, 'it names a different certificate')
    }
    return
  }
  let spki: Uint8Array
  try {
    spki = parseCertificate(der).publicKeySpki
  } catch (e) {
    throw invalid(
      entry,
      `verifier certificate is malformed (${(e as Error).message})`
    )
  }
  if (!eq(spki, signer.spki)) throw mismatch(entry, 'it names a different key')
}

function checkKeyVerifier(
  entry: TlogEntry,
  der: Uint8Array,
  signer: SignerKeyInfo
): void {
  if (!eq(der, signer.spki))
    throw mismatch(entry, 'it names a different public key')
}

/** A Rekor v2 `verifier` object: {x509Certificate{rawBytes}} | {publicKey{rawBytes}}. */
function checkV2Verifier(
  entry: TlogEntry,
  v: unknown,
  signer: SignerKeyInfo
): void {
  const cert = get(v, 'x509Certificate', 'rawBytes')
  if (cert !== undefined) {
    return checkCertVerifier(
      entry,
      b64Field(entry, cert, 'verifier certificate'),
      signer
    )
  }
  const key = get(v, 'publicKey', 'rawBytes')
  if (key !== undefined) {
    return checkKeyVerifier(entry, b64Field(entry, key, 'verifier key'), signer)
  }
  throw invalid(entry, 'verifier is missing')
}

/** The digest a hashedrekord entry must record for this content. */
function signedDigest(
  entry: TlogEntry,
  content: SignatureContent,
  algorithm: HashAlgorithm
): Uint8Array {
  if (content.type === 'dsse') {
    // Rekor v2 logs DSSE as a hashedrekord over the PAE.
    return hashBytes(
      algorithm,
      preAuthEncoding(content.payloadType, content.payload)
    )
  }
  if (content.declaredDigest) {
    if (content.declaredDigest.algorithm !== algorithm) {
      throw mismatch(
        entry,
        `it records a ${algorithm} digest, the bundle a ${content.declaredDigest.algorithm} one`
      )
    }
    return content.declaredDigest.value
  }
  if (content.artifact) return hashBytes(algorithm, content.artifact)
  if (content.artifactDigest?.algorithm === algorithm)
    return content.artifactDigest.value
  throw mismatch(entry, 'no digest of the signed artifact to compare with')
}

/** Throws unless the entry body matches the signature, key and artifact. */
export function verifyTlogBody(
  entry: TlogEntry,
  content: SignatureContent,
  signer: SignerKeyInfo
): void {
  let body: unknown
  try {
    body = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(entry.body)
    )
  } catch {
    throw invalid(entry, 'not JSON')
  }
  if (!isObject(body)) throw invalid(entry, 'not an object')
  if (body['kind'] !== entry.kind || body['apiVersion'] !== entry.version) {
    throw mismatch(
      entry,
      `the bundle says ${entry.kind} ${entry.version}, the body ${String(body['kind'])} ${String(body['apiVersion'])}`
    )
  }
  const spec = body['spec']
  if (!isObject(spec)) throw invalid(entry, 'spec is missing')
  const id = `${entry.kind}/${entry.version}`
  switch (id) {
    case 'hashedrekord/0.0.1':
      return hashedRekordV001(entry, spec, content, signer)
    case 'hashedrekord/0.0.2':
      return hashedRekordV002(entry, spec, content, signer)
    case 'dsse/0.0.1':
      return dsseV001(entry, spec, content, signer)
    case 'dsse/0.0.2':
      return dsseV002(entry, spec, content, signer)
    case 'intoto/0.0.2':
      return intotoV002(entry, spec, content, signer)
    default:
      throw invalid(entry, `unsupported entry type ${id}`)
  }
}

function hashedRekordV001(
  entry: TlogEntry,
  spec: Json,
  content: SignatureContent,
  signer: SignerKeyInfo
): void {
  if (content.type !== 'message') {
    throw mismatch(
      entry,
      'a hashedrekord 0.0.1 entry cannot log a DSSE envelope'
    )
  }
  const sig = b64Field(entry, get(spec, 'signature', 'content'), 'signature')
  if (!eq(sig, content.signature))
    throw mismatch(entry, 'the signature differs')
  const pem = b64Field(
    entry,
    get(spec, 'signature', 'publicKey', 'content'),
    'public key'
  )
  checkPemVerifier(entry, Buffer.from(pem).toString('utf8'), signer)
  const alg = V1_HASH[String(get(spec, 'data', 'hash', 'algorithm'))]
  if (!alg) throw invalid(entry, 'unsupported hash algorithm')
  const value = hexField(entry, get(spec, 'data', 'hash', 'value'), 'data hash')
  if (!eq(value, signedDigest(entry, content, alg))) {
    throw mismatch(entry, 'the artifact digest differs')
  }
}

function hashedRekordV002(
  entry: TlogEntry,
  spec: Json,
  content: SignatureContent,
  signer: SignerKeyInfo
): void {
  const h = spec['hashedRekordV002']
  if (!isObject(h)) throw invalid(entry, 'hashedRekordV002 is missing')
  const sig = b64Field(entry, get(h, 'signature', 'content'), 'signature')
  if (!eq(sig, content.signature))
    throw mismatch(entry, 'the signature differs')
  checkV2Verifier(entry, get(h, 'signature', 'verifier'), signer)
  const alg = V2_HASH[String(get(h, 'data', 'algorithm'))]
  if (!alg) throw invalid(entry, 'unsupported hash algorithm')
  const digest = b64Field(entry, get(h, 'data', 'digest'), 'data digest')
  if (!eq(digest, signedDigest(entry, content, alg))) {
    throw mismatch(entry, 'the signed digest differs')
  }
}

function requireDsse(entry: TlogEntry, content: SignatureContent) {
  if (content.type !== 'dsse') {
    throw mismatch(
      entry,
      `a ${entry.kind} entry logs a DSSE envelope, not a message signature`
    )
  }
  return content
}

function dsseV001(
  entry: TlogEntry,
  spec: Json,
  content: SignatureContent,
  signer: SignerKeyInfo
): void {
  const dsse = requireDsse(entry, content)
  const sigs = spec['signatures']
  if (!Array.isArray(sigs) || sigs.length !== 1) {
    throw mismatch(entry, 'it does not hold exactly one signature')
  }
  const sig = b64Field(entry, get(sigs[0], 'signature'), 'signature')
  if (!eq(sig, dsse.signature)) throw mismatch(entry, 'the signature differs')
  const pem = b64Field(entry, get(sigs[0], 'verifier'), 'verifier')
  checkPemVerifier(entry, Buffer.from(pem).toString('utf8'), signer)
  checkPayloadHashV1(entry, spec, dsse.payload)
}

function checkPayloadHashV1(
  entry: TlogEntry,
  container: unknown,
  payload: Uint8Array
): void {
  const alg = V1_HASH[String(get(container, 'payloadHash', 'algorithm'))]
  if (!alg) throw invalid(entry, 'unsupported payload hash algorithm')
  const value = hexField(
    entry,
    get(container, 'payloadHash', 'value'),
    'payload hash'
  )
  if (!eq(value, hashBytes(alg, payload))) {
    throw mismatch(entry, 'the DSSE payload digest differs')
  }
}

function dsseV002(
  entry: TlogEntry,
  spec: Json,
  content: SignatureContent,
  signer: SignerKeyInfo
): void {
  const dsse = requireDsse(entry, content)
  const d = spec['dsseV002']
  if (!isObject(d)) throw invalid(entry, 'dsseV002 is missing')
  const sigs = d['signatures']
  if (!Array.isArray(sigs) || sigs.length !== 1) {
    throw mismatch(entry, 'it does not hold exactly one signature')
  }
  const sig = b64Field(entry, get(sigs[0], 'content'), 'signature')
  if (!eq(sig, dsse.signature)) throw mismatch(entry, 'the signature differs')
  checkV2Verifier(entry, get(sigs[0], 'verifier'), signer)
  const alg = V2_HASH[String(get(d, 'payloadHash', 'algorithm'))]
  if (!alg) throw invalid(entry, 'unsupported payload hash algorithm')
  const digest = b64Field(
    entry,
    get(d, 'payloadHash', 'digest'),
    'payload hash'
  )
  if (!eq(digest, hashBytes(alg, dsse.payload))) {
    throw mismatch(entry, 'the DSSE payload digest differs')
  }
}

function intotoV002(
  entry: TlogEntry,
  spec: Json,
  content: SignatureContent,
  signer: SignerKeyInfo
): void {
  const dsse = requireDsse(entry, content)
  const sigs = get(spec, 'content', 'envelope', 'signatures')
  if (!Array.isArray(sigs) || sigs.length !== 1) {
    throw mismatch(entry, 'it does not hold exactly one signature')
  }
  // intoto 0.0.2 stores the signature and key base64-encoded twice.
  const sigOnce = b64Field(entry, get(sigs[0], 'sig'), 'signature')
  const sig = fromBase64(Buffer.from(sigOnce).toString('utf8'))
  if (!eq(sig, dsse.signature)) throw mismatch(entry, 'the signature differs')
  const pem = b64Field(entry, get(sigs[0], 'publicKey'), 'public key')
  checkPemVerifier(entry, Buffer.from(pem).toString('utf8'), signer)
  checkPayloadHashV1(entry, spec['content'], dsse.payload)
}
