// cosign's legacy signature layout: tag `sha256-<hex>.sig` holding an OCI
// image manifest whose layers are simple-signing payloads annotated with the
// signature, certificate, chain, Rekor bundle and RFC 3161 timestamp.
// Writing appends to what is there (never drops a layer) and skips exact
// duplicates the way cosign does. Spec: cosign-spec.md §1.5, §1.6, §1.8.
import {
  MEDIA_TYPES,
  mergeIntoTag,
  type Descriptor,
  type ImageManifest,
  type RegistryClient,
  type TagMergeOptions
} from '../../oci/index.ts'
import { verifySignature } from '../../crypto/index.ts'
import { fromBase64, ociDigest, utf8, type Logger } from '../../util/index.ts'
import {
  ANNOTATION_SIGNATURE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  attestationTag,
  signatureTag
} from '../constants.ts'
import { StorageError } from './errors.ts'

/** One signature as it lives in a `.sig` manifest layer. */
export interface LegacySignatureLayer {
  payload: Uint8Array
  /** Layer annotations: signature, certificate, chain, bundle, timestamp. */
  annotations: Record<string, string>
}

export interface LegacyWriteResult {
  /** `<registry>/<repository>:sha256-<hex>.sig` */
  tag: string
  /** Digest of the `.sig` manifest after the write. */
  manifestDigest: string
  /** True when an identical signature was already there. */
  duplicate: boolean
  /** How many signature layers the manifest holds now. */
  layers: number
}

export interface LegacyCandidate {
  descriptor: Descriptor
  /** undefined when the payload blob could not be read. */
  payload?: Uint8Array
  error?: unknown
}

/** cosign refuses `.sig` manifests with more layers than this. */
export const MAX_SIGNATURE_LAYERS = 1000
const MAX_PAYLOAD_BYTES = 128 * 1024 * 1024

/** Same payload, same annotations (signature included): the same layer. */
function layerKey(l: Descriptor): string {
  return `${l.digest}\n${JSON.stringify(sortedAnnotations(l.annotations ?? {}))}`
}

interface ConfigFile {
  architecture: string
  created: string
  history: { created: string }[]
  os: string
  rootfs: { type: 'layers'; diff_ids: string[] }
  config: Record<string, unknown>
}

// go-containerregistry's empty image, as cosign starts from it (Go JSON order).
function buildConfig(diffIds: string[]): Uint8Array {
  const config: ConfigFile = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: diffIds.map(() => ({ created: '0001-01-01T00:00:00Z' })),
    os: '',
    rootfs: { type: 'layers', diff_ids: diffIds },
    config: {}
  }
  return utf8(JSON.stringify(config))
}

function sortedAnnotations(a: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1))
  )
}

function buildManifest(
  mediaType: string,
  configMediaType: string,
  config: Uint8Array,
  layers: Descriptor[]
): Uint8Array {
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: configMediaType,
      size: config.length,
      digest: ociDigest(config)
    },
    layers: layers.map(l => ({
      mediaType: l.mediaType,
      size: l.size,
      digest: l.digest,
      ...(l.annotations
        ? { annotations: sortedAnnotations(l.annotations) }
        : {})
    }))
  }
  return utf8(JSON.stringify(manifest))
}

/**
 * cosign's duplicate rule (pkg/oci/mutate dedupeAndReplace): same payload
 * digest and media type, every new annotation but the signature present with
 * the same value, and the old signature verifies over the payload with the
 * new signer's key.
 */
function isDuplicate(
  old: Descriptor,
  fresh: Descriptor,
  payload: Uint8Array,
  publicKeySpki: Uint8Array
): boolean {
  if (old.digest !== fresh.digest || old.mediaType !== fresh.mediaType)
    return false
  const oldAnn = old.annotations ?? {}
  for (const [k, v] of Object.entries(fresh.annotations ?? {})) {
    if (k === ANNOTATION_SIGNATURE) continue
    if (oldAnn[k] !== v) return false
  }
  const sig = oldAnn[ANNOTATION_SIGNATURE]
  if (!sig) return false
  try {
    return verifySignature(publicKeySpki, payload, fromBase64(sig))
  } catch {
    return false
  }
}

export interface LegacyTagStoreOptions {
  /** A new `.sig` manifest gets Docker v2 schema 2 media types instead of
   * OCI ones (cosign COSIGN_DOCKER_MEDIA_TYPES, for registries that refuse
   * OCI manifests). An existing manifest keeps its own. */
  dockerMediaTypes?: boolean
  /** `signature` (default): `sha256-<hex>.sig`, simple-signing layers;
   * `attestation`: `sha256-<hex>.att`, DSSE envelope layers. */
  kind?: 'signature' | 'attestation'
}

const KINDS = {
  signature: { tag: signatureTag, mediaType: SIMPLE_SIGNING_MEDIA_TYPE },
  attestation: { tag: attestationTag, mediaType: DSSE_ENVELOPE_MEDIA_TYPE }
} as const

export class LegacyTagStore {
  readonly #client: RegistryClient
  readonly #logger: Logger
  readonly #docker: boolean
  readonly #kind: 'signature' | 'attestation'

  constructor(
    client: RegistryClient,
    logger: Logger,
    options: LegacyTagStoreOptions = {}
  ) {
    this.#client = client
    this.#logger = logger
    this.#docker = options.dockerMediaTypes === true
    this.#kind = options.kind ?? 'signature'
  }

