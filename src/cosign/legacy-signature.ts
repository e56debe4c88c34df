// cosign's legacy `.sig` layer (simple-signing payload + annotations) as a
// SignedEntity, and its verification: the pure engine plus cosign's claim
// checks (payload digest, simple-signing type, docker-manifest-digest equal
// to the image digest, requested annotations). Pure: a layer without the
// Rekor bundle annotation is verified with the entries the caller looked up
// in Rekor (verify-image.ts, as cosign does: SET and inclusion proof both
// required), else fails with TLOG_MISSING saying why.
// Spec: shared/docs/cosign-spec.md §1.3-1.7, §8.2 (sigstore/cosign
// pkg/cosign/verify.go verifyInternal, pkg/cosign/bundle/rekor.go).

import {
  fromBase64,
  fromHex,
  isBase64,
  ociDigest,
  parsePemBlocks,
  type HashAlgorithm,
  isObject
} from '../util/index.ts'
import {
  VerificationError,
  certificateFromDer,
  toTlogEntry,
  verifySignedEntity,
  type KeyMaterial,
  type PublicKeyInput,
  type SignedEntity,
  type TlogEntry,
  type VerificationPolicy,
  type VerificationResult
} from '../sigstore/verify/index.ts'
import type { TrustMaterial } from '../sigstore/trust/index.ts'
import type { TransparencyLogEntry } from '../sigstore/bundle/index.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_RFC3161_TIMESTAMP,
  ANNOTATION_SIGNATURE,
  SIMPLE_SIGNING_MEDIA_TYPE
} from './constants.ts'
import {
  parseSimpleSigningPayload,
  type SimpleSigningPayload
} from './payload.ts'

/** The layer descriptor as stored in the `.sig` manifest. */
export interface LegacySignatureLayer {
  mediaType?: string
  /** `sha256:<hex>` of the payload blob, when known. */
  digest?: string
  size?: number
  annotations?: Record<string, string>
}

export function layerInvalid(
  message: string,
  cause?: unknown
): VerificationError {
  return new VerificationError('BUNDLE_INVALID', `signature layer ${message}`, {
    cause
  })
}

/** The `dev.sigstore.cosign/bundle` annotation → a promise-only TlogEntry. */
export function parseRekorBundleAnnotation(text: string): TlogEntry {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw layerInvalid('has a Rekor bundle annotation that is not JSON', e)
  }
  const set = isObject(v) ? v['SignedEntryTimestamp'] : undefined
  const p = isObject(v) ? v['Payload'] : undefined
  if (typeof set !== 'string' || !isBase64(set) || !isObject(p)) {
    throw layerInvalid('has a malformed Rekor bundle annotation')
  }
  const { body, integratedTime, logIndex, logID } = p
  if (typeof body !== 'string' || !isBase64(body) || body === '') {
    throw layerInvalid('Rekor bundle body must be a base64 string')
  }
  if (
    !Number.isSafeInteger(integratedTime) ||
    (integratedTime as number) <= 0
  ) {
    throw layerInvalid('Rekor bundle integratedTime is invalid')
  }
  if (!Number.isSafeInteger(logIndex) || (logIndex as number) < 0) {
    throw layerInvalid('Rekor bundle logIndex is invalid')
  }
  if (typeof logID !== 'string' || !/^[0-9a-f]{64}$/.test(logID)) {
    throw layerInvalid('Rekor bundle logID must be 64 lowercase hex characters')
  }
  const bodyBytes = fromBase64(body)
  let kind = ''
  let version = ''
  try {
    const b = JSON.parse(Buffer.from(bodyBytes).toString('utf8')) as unknown
    if (isObject(b)) {
      kind = typeof b['kind'] === 'string' ? b['kind'] : ''
      version = typeof b['apiVersion'] === 'string' ? b['apiVersion'] : ''
    }
  } catch (e) {
    throw layerInvalid('Rekor bundle body is not JSON', e)
  }
  return {
    logIndex: String(logIndex),
    logId: fromHex(logID),
    kind,
    version,
    integratedTime: integratedTime as number,
    body: bodyBytes,
    signedEntryTimestamp: fromBase64(set),
    inclusionProof: undefined
  }
}

