// OCI 1.1 referrers on any registry: the referrers API where it exists, the
// `sha256-<hex>` fallback tag (an OCI index of referrer descriptors) where
// it does not. Fallback writes merge and confirm (tag-merge.ts).
// Spec: distribution-spec "Listing Referrers", "Referrers Tag Schema",
// "Pushing Manifests with Subject"; cosign-spec §3.5, §3.6.
import { ociDigest, sleep, type Logger } from '../util/index.ts'
import { RegistryError } from './errors.ts'
import { MEDIA_TYPES } from './media-types.ts'
import type { RegistryClient } from './registry.ts'
import { mergeIntoTag } from './tag-merge.ts'
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

export interface PushReferrerOptions {
  /** Date.now() after which confirming the registration gives up. */
  deadline: number
  logger?: Logger
}

/**
 * PUTs the manifest by digest, then makes sure the registry lists it: the
 * referrers API where the registry indexes subjects itself (confirmed by
 * listing it), otherwise the `sha256-<hex>` fallback index, merged and
 * confirmed as tag-merge.ts describes. Blobs must already exist.
 */
export async function pushReferrer(
  client: RegistryClient,
  repository: string,
  referrer: ReferrerManifest,
  subject: Descriptor,
  options: PushReferrerOptions
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
  const listed =
    put.subject === subject.digest
      ? undefined
      : await client.referrers(repository, subject.digest)
  if (put.subject === subject.digest || listed !== null) {
    await confirmListed(
      client,
      repository,
      subject.digest,
      digest,
      listed,
      options
    )
    return { digest, via: 'api' }
  }

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
  await mergeIntoTag<Descriptor>(
    client,
    {
      repository,
      tag,
      noun: 'referrer',
      ours: [entry],
      itemsOf: found =>
        fallbackIndex(
          found.manifest,
          found.descriptor.mediaType,
          client,
          repository,
          tag
        ).manifests,
      key: d => d.digest,
      build: async (items, found) => {
        const base = found
          ? fallbackIndex(
              found.manifest,
              found.descriptor.mediaType,
              client,
              repository,
              tag
            )
          : { schemaVersion: 2, mediaType: MEDIA_TYPES.OCI_INDEX }
        const index = { ...base, manifests: items }
        return {
          bytes: new TextEncoder().encode(JSON.stringify(index)),
          mediaType: MEDIA_TYPES.OCI_INDEX
        }
      }
    },
    options
  )
  return { digest, via: 'tag' }
}

/** The referrers API lists `digest` (indexing may lag behind the PUT). */
async function confirmListed(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  digest: string,
  first: Descriptor[] | null | undefined,
  options: PushReferrerOptions
): Promise<void> {
  let listed = first
  for (let attempt = 1; ; attempt++) {
    listed ??= await client.referrers(repository, subjectDigest)
    if (listed?.some(d => d.digest === digest)) return
    if (Date.now() > options.deadline) {
      throw new RegistryError(
        'REGISTRY_WRITE_NOT_CONFIRMED',
        `${client.registry}/${repository}@${digest} was stored, but the referrers API of ${subjectDigest} did not list it after ${attempt} reads`,
        {
          remedy:
            'Run the same command again, or raise the retry budget (retry-budget / --retry-budget) if the registry indexes referrers slowly.'
        }
      )
    }
    options.logger?.debug(
      `referrer ${digest} not listed yet (read ${attempt}); reading again`
    )
    await sleep(Math.min(1000, 25 * 2 ** Math.min(attempt - 1, 6)))
    listed = undefined
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
