// Structural validation of a Sigstore bundle (proto3 JSON) before anything
// cryptographic looks at it: known media type, exactly one key material and
// one content, well-formed base64 and int64 fields, inclusion promise (v0.1)
// or inclusion proof with checkpoint (v0.2+), leaf-only certificate (v0.3),
// exactly one DSSE signature. Returns a normalised copy (int64 as strings).
// Knows nothing about trust; a structurally valid bundle can still be forged.
// Spec: shared/docs/cosign-spec.md §3.3; sigstore-go pkg/bundle validate,
// sigstore-js packages/bundle/src/validate.ts.

import { AppError, isObject } from '../../util/index.ts'
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  type Envelope,
  type InclusionProof,
  type MessageSignature,
  type TransparencyLogEntry,
  type VerificationMaterial
} from './types.ts'

export type BundleErrorCode = 'BUNDLE_INVALID' | 'BUNDLE_UNSUPPORTED_VERSION'

export class BundleError extends AppError {
  declare readonly code: BundleErrorCode
  constructor(code: BundleErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause })
  }
}

export type BundleVersion = '0.1' | '0.2' | '0.3'

const VERSIONS: Record<string, BundleVersion> = {
  [BUNDLE_V01_MEDIA_TYPE]: '0.1',
  [BUNDLE_V02_MEDIA_TYPE]: '0.2',
  [BUNDLE_V03_MEDIA_TYPE]: '0.3',
  [BUNDLE_V03_LEGACY_MEDIA_TYPE]: '0.3'
}

/** The bundle format version of a (validated) bundle's media type. */
export function bundleVersion(mediaType: string): BundleVersion {
  const v = VERSIONS[mediaType]
  if (!v) {
    throw new BundleError(
      'BUNDLE_UNSUPPORTED_VERSION',
      `unsupported bundle media type ${JSON.stringify(mediaType)} (supported: v0.1, v0.2, v0.3)`
    )
  }
  return v
}

type Json = Record<string, unknown>

// proto3 JSON accepts both base64 alphabets, padded or not.
const B64 =
  /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/

function invalid(path: string, why: string): never {
  throw new BundleError('BUNDLE_INVALID', `invalid bundle: ${path} ${why}`)
}

function obj(v: unknown, path: string): Json {
  if (!isObject(v)) invalid(path, 'must be an object')
  return v
}

function b64(v: unknown, path: string, { empty = false } = {}): string {
  if (typeof v !== 'string' || !B64.test(v)) invalid(path, 'must be base64')
  if (!empty && v.length === 0) invalid(path, 'must not be empty')
  return v
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    invalid(path, 'must be a non-empty string')
  }
  return v
}

// int64 fields: decimal strings in proto3 JSON (numbers are tolerated).
function int64(v: unknown, path: string): string {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v
  if (typeof s !== 'string' || !/^(?:0|[1-9][0-9]{0,18})$/.test(s)) {
    invalid(path, 'must be a non-negative int64')
  }
  return s
}

// proto3 JSON: `null` means "field absent" (sigstore-go writes it).
function dropNulls(v: unknown, depth = 0): unknown {
  if (depth > 16 || typeof v !== 'object' || v === null) return v
  if (Array.isArray(v)) return v.map(x => dropNulls(x, depth + 1))
  const out: Json = {}
  for (const [k, x] of Object.entries(v)) {
    if (x !== null) out[k] = dropNulls(x, depth + 1)
  }
  return out
}

/** Validates a parsed bundle JSON value and returns a normalised copy. */
export function parseBundle(json: unknown): Bundle {
  const b = obj(dropNulls(json), 'bundle')
  if (typeof b['mediaType'] !== 'string') invalid('mediaType', 'is missing')
  const mediaType = b['mediaType']
  const version = bundleVersion(mediaType)

  const vm = obj(b['verificationMaterial'], 'verificationMaterial')
  const verificationMaterial = parseMaterial(vm, version)

  const hasMsg = b['messageSignature'] !== undefined
  const hasDsse = b['dsseEnvelope'] !== undefined
  if (hasMsg === hasDsse) {
    invalid('content', 'must be exactly one of messageSignature, dsseEnvelope')
  }
  const out: Bundle = { mediaType, verificationMaterial }
  if (hasMsg) out.messageSignature = parseMessage(b['messageSignature'])
  else out.dsseEnvelope = parseEnvelope(b['dsseEnvelope'])
  return out
}

