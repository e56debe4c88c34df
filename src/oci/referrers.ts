// OCI 1.1 referrers on any registry: the referrers API where it exists, the
// `sha256-<hex>` fallback tag (an OCI index of referrer descriptors) where
// it does not. Writes are read-modify-write with If-Match and a bounded retry.
// Spec: distribution-spec "Listing Referrers", "Referrers Tag Schema",
// "Pushing Manifests with Subject"; cosign-spec §3.5, §3.6.
import { ociDigest } from '../util/index.ts'
import { RegistryError } from './errors.ts'
import { MEDIA_TYPES } from './media-types.ts'
import type { RegistryClient } from './registry.ts'
import {
  isDigest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest
} from './types.ts'

export type ReferrersVia = 'api' | 'tag'

export interface ReferrerManifest {
  manifestBytes: Uint8Array
  mediaType: string
  /** Default: the manifest's artifactType, else its config media type. */
  artifactType?: string
  /** Default: the manifest's annotations. */
  annotations?: Record<string, string>
}

const TAG_UPDATE_ATTEMPTS = 3

/** `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag(subjectDigest: string): string {
  if (!isDigest(subjectDigest))
    throw new TypeError(`not a sha256 digest: ${subjectDigest}`)
  return subjectDigest.replace(':', '-')
}

export async function listReferrers(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  artifactType?: string
): Promise<{ descriptors: Descriptor[]; via: ReferrersVia }> {
  const api = await client.referrers(repository, subjectDigest, artifactType)
  if (api !== null) return { descriptors: api, via: 'api' }
  const tag = referrersTag(subjectDigest)
  const found = await client.findManifest(repository, tag)
  if (!found) return { descriptors: [], via: 'tag' }
  const index = fallbackIndex(
    found.manifest,
    found.descriptor.mediaType,
    client,
    repository,
    tag
  )
  const all = index.manifests
  return {
    descriptors: artifactType
      ? all.filter(d => d.artifactType === artifactType)
      : all,
    via: 'tag'
  }
}

/** PUTs the manifest by digest, then registers it in the fallback tag
 * unless the registry indexes subjects itself. Blobs must already exist. */
export async function pushReferrer(
  client: RegistryClient,
  repository: string,
  referrer: ReferrerManifest,
  subject: Descriptor
): Promise<{ digest: string; via: ReferrersVia }> {
  const digest = ociDigest(referrer.manifestBytes)
  const manifest = parseOwnManifest(referrer.manifestBytes)
  if (manifest.subject?.digest !== subject.digest) {
    throw new TypeError(
      `pushReferrer: the manifest's subject is not ${subject.digest}`
    )
  }
  const put = await client.putManifest(
    repository,
    digest,
    referrer.manifestBytes,
    referrer.mediaType
  )
  if (put.subject === subject.digest) return { digest, via: 'api' }
  if ((await client.referrers(repository, subject.digest)) !== null)
    return { digest, via: 'api' }

  const entry: Descriptor = {
    mediaType: referrer.mediaType,
    size: referrer.manifestBytes.byteLength,
    digest
  }
  const artifactType =
    referrer.artifactType ?? manifest.artifactType ?? manifest.config?.mediaType
  if (artifactType) entry.artifactType = artifactType
  const annotations = referrer.annotations ?? manifest.annotations
  if (annotations && Object.keys(annotations).length > 0)
    entry.annotations = { ...annotations }

  const tag = referrersTag(subject.digest)
  for (let attempt = 1; ; attempt++) {
    const found = await client.findManifest(repository, tag)
    const index: ImageIndex & Record<string, unknown> = found
      ? {
          ...fallbackIndex(
            found.manifest,
            found.descriptor.mediaType,
            client,
            repository,
            tag
          )
        }
      : { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_INDEX, manifests: [] }
    if (index.manifests.some(d => d.digest === digest))
      return { digest, via: 'tag' }
    index.manifests = [...index.manifests, entry]
    const bytes = new TextEncoder().encode(JSON.stringify(index))
    try {
      await client.putManifest(
        repository,
        tag,
        bytes,
        MEDIA_TYPES.OCI_INDEX,
        found?.etag ? { ifMatch: found.etag } : {}
      )
      return { digest, via: 'tag' }
    } catch (e) {
      // Someone else updated the tag between our read and write: merge again.
      const raced =
        e instanceof RegistryError && e.code === 'REGISTRY_PRECONDITION_FAILED'
      if (!raced || attempt >= TAG_UPDATE_ATTEMPTS) throw e
    }
  }
}

function fallbackIndex(
  manifest: unknown,
  mediaType: string,
  client: RegistryClient,
  repository: string,
  tag: string
): ImageIndex {
  const m = manifest as Partial<ImageIndex>
  if (
    mediaType !== MEDIA_TYPES.OCI_INDEX ||
    m.schemaVersion !== 2 ||
    !Array.isArray(m.manifests)
  ) {
    throw new RegistryError(
      'REGISTRY_REFERRERS_TAG_INVALID',
      `${client.registry}/${repository}:${tag} exists but is not an OCI image index (media type "${mediaType}"), so it cannot hold referrers`,
      {
        remedy: `Inspect the tag; if nothing needs it, delete it so the referrers index can be recreated.`
      }
    )
  }
  return m as ImageIndex
}

function parseOwnManifest(bytes: Uint8Array): Partial<ImageManifest> {
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as unknown
    if (typeof m === 'object' && m !== null) return m
  } catch {
    // fall through
  }
  throw new TypeError('pushReferrer: manifestBytes is not a JSON manifest')
}
