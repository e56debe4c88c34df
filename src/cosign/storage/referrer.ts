// Sigstore bundle v0.3 stored as an OCI 1.1 referrer of the image, the way
// cosign v3 writes it: empty config, one bundle layer, `subject` = the image,
// annotations naming the content and predicate type. Registration (referrers
// API or the `sha256-<hex>` fallback index) is oci/'s job. Spec: §3.4–3.6.
import {
  MEDIA_TYPES,
  EMPTY_CONFIG,
  listReferrers,
  pushReferrer,
  type Descriptor,
  type ImageManifest,
  type PushReferrerOptions,
  type RegistryClient
} from '../../oci/index.ts'
import { BUNDLE_V03_MEDIA_TYPE } from '../../sigstore/index.ts'
import { ociDigest, utf8, type Logger } from '../../util/index.ts'
import {
  ANNOTATION_BUNDLE_CONTENT,
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  ANNOTATION_OCI_CREATED
} from '../constants.ts'
import { StorageError } from './errors.ts'

const MAX_BUNDLE_BYTES = 16 * 1024 * 1024

export interface ReferrerWriteResult {
  /** `<registry>/<repository>@<referrer manifest digest>` */
  location: string
  digest: string
  via: 'api' | 'tag'
}

export interface BundleCandidate {
  descriptor: Descriptor
  bundle?: unknown
  error?: unknown
}

/** RFC 3339 UTC with second precision, as cosign writes `created`. */
function created(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function buildReferrerManifest(
  bundleBytes: Uint8Array,
  subject: Descriptor,
  predicateType: string,
  content: 'dsse-envelope' | 'message-signature',
  now: Date
): { bytes: Uint8Array; annotations: Record<string, string> } {
  const annotations = {
    [ANNOTATION_BUNDLE_CONTENT]: content,
    [ANNOTATION_BUNDLE_PREDICATE_TYPE]: predicateType,
    [ANNOTATION_OCI_CREATED]: created(now)
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    config: {
      mediaType: MEDIA_TYPES.OCI_EMPTY,
      size: EMPTY_CONFIG.length,
      digest: ociDigest(EMPTY_CONFIG)
    },
    layers: [
      {
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        size: bundleBytes.length,
        digest: ociDigest(bundleBytes)
      }
    ],
    subject: {
      mediaType: subject.mediaType,
      size: subject.size,
      digest: subject.digest
    },
    annotations
  }
  return { bytes: utf8(JSON.stringify(manifest)), annotations }
}

export class ReferrerStore {
  readonly #client: RegistryClient
  readonly #logger: Logger

  constructor(client: RegistryClient, logger: Logger) {
    this.#client = client
    this.#logger = logger
  }

  async write(
    repository: string,
    subject: Descriptor,
    bundle: object,
    predicateType: string,
    now: Date,
    options: PushReferrerOptions
  ): Promise<ReferrerWriteResult> {
    const bundleBytes = utf8(JSON.stringify(bundle))
    const content =
      'dsseEnvelope' in bundle ? 'dsse-envelope' : 'message-signature'
    const { bytes, annotations } = buildReferrerManifest(
      bundleBytes,
      subject,
      predicateType,
      content,
      now
    )
    await Promise.all([
      this.#client.uploadBlob(repository, EMPTY_CONFIG),
      this.#client.uploadBlob(repository, bundleBytes)
    ])
    const pushed = await pushReferrer(
      this.#client,
      repository,
      {
        manifestBytes: bytes,
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        artifactType: BUNDLE_V03_MEDIA_TYPE,
        annotations
      },
      subject,
      { ...options, logger: options.logger ?? this.#logger }
    )
    this.#logger.debug(
      `bundle referrer ${pushed.digest} registered via ${pushed.via === 'api' ? 'the referrers API' : 'the fallback tag'}`
    )
    return {
      location: `${this.#client.registry}/${repository}@${pushed.digest}`,
      digest: pushed.digest,
      via: pushed.via
    }
  }

  /** Every Sigstore bundle referring to `subjectDigest`; [] when none. */
  async read(
    repository: string,
    subjectDigest: string
  ): Promise<BundleCandidate[]> {
    const { descriptors } = await listReferrers(
      this.#client,
      repository,
      subjectDigest
    )
    const out: BundleCandidate[] = []
    for (const descriptor of descriptors) {
      const type = descriptor.artifactType ?? ''
      if (type && !type.startsWith('application/vnd.dev.sigstore.bundle'))
        continue
      try {
        const m = await this.#client.getManifest(repository, descriptor.digest)
        const manifest = m.manifest as Partial<ImageManifest>
        const layers = Array.isArray(manifest.layers) ? manifest.layers : []
        const bundleLayers = layers.filter(l =>
          l.mediaType.startsWith('application/vnd.dev.sigstore.bundle')
        )
        // cosign reads only referrers with exactly one bundle layer.
        if (layers.length !== 1 || bundleLayers.length !== 1) {
          if (!type) continue
          throw new StorageError(
            'REFERRER_INVALID',
            `referrer ${descriptor.digest} does not hold exactly one Sigstore bundle layer`
          )
        }
        const layer = bundleLayers[0] as Descriptor
        const bytes = await this.#client.getBlob(
          repository,
          layer.digest,
          MAX_BUNDLE_BYTES
        )
        out.push({
          descriptor,
          bundle: JSON.parse(new TextDecoder().decode(bytes)) as unknown
        })
      } catch (error) {
        out.push({ descriptor, error })
      }
    }
    return out
  }
}
