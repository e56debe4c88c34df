// cosign's legacy `.att` layer: the DSSE envelope JSON as the layer blob
// (media type application/vnd.dsse.envelope.v1+json), annotated with an empty
// signature, the predicate type, the certificate and chain, and the Rekor
// bundle of the `dsse` entry whose envelopeHash is the layer's sha256.
// With a TSA, an RFC 3161 timestamp over the envelope bytes (the layer) in
// dev.sigstore.cosign/rfc3161timestamp. Building its annotations and
// verifying it offline. Spec: cosign-spec.md §2.2–2.4, §8.2 (sigstore/cosign
// cmd/cosign/cli/attest/attest.go, pkg/cosign/verify.go
// verifyOCIAttestation, VerifyBundle, VerifyRFC3161Timestamp).
import {
  IN_TOTO_PAYLOAD_TYPE,
  VerificationError,
  toRekorV1Bundle,
  verifySignedEntity,
  type PublicKeyInput,
  type TransparencyLogEntry,
  type TrustMaterial,
  type VerificationPolicy,
  type VerificationResult
} from '../sigstore/index.ts'
import {
  fromBase64,
  isBase64,
  isObject,
  ociDigest,
  sha256Hex,
  toBase64
} from '../util/index.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_RFC3161_TIMESTAMP,
  ANNOTATION_SIGNATURE,
  DSSE_ENVELOPE_MEDIA_TYPE
} from './constants.ts'
import {
  layerInvalid,
  legacyKeyMaterial,
  parseRekorBundleAnnotation,
  parseTimestampAnnotation,
  type LegacySignatureLayer
} from './legacy-signature.ts'
import { parseInTotoStatement, type InTotoStatement } from './payload.ts'
import type { RunSigner } from './signer.ts'

/** The annotations cosign puts on an `.att` layer. */
export function attestationAnnotations(
  predicateType: string,
  signer: RunSigner,
  entry: TransparencyLogEntry | undefined,
  /** DER TimeStampResp over the envelope bytes (the layer). */
  envelopeTimestamp?: Uint8Array
): Record<string, string> {
  return {
    [ANNOTATION_SIGNATURE]: '',
    [ANNOTATION_PREDICATE_TYPE]: predicateType,
    ...(signer.certificate
      ? {
          [ANNOTATION_CERTIFICATE]: signer.certificate.leafPem,
          [ANNOTATION_CHAIN]: signer.certificate.chainPem
        }
      : {}),
    ...(entry
      ? { [ANNOTATION_BUNDLE]: JSON.stringify(toRekorV1Bundle(entry)) }
      : {}),
    ...(envelopeTimestamp
      ? {
          [ANNOTATION_RFC3161_TIMESTAMP]: JSON.stringify({
            SignedRFC3161Timestamp: toBase64(envelopeTimestamp)
          })
        }
      : {})
  }
}

export interface VerifyLegacyAttestationOptions {
  layer: LegacySignatureLayer
  /** The layer blob: the DSSE envelope JSON. */
  envelope: Uint8Array
  trust: TrustMaterial
  policy?: VerificationPolicy
  publicKey?: PublicKeyInput
  /** 0: accept a layer without a Rekor bundle (key mode only). */
  tlogThreshold?: number
  /** Verified RFC 3161 timestamps required (default 0). */
  timestampThreshold?: number
  now?: Date
}

export interface LegacyAttestationResult extends VerificationResult {
  statement: InTotoStatement
}

function parseEnvelope(bytes: Uint8Array): {
  payloadType: string
  payload: Uint8Array
  signature: Uint8Array
} {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw layerInvalid('is not a JSON DSSE envelope', e)
  }
  if (
    !isObject(v) ||
    typeof v.payloadType !== 'string' ||
    typeof v.payload !== 'string' ||
    !Array.isArray(v.signatures)
  )
    throw layerInvalid('is not a DSSE envelope')
  if (v.signatures.length !== 1)
    throw layerInvalid(
      `has ${v.signatures.length} DSSE signatures; exactly one is verified`
    )
  const sig = v.signatures[0] as unknown
  const sigText = isObject(sig) ? sig.sig : undefined
  if (typeof sigText !== 'string' || !isBase64(sigText) || sigText === '')
    throw layerInvalid('has a DSSE signature that is not base64')
  // go-securesystemslib accepts both base64 alphabets for the payload.
  const payloadText = v.payload.replace(/-/g, '+').replace(/_/g, '/')
  if (!isBase64(payloadText))
    throw layerInvalid('has a DSSE payload that is not base64')
  return {
    payloadType: v.payloadType,
    payload: fromBase64(payloadText),
    signature: fromBase64(sigText)
  }
}

