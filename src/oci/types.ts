// Wire shapes of OCI descriptors, image manifests and indexes (also used for
// Docker v2 schema 2 manifests and manifest lists, which share the layout).
// Spec: opencontainers/image-spec descriptor.md, manifest.md, image-index.md.

export interface Platform {
  architecture: string
  os: string
  'os.version'?: string
  'os.features'?: string[]
  variant?: string
}

export interface Descriptor {
  mediaType: string
  size: number
  digest: string
  artifactType?: string
  annotations?: Record<string, string>
  platform?: Platform
  urls?: string[]
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  manifests: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export type Manifest = ImageManifest | ImageIndex

export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/

export function isDigest(s: string): boolean {
  return SHA256_DIGEST.test(s)
}
