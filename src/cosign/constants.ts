// cosign's on-registry names: layer annotation keys, media types, tag
// suffixes and bundle-referrer annotations. Spec: cosign-spec.md §1.2, §1.5,
// §1.6, §3.4 (sigstore/cosign pkg/oci/static, pkg/types, specs/SIGNATURE_SPEC.md).

export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature'
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate'
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain'
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle'
export const ANNOTATION_RFC3161_TIMESTAMP =
  'dev.sigstore.cosign/rfc3161timestamp'

export const SIMPLE_SIGNING_MEDIA_TYPE =
  'application/vnd.dev.cosign.simplesigning.v1+json'
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json'

export const SIGNATURE_TAG_SUFFIX = '.sig'
export const ATTESTATION_TAG_SUFFIX = '.att'
export const SBOM_TAG_SUFFIX = '.sbom'

/** Referrer manifest annotations cosign v3 and actions/attest write. */
export const ANNOTATION_BUNDLE_CONTENT = 'dev.sigstore.bundle.content'
export const ANNOTATION_BUNDLE_PREDICATE_TYPE =
  'dev.sigstore.bundle.predicateType'
export const ANNOTATION_OCI_CREATED = 'org.opencontainers.image.created'
/** Value of dev.sigstore.bundle.content for DSSE bundles (§3.4). */
export const BUNDLE_CONTENT_DSSE = 'dsse-envelope'
/** predicateType of the statement `cosign sign` v3 wraps in DSSE (§3.2). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1'

/** `sha256:<hex>` → `sha256-<hex>` (cosign's normalize). */
export function digestTagPrefix(digest: string): string {
  return digest.replace(':', '-')
}

/** The legacy signature tag of an image digest: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  return `${digestTagPrefix(digest)}${SIGNATURE_TAG_SUFFIX}`
}

/** `.att` layer annotation naming the statement's predicate type (§2.3). */
export const ANNOTATION_PREDICATE_TYPE = 'predicateType'

/** The legacy attestation tag of an image digest: `sha256-<hex>.att`. */
export function attestationTag(digest: string): string {
  return `${digestTagPrefix(digest)}${ATTESTATION_TAG_SUFFIX}`
}