/** `{"SignedRFC3161Timestamp":"<base64 DER>"}` → DER bytes. */
export function parseTimestampAnnotation(text: string): Uint8Array {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw layerInvalid(
      'has an RFC 3161 timestamp annotation that is not JSON',
      e
    )
  }
  const ts = isObject(v) ? v['SignedRFC3161Timestamp'] : undefined
  if (typeof ts !== 'string' || !isBase64(ts) || ts === '') {
    throw layerInvalid('has a malformed RFC 3161 timestamp annotation')
  }
  return fromBase64(ts)
}

/**
 * Pure conversion of a legacy layer + payload into a SignedEntity:
 * message signature over the payload (SHA-256, as cosign verifies), the
 * certificate annotation (if any), a promise-only tlog entry from the Rekor
 * bundle annotation, and the RFC 3161 annotation.
 */
export function toLegacySignedEntity(
  layer: LegacySignatureLayer,
  payload: Uint8Array
): SignedEntity {
  const a = layer.annotations ?? {}
  const sigText = a[ANNOTATION_SIGNATURE]
  if (sigText === undefined || sigText === '' || !isBase64(sigText)) {
    throw layerInvalid(`has no valid ${ANNOTATION_SIGNATURE} annotation`)
  }
  const bundle = a[ANNOTATION_BUNDLE]
  const ts = a[ANNOTATION_RFC3161_TIMESTAMP]
  const hash: HashAlgorithm = 'sha256'
  return {
    content: {
      type: 'message',
      signature: fromBase64(sigText),
      artifact: payload,
      signatureHash: hash
    },
    key: legacyKeyMaterial(a),
    tlogEntries:
      bundle !== undefined ? [parseRekorBundleAnnotation(bundle)] : [],
    rfc3161Timestamps: ts !== undefined ? [parseTimestampAnnotation(ts)] : [],
    requireInclusionProof: false,
    requireInclusionPromise: true,
    sanMatch: 'any',
    issuerPreference: 'v1'
  }
}

/** The certificate (and chain) annotations of a `.sig`/`.att` layer, or a
 * bare public key (key-pair signatures carry none). */
export function legacyKeyMaterial(a: Record<string, string>): KeyMaterial {
  let key: KeyMaterial = { type: 'publicKey' }
  const certPem = a[ANNOTATION_CERTIFICATE]
  if (certPem !== undefined && certPem !== '') {
    const blocks = parsePemBlocks(certPem).filter(
      b => b.label === 'CERTIFICATE'
    )
    if (blocks.length !== 1) {
      throw layerInvalid(
        `${ANNOTATION_CERTIFICATE} must hold exactly one PEM certificate`
      )
    }
    const chain = parsePemBlocks(a[ANNOTATION_CHAIN] ?? '')
      .filter(b => b.label === 'CERTIFICATE')
      .map((b, i) => certificateFromDer(b.der, `chain certificate ${i + 1}`))
    key = {
      type: 'certificate',
      certificate: certificateFromDer(blocks[0]!.der, 'the layer certificate'),
      chain
    }
  }
  return key
}

export interface VerifyLegacySignatureOptions {
  layer: LegacySignatureLayer
  /** The payload blob the layer points at. */
  payload: Uint8Array
  /** The image manifest digest (`sha256:<hex>`) the signature must claim. */
  expectedDigest: string
  trust: TrustMaterial
  policy?: VerificationPolicy
  /** Key-based verification (cosign --key). */
  publicKey?: PublicKeyInput
  /** Every pair must equal the payload's `optional[k]` (cosign -a). */
  annotations?: Record<string, string>
  /** 0 disables the tlog requirement (cosign --insecure-ignore-tlog). */
  tlogThreshold?: number
  ctlogThreshold?: number
  /** Verified timestamps required (default 0). */
  timestampThreshold?: number
  now?: Date
  /**
   * For a layer without the Rekor bundle annotation: the entries found in
   * Rekor for its signature (online lookup); each needs SET and proof.
   */
  loggedEntries?: readonly TransparencyLogEntry[]
  /** Why there are no looked-up entries, for the TLOG_MISSING message
   * (e.g. "online lookup is off (offline)"); with its remedy. */
  noLookup?: { why: string; remedy: string }
}