/** The dsse entry's envelopeHash must be the layer's sha256 (cosign VerifyBundle). */
function checkEnvelopeHash(body: Uint8Array, envelope: Uint8Array): void {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder().decode(body))
  } catch (e) {
    throw layerInvalid('has a Rekor bundle whose body is not JSON', e)
  }
  const spec = isObject(v) && isObject(v.spec) ? v.spec : undefined
  if (!isObject(v) || v.kind !== 'dsse') return // intoto entries: the verifier's body check
  const h = spec && isObject(spec.envelopeHash) ? spec.envelopeHash : undefined
  if (!h || h.algorithm !== 'sha256' || h.value !== sha256Hex(envelope)) {
    throw new VerificationError(
      'TLOG_BODY_MISMATCH',
      'the Rekor entry of the attestation logs another envelope (envelopeHash is not the sha256 of the layer)'
    )
  }
}

/** Verifies one `.att` layer: envelope, key or certificate, Rekor bundle. */
export function verifyLegacyAttestation(
  o: VerifyLegacyAttestationOptions
): LegacyAttestationResult {
  const { layer, envelope } = o
  if (
    layer.mediaType !== undefined &&
    layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE
  )
    throw layerInvalid(
      `has media type ${layer.mediaType}, not ${DSSE_ENVELOPE_MEDIA_TYPE}`
    )
  if (layer.digest !== undefined && layer.digest !== ociDigest(envelope)) {
    throw new VerificationError(
      'PAYLOAD_DIGEST_MISMATCH',
      `the envelope blob hashes to ${ociDigest(envelope)}, the layer says ${layer.digest}`
    )
  }
  const a = layer.annotations ?? {}
  const env = parseEnvelope(envelope)
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError(
      'DSSE_PAYLOAD_TYPE_INVALID',
      `the envelope's payloadType is ${JSON.stringify(env.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`
    )
  }
  const key = legacyKeyMaterial(a)
  if (key.type !== 'certificate' && o.publicKey === undefined) {
    throw new VerificationError(
      'CERTIFICATE_MISSING',
      `the attestation layer has no ${ANNOTATION_CERTIFICATE} annotation; verify it with the signer's public key`
    )
  }
  const bundle = a[ANNOTATION_BUNDLE]
  const tlogEntries =
    bundle !== undefined ? [parseRekorBundleAnnotation(bundle)] : []
  if ((o.tlogThreshold ?? 1) > 0 && tlogEntries.length === 0) {
    throw new VerificationError(
      'TLOG_MISSING',
      `the attestation layer has no ${ANNOTATION_BUNDLE} annotation (Rekor bundle); it cannot be verified offline`
    )
  }
  for (const e of tlogEntries) checkEnvelopeHash(e.body, envelope)
  // cosign stamps the layer (the envelope bytes), not the empty signature
  // annotation; a timestamp present is verified, whatever the threshold.
  const ts = a[ANNOTATION_RFC3161_TIMESTAMP]
  const result = verifySignedEntity(
    {
      content: {
        type: 'dsse',
        payloadType: env.payloadType,
        payload: env.payload,
        signature: env.signature
      },
      key,
      tlogEntries,
      rfc3161Timestamps: ts !== undefined ? [parseTimestampAnnotation(ts)] : [],
      timestampedData: envelope,
      requireInclusionProof: false,
      requireInclusionPromise: true,
      sanMatch: 'any',
      issuerPreference: 'v1'
    },
    {
      trust: o.trust,
      ...(o.policy ? { policy: o.policy } : {}),
      ...(o.publicKey !== undefined ? { publicKey: o.publicKey } : {}),
      ...(o.tlogThreshold !== undefined
        ? { tlogThreshold: o.tlogThreshold }
        : {}),
      ...(o.timestampThreshold !== undefined
        ? { timestampThreshold: o.timestampThreshold }
        : {}),
      ...(o.now ? { now: o.now } : {})
    }
  )
  let statement: InTotoStatement
  try {
    statement = parseInTotoStatement(env.payload)
  } catch (e) {
    throw new VerificationError('CLAIM_INVALID', (e as Error).message, {
      cause: e
    })
  }
  return { ...result, statement }
}
