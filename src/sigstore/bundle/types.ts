// Wire types of the Sigstore bundle (dev.sigstore.bundle.v1.Bundle) in its
// proto3 JSON form: lowerCamelCase keys, bytes as standard base64 strings,
// int64 as decimal strings. Names follow sigstore/protobuf-specs
// (protos/sigstore_bundle.proto, sigstore_rekor.proto, sigstore_common.proto).

export const BUNDLE_V01_MEDIA_TYPE =
  'application/vnd.dev.sigstore.bundle+json;version=0.1'
export const BUNDLE_V02_MEDIA_TYPE =
  'application/vnd.dev.sigstore.bundle+json;version=0.2'
export const BUNDLE_V03_MEDIA_TYPE =
  'application/vnd.dev.sigstore.bundle.v0.3+json'
export const BUNDLE_V03_LEGACY_MEDIA_TYPE =
  'application/vnd.dev.sigstore.bundle+json;version=0.3'

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'

export interface Bundle {
  mediaType: string
  verificationMaterial: VerificationMaterial
  messageSignature?: MessageSignature
  dsseEnvelope?: Envelope
}

export interface VerificationMaterial {
  certificate?: X509Certificate
  x509CertificateChain?: { certificates: X509Certificate[] }
  publicKey?: { hint?: string }
  tlogEntries?: TransparencyLogEntry[]
  timestampVerificationData?: {
    rfc3161Timestamps?: { signedTimestamp: string }[]
  }
}

/** base64 DER */
export interface X509Certificate {
  rawBytes: string
}

export interface MessageSignature {
  messageDigest?: { algorithm: string; digest: string }
  signature: string
}

export interface Envelope {
  payload: string
  payloadType: string
  signatures: { sig: string; keyid?: string }[]
}

export interface TransparencyLogEntry {
  /** global log index (decimal string) */
  logIndex: string
  logId: { keyId: string }
  kindVersion: { kind: string; version: string }
  /** unix seconds (decimal string); "0" or absent for Rekor v2 */
  integratedTime?: string
  inclusionPromise?: { signedEntryTimestamp: string }
  inclusionProof?: InclusionProof
  /** base64 of the canonicalized entry body */
  canonicalizedBody: string
}

export interface InclusionProof {
  /** index within the tree (decimal string) */
  logIndex: string
  rootHash: string
  treeSize: string
  hashes: string[]
  checkpoint: { envelope: string }
}
