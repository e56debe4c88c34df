// The SignedEntity: one normalised shape for "a signature plus the material
// that vouches for it", whatever carried it (a Sigstore bundle, or a cosign
// legacy `.sig` layer — see cosign/legacy-signature.ts). Bytes are decoded
// once here so the verifier never re-parses base64 or certificates.
// Does not verify anything; malformed material raises BUNDLE_INVALID.
// Spec: shared/docs/cosign-spec.md §3.3 and §8.3; modelled on sigstore-js
// packages/verify/src/bundle/index.ts (toSignedEntity).

import { createHash } from 'node:crypto'
import { fromBase64, type HashAlgorithm } from '../../util/index.ts'
import {
  bundleVersion,
  type Bundle,
  type TransparencyLogEntry
} from '../bundle/index.ts'
import { parseCertificate, type ParsedCertificate } from '../x509/index.ts'
import { VerificationError } from './errors.ts'

/** A message signature: over the artifact bytes (or their digest). */
export interface MessageContent {
  type: 'message'
  signature: Uint8Array
  /** messageDigest declared by the bundle (absent for legacy layers). */
  declaredDigest?: ArtifactDigest
  /** The signed bytes, when the caller has them. */
  artifact?: Uint8Array
  /** A digest of the artifact supplied by the caller instead of bytes. */
  artifactDigest?: ArtifactDigest
  /**
   * Hash the signature was made with. Unset: taken from declaredDigest, else
   * from the key (P-256 → sha256, P-384 → sha384, P-521 → sha512, RSA sha256).
   */
  signatureHash?: HashAlgorithm
}

/** A DSSE envelope with exactly one signature over PAE(payloadType, payload). */
export interface DsseContent {
  type: 'dsse'
  payloadType: string
  payload: Uint8Array
  signature: Uint8Array
  /** When set, the in-toto statement's subjects must name this digest. */
  artifactDigest?: ArtifactDigest
}

export type SignatureContent = MessageContent | DsseContent

export interface ArtifactDigest {
  algorithm: HashAlgorithm
  value: Uint8Array
}

export type KeyMaterial =
  | {
      type: 'certificate'
      certificate: ParsedCertificate
      /** Certificates shipped with the signature; informational only. */
      chain: ParsedCertificate[]
    }
  | { type: 'publicKey'; hint?: string }

export interface InclusionProofData {
  logIndex: bigint
  treeSize: bigint
  rootHash: Uint8Array
  hashes: Uint8Array[]
  /** Signed-note text; undefined when the producer left it out. */
  checkpoint: string | undefined
}

/** A transparency log entry with every field decoded. */
export interface TlogEntry {
  /** Global log index as a decimal string (what the SET signs). */
  logIndex: string
  logId: Uint8Array
  kind: string
  version: string
  /** Unix seconds; undefined (or 0 on the wire) for Rekor v2. */
  integratedTime: number | undefined
  body: Uint8Array
  /** SET bytes when the entry carries an inclusion promise. */
  signedEntryTimestamp: Uint8Array | undefined
  inclusionProof: InclusionProofData | undefined
}

export interface SignedEntity {
  content: SignatureContent
  key: KeyMaterial
  tlogEntries: TlogEntry[]
  /** DER RFC 3161 TimeStampResp (or bare TimeStampToken) values. */
  rfc3161Timestamps: Uint8Array[]
  /**
   * The bytes the RFC 3161 timestamps cover, when not the signature: cosign
   * stamps a legacy `.att` layer's whole DSSE envelope.
   */
  timestampedData?: Uint8Array
  /** Every tlog entry must carry a verifiable inclusion proof (v0.2+). */
  requireInclusionProof: boolean
  /** Every tlog entry must carry an inclusion promise (v0.1, legacy). */
  requireInclusionPromise: boolean
  /**
   * Which SANs the identity policy may match: sigstore-go takes the first
   * URI, else email, else otherName ('first'); cosign's legacy path accepts
   * any SAN ('any').
   */
  sanMatch: 'first' | 'any'
  /** Issuer extension preference: sigstore-go reads .8 first, cosign legacy .1. */
  issuerPreference: 'v2' | 'v1'
}

export type Artifact =
  | { bytes: Uint8Array; digest?: undefined }
  | { digest: ArtifactDigest; bytes?: undefined }

const HASHES: Record<string, HashAlgorithm> = {
  SHA2_256: 'sha256',
  SHA2_384: 'sha384',
  SHA2_512: 'sha512'
}

function invalid(message: string, cause?: unknown): VerificationError {
  return new VerificationError('BUNDLE_INVALID', message, { cause })
}

/** Parses a DER certificate, mapping defects to BUNDLE_INVALID. */
export function certificateFromDer(
  der: Uint8Array,
  what: string
): ParsedCertificate {
  try {
    return parseCertificate(der)
  } catch (e) {
    throw invalid(`${what} is not a readable X.509 certificate`, e)
  }
}

/**
 * Converts a validated bundle (see parseBundle) into a SignedEntity.
 * `artifact` is the thing that was signed: bytes or a digest. For DSSE
 * bundles a digest (or bytes) binds the in-toto statement's subject.
 */