  /** The tag this store writes for `subjectDigest` (`.sig` or `.att`). */
  tagOf(subjectDigest: string): string {
    return KINDS[this.#kind].tag(subjectDigest)
  }

  /**
   * Uploads the blobs a signature over `payload` will need: the payload and
   * the config of a first signature (known in advance). Content-addressed and
   * unreferenced until write() puts the manifest, so this may run before the
   * signature exists; the client shares identical uploads, so write() reuses
   * these requests. Never rejects: write() reports upload failures.
   */
  async stage(repository: string, payload: Uint8Array): Promise<void> {
    const config = buildConfig([ociDigest(payload)])
    await Promise.all(
      [payload, config].map(b =>
        this.#client.uploadBlob(repository, b).catch(() => undefined)
      )
    )
  }

  /**
   * Appends `layer` to `<repository>:sha256-<hex>.sig`, keeping every layer
   * already there, and returns once the signature is confirmed in the tag
   * (the registry has no locking: see oci/tag-merge.ts and
   * docs/write-protocol.md). Throws REGISTRY_WRITE_NOT_CONFIRMED when the
   * budget ends before that.
   */
  async write(
    repository: string,
    subjectDigest: string,
    layer: LegacySignatureLayer,
    signerPublicKeySpki: Uint8Array,
    options: TagMergeOptions
  ): Promise<LegacyWriteResult> {
    const tag = this.tagOf(subjectDigest)
    const ours: Descriptor = {
      mediaType: KINDS[this.#kind].mediaType,
      size: layer.payload.length,
      digest: ociDigest(layer.payload),
      annotations: layer.annotations
    }
    const where = `${this.#client.registry}/${repository}:${tag}`
    // Upload while the current manifest is read (a no-op when stage() did
    // it); awaited before returning, so nothing outlives the write.
    const staged = this.stage(repository, layer.payload)
    const r = await this.#settled(
      staged,
      mergeIntoTag<Descriptor>(
        this.#client,
        {
          repository,
          tag,
          noun: this.#kind,
          ours: [ours],
          maxItems: MAX_SIGNATURE_LAYERS,
          itemsOf: found => {
            const m = found.manifest as Partial<ImageManifest>
            if (!Array.isArray(m.layers) || !m.config) {
              throw new StorageError(
                'SIGNATURE_TAG_INVALID',
                `${where} exists but is not an image manifest; refusing to overwrite it`
              )
            }
            return m.layers
          },
          key: layerKey,
          stands: (current, our) =>
            current.some(
              l =>
                layerKey(l) === layerKey(our) ||
                isDuplicate(l, our, layer.payload, signerPublicKeySpki)
            ),
          build: async (layers, found) => {
            const m = found?.manifest as Partial<ImageManifest> | undefined
            const mediaType =
              m?.mediaType ??
              found?.descriptor.mediaType ??
              (this.#docker
                ? MEDIA_TYPES.DOCKER_MANIFEST
                : MEDIA_TYPES.OCI_MANIFEST)
            const configMediaType =
              m?.config?.mediaType ??
              (this.#docker
                ? MEDIA_TYPES.DOCKER_CONFIG
                : MEDIA_TYPES.OCI_CONFIG)
            // cosign's layers are stored uncompressed: diff_ids are the digests.
            const config = buildConfig(layers.map(l => l.digest))
            await Promise.all([
              this.#client.uploadBlob(repository, layer.payload),
              this.#client.uploadBlob(repository, config)
            ])
            return {
              bytes: buildManifest(mediaType, configMediaType, config, layers),
              mediaType
            }
          }
        },
        { ...options, logger: options.logger ?? this.#logger }
      )
    )
    const duplicate = r.alreadyPresent[0] === true
    if (duplicate)
      this.#logger.info(`an identical signature is already in ${where}`)
    if (r.foreignChanges > 0)
      this.#logger.info(
        `${where}: other signers wrote ${r.foreignChanges} time${r.foreignChanges === 1 ? '' : 's'} while we did; every signature seen was kept`
      )
    return { tag: where, manifestDigest: r.digest, duplicate, layers: r.items }
  }

  /** `work`'s outcome, once `background` has settled as well. */
  async #settled<T>(
    background: Promise<unknown>,
    work: Promise<T>
  ): Promise<T> {
    try {
      return await work
    } finally {
      await background
    }
  }

  /** Every layer of the `.sig` manifest with its payload; [] when none. */
  async read(
    repository: string,
    subjectDigest: string
  ): Promise<LegacyCandidate[]> {
    const tag = this.tagOf(subjectDigest)
    const existing = await this.#client.findManifest(repository, tag)
    if (!existing) return []
    const m = existing.manifest as Partial<ImageManifest>
    if (!Array.isArray(m.layers)) {
      throw new StorageError(
        'SIGNATURE_TAG_INVALID',
        `${this.#client.registry}/${repository}:${tag} is not an image manifest`
      )
    }
    if (m.layers.length > MAX_SIGNATURE_LAYERS) {
      throw new StorageError(
        'SIGNATURE_TAG_INVALID',
        `${this.#client.registry}/${repository}:${tag} has ${m.layers.length} layers, more than ${MAX_SIGNATURE_LAYERS}`
      )
    }
    const out: LegacyCandidate[] = []
    for (const descriptor of m.layers) {
      const want = KINDS[this.#kind].mediaType
      if (descriptor.mediaType !== want) {
        out.push({
          descriptor,
          error: new StorageError(
            'SIGNATURE_LAYER_INVALID',
            `layer ${descriptor.digest} has media type ${descriptor.mediaType}, not ${want}`
          )
        })
        continue
      }
      try {
        const payload = await this.#client.getBlob(
          repository,
          descriptor.digest,
          MAX_PAYLOAD_BYTES
        )
        out.push({ descriptor, payload })
      } catch (error) {
        out.push({ descriptor, error })
      }
    }
    return out
  }
}