function parseMaterial(vm: Json, version: BundleVersion): VerificationMaterial {
  const kinds = ['certificate', 'x509CertificateChain', 'publicKey'].filter(
    k => vm[k] !== undefined
  )
  if (kinds.length !== 1) {
    invalid(
      'verificationMaterial',
      'must hold exactly one of certificate, x509CertificateChain, publicKey'
    )
  }
  const out: VerificationMaterial = {}
  if (vm['certificate'] !== undefined) {
    const c = obj(vm['certificate'], 'verificationMaterial.certificate')
    out.certificate = {
      rawBytes: b64(c['rawBytes'], 'verificationMaterial.certificate.rawBytes')
    }
  } else if (vm['x509CertificateChain'] !== undefined) {
    // v0.3 carries the leaf only (sigstore-go and sigstore-js reject chains).
    if (version === '0.3') {
      invalid(
        'verificationMaterial.x509CertificateChain',
        'is not allowed in a v0.3 bundle (use certificate, the leaf only)'
      )
    }
    const ch = obj(vm['x509CertificateChain'], 'x509CertificateChain')
    const certs = ch['certificates']
    if (!Array.isArray(certs) || certs.length === 0) {
      invalid('x509CertificateChain.certificates', 'must not be empty')
    }
    out.x509CertificateChain = {
      certificates: certs.map((c, i) => ({
        rawBytes: b64(
          obj(c, `x509CertificateChain.certificates[${i}]`)['rawBytes'],
          `x509CertificateChain.certificates[${i}].rawBytes`
        )
      }))
    }
  } else {
    const pk = obj(vm['publicKey'], 'verificationMaterial.publicKey')
    const hint = pk['hint']
    if (hint !== undefined && typeof hint !== 'string') {
      invalid('verificationMaterial.publicKey.hint', 'must be a string')
    }
    out.publicKey = hint === undefined ? {} : { hint }
  }

  const entries = vm['tlogEntries'] ?? []
  if (!Array.isArray(entries)) invalid('tlogEntries', 'must be an array')
  out.tlogEntries = entries.map((e, i) =>
    parseEntry(e, `tlogEntries[${i}]`, version)
  )

  const tvd = vm['timestampVerificationData']
  if (tvd !== undefined) {
    const t = obj(tvd, 'timestampVerificationData')
    const list = t['rfc3161Timestamps'] ?? []
    if (!Array.isArray(list)) invalid('rfc3161Timestamps', 'must be an array')
    out.timestampVerificationData = {
      rfc3161Timestamps: list.map((x, i) => ({
        signedTimestamp: b64(
          obj(x, `rfc3161Timestamps[${i}]`)['signedTimestamp'],
          `rfc3161Timestamps[${i}].signedTimestamp`
        )
      }))
    }
  }
  return out
}

/** One TransparencyLogEntry in proto3 JSON (a Rekor v2 create answer),
 * held to the bundle v0.3 rules: an inclusion proof with a checkpoint. */
export function parseTlogEntry(json: unknown): TransparencyLogEntry {
  return parseEntry(dropNulls(json), 'entry', '0.3')
}