export interface LegacyVerificationResult extends VerificationResult {
  claims: SimpleSigningPayload
}

/** Verifies one legacy signature layer for an image digest. */
export function verifyLegacySignature(
  o: VerifyLegacySignatureOptions
): LegacyVerificationResult {
  const { layer, payload } = o
  if (
    layer.mediaType !== undefined &&
    layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE
  ) {
    throw layerInvalid(
      `has media type ${layer.mediaType}, not ${SIMPLE_SIGNING_MEDIA_TYPE}`
    )
  }
  if (layer.digest !== undefined && layer.digest !== ociDigest(payload)) {
    throw new VerificationError(
      'PAYLOAD_DIGEST_MISMATCH',
      `the payload blob hashes to ${ociDigest(payload)}, the layer says ${layer.digest}`
    )
  }
  const entity = toLegacySignedEntity(layer, payload)
  if (entity.key.type !== 'certificate' && o.publicKey === undefined) {
    throw new VerificationError(
      'CERTIFICATE_MISSING',
      `the signature layer has no ${ANNOTATION_CERTIFICATE} annotation; verify it with the signer's public key`
    )
  }
  if (entity.tlogEntries.length === 0 && o.loggedEntries?.length) {
    entity.tlogEntries = o.loggedEntries.map(toTlogEntry)
    entity.requireInclusionProof = true
  }
  if ((o.tlogThreshold ?? 1) > 0 && entity.tlogEntries.length === 0) {
    throw new VerificationError(
      'TLOG_MISSING',
      `the signature layer has no ${ANNOTATION_BUNDLE} annotation (Rekor bundle)${o.noLookup ? `, and ${o.noLookup.why}` : '; it cannot be verified offline'}`,
      o.noLookup ? { remedy: o.noLookup.remedy } : undefined
    )
  }
  const result = verifySignedEntity(entity, {
    trust: o.trust,
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.publicKey !== undefined ? { publicKey: o.publicKey } : {}),
    ...(o.tlogThreshold !== undefined
      ? { tlogThreshold: o.tlogThreshold }
      : {}),
    ...(o.ctlogThreshold !== undefined
      ? { ctlogThreshold: o.ctlogThreshold }
      : {}),
    ...(o.timestampThreshold !== undefined
      ? { timestampThreshold: o.timestampThreshold }
      : {}),
    ...(o.now ? { now: o.now } : {})
  })

  let claims: SimpleSigningPayload
  try {
    claims = parseSimpleSigningPayload(payload)
  } catch (e) {
    throw new VerificationError('CLAIM_INVALID', (e as Error).message, {
      cause: e
    })
  }
  const claimed = claims.critical.image['docker-manifest-digest']
  if (claimed !== o.expectedDigest) {
    throw new VerificationError(
      'CLAIM_DIGEST_MISMATCH',
      `the signature is for image ${claimed}, not ${o.expectedDigest}`
    )
  }
  for (const [k, want] of Object.entries(o.annotations ?? {})) {
    const got = claims.optional?.[k]
    if (got !== want) {
      throw new VerificationError(
        'CLAIM_ANNOTATION_MISMATCH',
        `annotation ${JSON.stringify(k)}: expected ${JSON.stringify(want)}, the signature has ${got === undefined ? 'none' : JSON.stringify(got)}`
      )
    }
  }
  return { ...result, claims }
}
