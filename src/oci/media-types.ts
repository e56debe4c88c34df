// Media types of the OCI image spec and Docker's v2 schema 2, the Accept list
// every manifest request sends (distribution 2.8 answers 404 for OCI content
// unless the OCI types are listed), and the OCI empty descriptor blob.
// Spec: opencontainers/image-spec media-types.md, manifest.md "Guidance for an Empty Descriptor".

export const MEDIA_TYPES = {
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  OCI_LAYER: 'application/vnd.oci.image.layer.v1.tar',
  OCI_LAYER_GZIP: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCI_EMPTY: 'application/vnd.oci.empty.v1+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_MANIFEST_LIST:
    'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_CONFIG: 'application/vnd.docker.container.image.v1+json',
  DOCKER_LAYER_GZIP: 'application/vnd.docker.image.rootfs.diff.tar.gzip'
} as const

/** Sent on every manifest HEAD/GET. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.OCI_INDEX,
  MEDIA_TYPES.OCI_MANIFEST,
  MEDIA_TYPES.DOCKER_MANIFEST_LIST,
  MEDIA_TYPES.DOCKER_MANIFEST
].join(', ')

/** The 2-byte `{}` blob used as config of artifacts. */
export const EMPTY_CONFIG: Uint8Array = new TextEncoder().encode('{}')
export const EMPTY_CONFIG_DIGEST =
  'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return (
    mediaType === MEDIA_TYPES.OCI_INDEX ||
    mediaType === MEDIA_TYPES.DOCKER_MANIFEST_LIST
  )
}

export function isImageManifestMediaType(
  mediaType: string | undefined
): boolean {
  return (
    mediaType === MEDIA_TYPES.OCI_MANIFEST ||
    mediaType === MEDIA_TYPES.DOCKER_MANIFEST
  )
}

/** `application/x; charset=utf-8` → `application/x`. */
export function baseMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}