function parseEntry(
  v: unknown,
  path: string,
  version: BundleVersion
): TransparencyLogEntry {
  const e = obj(v, path)
  const logId = obj(e['logId'], `${path}.logId`)
  const kv = obj(e['kindVersion'], `${path}.kindVersion`)
  const out: TransparencyLogEntry = {
    logIndex: int64(e['logIndex'], `${path}.logIndex`),
    logId: { keyId: b64(logId['keyId'], `${path}.logId.keyId`) },
    kindVersion: {
      kind: str(kv['kind'], `${path}.kindVersion.kind`),
      version: str(kv['version'], `${path}.kindVersion.version`)
    },
    canonicalizedBody: b64(e['canonicalizedBody'], `${path}.canonicalizedBody`)
  }
  if (e['integratedTime'] !== undefined) {
    out.integratedTime = int64(e['integratedTime'], `${path}.integratedTime`)
  }
  if (e['inclusionPromise'] !== undefined) {
    const p = obj(e['inclusionPromise'], `${path}.inclusionPromise`)
    out.inclusionPromise = {
      signedEntryTimestamp: b64(
        p['signedEntryTimestamp'],
        `${path}.inclusionPromise.signedEntryTimestamp`
      )
    }
  }
  if (e['inclusionProof'] !== undefined) {
    out.inclusionProof = parseProof(
      e['inclusionProof'],
      `${path}.inclusionProof`,
      version
    )
  }
  if (version === '0.1' && !out.inclusionPromise) {
    invalid(path, 'needs an inclusionPromise in a v0.1 bundle')
  }
  if (version !== '0.1' && !out.inclusionProof) {
    invalid(path, `needs an inclusionProof in a v${version} bundle`)
  }
  return out
}

function parseProof(
  v: unknown,
  path: string,
  version: BundleVersion
): InclusionProof {
  const p = obj(v, path)
  const hashes = p['hashes'] ?? []
  if (!Array.isArray(hashes)) invalid(`${path}.hashes`, 'must be an array')
  const proof = {
    logIndex: int64(p['logIndex'], `${path}.logIndex`),
    rootHash: b64(p['rootHash'], `${path}.rootHash`),
    treeSize: int64(p['treeSize'], `${path}.treeSize`),
    hashes: hashes.map((h, i) => b64(h, `${path}.hashes[${i}]`))
  } as InclusionProof
  const cp = p['checkpoint']
  if (cp !== undefined) {
    const c = obj(cp, `${path}.checkpoint`)
    proof.checkpoint = {
      envelope: str(c['envelope'], `${path}.checkpoint.envelope`)
    }
  } else if (version !== '0.1') {
    invalid(path, 'needs a checkpoint')
  }
  return proof
}

function parseMessage(v: unknown): MessageSignature {
  const m = obj(v, 'messageSignature')
  const out: MessageSignature = {
    signature: b64(m['signature'], 'messageSignature.signature')
  }
  // Optional in the proto, but sigstore-js rejects its absence and the digest
  // is what ties a hashedrekord entry to the artifact: require it.
  const d = obj(m['messageDigest'], 'messageSignature.messageDigest')
  const algorithm = str(d['algorithm'], 'messageDigest.algorithm')
  if (!['SHA2_256', 'SHA2_384', 'SHA2_512'].includes(algorithm)) {
    invalid(
      'messageDigest.algorithm',
      `${JSON.stringify(algorithm)} is unsupported`
    )
  }
  out.messageDigest = {
    algorithm,
    digest: b64(d['digest'], 'messageSignature.messageDigest.digest')
  }
  return out
}

function parseEnvelope(v: unknown): Envelope {
  const e = obj(v, 'dsseEnvelope')
  const sigs = e['signatures']
  if (!Array.isArray(sigs) || sigs.length !== 1) {
    invalid('dsseEnvelope.signatures', 'must hold exactly one signature')
  }
  const s = obj(sigs[0], 'dsseEnvelope.signatures[0]')
  const sig: Envelope['signatures'][number] = {
    sig: b64(s['sig'], 'dsseEnvelope.signatures[0].sig')
  }
  if (s['keyid'] !== undefined) {
    if (typeof s['keyid'] !== 'string')
      invalid('signatures[0].keyid', 'must be a string')
    sig.keyid = s['keyid']
  }
  return {
    payload: b64(e['payload'], 'dsseEnvelope.payload'),
    payloadType: str(e['payloadType'], 'dsseEnvelope.payloadType'),
    signatures: [sig]
  }
}