export function toSignedEntity(
  bundle: Bundle,
  artifact?: Artifact
): SignedEntity {
  const version = bundleVersion(bundle.mediaType)
  const vm = bundle.verificationMaterial
  const key = keyMaterial(vm)
  const content = signatureContent(bundle, artifact)
  return {
    content,
    key,
    tlogEntries: (vm.tlogEntries ?? []).map(toTlogEntry),
    rfc3161Timestamps: (
      vm.timestampVerificationData?.rfc3161Timestamps ?? []
    ).map(t => fromBase64(t.signedTimestamp)),
    requireInclusionProof: version !== '0.1',
    requireInclusionPromise: version === '0.1',
    sanMatch: 'first',
    issuerPreference: 'v2'
  }
}

/** The signer's material: a certificate, a chain (leaf first) or a key hint. */
function keyMaterial(vm: Bundle['verificationMaterial']): KeyMaterial {
  if (vm.certificate) {
    return {
      type: 'certificate',
      certificate: certificateFromDer(
        fromBase64(vm.certificate.rawBytes),
        'the bundle certificate'
      ),
      chain: []
    }
  }
  if (vm.x509CertificateChain) {
    const [leaf, ...rest] = vm.x509CertificateChain.certificates
    if (!leaf) throw invalid('the bundle certificate chain is empty')
    return {
      type: 'certificate',
      certificate: certificateFromDer(
        fromBase64(leaf.rawBytes),
        'the bundle certificate'
      ),
      chain: rest.map((c, i) =>
        certificateFromDer(fromBase64(c.rawBytes), `chain certificate ${i + 1}`)
      )
    }
  }
  if (vm.publicKey) {
    return {
      type: 'publicKey',
      ...(vm.publicKey.hint ? { hint: vm.publicKey.hint } : {})
    }
  }
  throw invalid('the bundle has no key material')
}

/** What was signed: a DSSE envelope or a message signature. */
function signatureContent(
  bundle: Bundle,
  artifact: Artifact | undefined
): SignatureContent {
  if (bundle.dsseEnvelope) return dsseContent(bundle.dsseEnvelope, artifact)
  if (bundle.messageSignature)
    return messageContent(bundle.messageSignature, artifact)
  throw invalid('the bundle has neither messageSignature nor dsseEnvelope')
}

function dsseContent(
  env: NonNullable<Bundle['dsseEnvelope']>,
  artifact: Artifact | undefined
): DsseContent {
  if (env.signatures.length !== 1) {
    throw invalid('the DSSE envelope must hold exactly one signature')
  }
  const content: DsseContent = {
    type: 'dsse',
    payloadType: env.payloadType,
    payload: fromBase64(env.payload),
    signature: fromBase64(env.signatures[0]!.sig)
  }
  if (artifact) {
    content.artifactDigest = artifact.digest ?? {
      algorithm: 'sha256',
      value: hashBytes('sha256', artifact.bytes)
    }
  }
  return content
}

function messageContent(
  ms: NonNullable<Bundle['messageSignature']>,
  artifact: Artifact | undefined
): MessageContent {
  const message: MessageContent = {
    type: 'message',
    signature: fromBase64(ms.signature)
  }
  if (ms.messageDigest) {
    const algorithm = HASHES[ms.messageDigest.algorithm]
    if (!algorithm) {
      throw invalid(
        `unsupported message digest algorithm ${ms.messageDigest.algorithm}`
      )
    }
    message.declaredDigest = {
      algorithm,
      value: fromBase64(ms.messageDigest.digest)
    }
    message.signatureHash = algorithm
  }
  if (artifact?.bytes) message.artifact = artifact.bytes
  else if (artifact?.digest) message.artifactDigest = artifact.digest
  return message
}

export function hashBytes(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest())
}

/** Decodes a bundle (wire) transparency log entry. */
export function toTlogEntry(e: TransparencyLogEntry): TlogEntry {
  const proof = e.inclusionProof
  let parsedProof: InclusionProofData | undefined
  if (proof) {
    try {
      parsedProof = {
        logIndex: BigInt(proof.logIndex),
        treeSize: BigInt(proof.treeSize),
        rootHash: fromBase64(proof.rootHash),
        hashes: proof.hashes.map(h => fromBase64(h)),
        checkpoint: proof.checkpoint?.envelope
      }
    } catch (err) {
      throw invalid(
        `tlog entry ${e.logIndex} has a malformed inclusion proof`,
        err
      )
    }
  }
  return {
    logIndex: String(e.logIndex),
    logId: fromBase64(e.logId.keyId),
    kind: e.kindVersion.kind,
    version: e.kindVersion.version,
    integratedTime:
      e.integratedTime === undefined || String(e.integratedTime) === '0'
        ? undefined
        : Number(e.integratedTime),
    body: fromBase64(e.canonicalizedBody),
    signedEntryTimestamp: e.inclusionPromise
      ? fromBase64(e.inclusionPromise.signedEntryTimestamp)
      : undefined,
    inclusionProof: parsedProof
  }
}
