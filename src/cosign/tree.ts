// What is attached to an image (`tree`) and the attached documents
// themselves (`download signature|attestation`): the legacy `.sig`, `.att`
// and `.sbom` tags with their layers, and the Sigstore bundle referrers by
// artifact type and predicate type. Read only; nothing is verified here.
import {
  listReferrers,
  type Descriptor,
  type ImageManifest,
  type RegistryClient
} from '../oci/index.ts'
import { fromUtf8, mapLimit, toBase64, type Logger } from '../util/index.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_OCI_CREATED,
  ANNOTATION_PREDICATE_TYPE,
  ANNOTATION_RFC3161_TIMESTAMP,
  ANNOTATION_SIGNATURE,
  ATTESTATION_TAG_SUFFIX,
  SBOM_TAG_SUFFIX,
  SIGNATURE_TAG_SUFFIX,
  digestTagPrefix
} from './constants.ts'
import { LegacyTagStore } from './storage/legacy-tag.ts'
import { ReferrerStore } from './storage/referrer.ts'
import {
  resolveTargets,
  signatureLocator,
  type ImageTarget
} from './targets.ts'

export interface TreeLayer {
  mediaType: string
  digest: string
  size: number
  predicateType?: string
  /** Legacy signatures/attestations: the layer carries a certificate. */
  keyless?: boolean
}

export interface TreeTag {
  kind: 'signatures' | 'attestations' | 'sboms'
  /** `registry/repository:sha256-<hex>.sig` */
  tag: string
  digest: string
  layers: TreeLayer[]
}

export interface TreeReferrer {
  digest: string
  artifactType?: string
  mediaType: string
  predicateType?: string
  created?: string
}

export interface ImageTree {
  reference: string
  digest: string
  legacy: TreeTag[]
  referrers: TreeReferrer[]
  /** How the referrers were listed: the registry's API or the fallback tag. */
  referrersVia: 'api' | 'tag'
}

export interface InspectOptions {
  image: string
  signatureRepository?: string
  inputName?: string
}

export interface InspectDeps {
  logger: Logger
  registryFor: (registry: string) => RegistryClient
}

async function resolveOne(
  o: InspectOptions,
  deps: InspectDeps
): Promise<{
  target: ImageTarget
  client: RegistryClient
  registry: string
  repository: string
}> {
  const [target] = await resolveTargets(
    {
      images: [o.image],
      recursive: false,
      concurrency: 1,
      inputName: o.inputName ?? 'IMAGE'
    },
    deps.registryFor,
    deps.logger
  )
  if (!target) throw new TypeError('no target resolved')
  const { registry, repository } = signatureLocator(o.signatureRepository)(
    target
  )
  return { target, client: deps.registryFor(registry), registry, repository }
}

const TAGS = [
  { kind: 'signatures', suffix: SIGNATURE_TAG_SUFFIX },
  { kind: 'attestations', suffix: ATTESTATION_TAG_SUFFIX },
  { kind: 'sboms', suffix: SBOM_TAG_SUFFIX }
] as const

export async function inspectImage(
  o: InspectOptions,
  deps: InspectDeps
): Promise<ImageTree> {
  const { target, client, registry, repository } = await resolveOne(o, deps)
  const digest = target.descriptor.digest
  const [legacy, listed] = await Promise.all([
    mapLimit([...TAGS], 3, async ({ kind, suffix }) => {
      const tag = `${digestTagPrefix(digest)}${suffix}`
      const found = await client.findManifest(repository, tag)
      if (!found) return undefined
      const m = found.manifest as Partial<ImageManifest>
      const layers: TreeLayer[] = (Array.isArray(m.layers) ? m.layers : []).map(
        l => {
          const a = l.annotations ?? {}
          const predicateType = a[ANNOTATION_PREDICATE_TYPE]
          return {
            mediaType: l.mediaType,
            digest: l.digest,
            size: l.size,
            ...(predicateType ? { predicateType } : {}),
            ...(kind !== 'sboms'
              ? { keyless: (a[ANNOTATION_CERTIFICATE] ?? '') !== '' }
              : {})
          }
        }
      )
      return {
        kind,
        tag: `${registry}/${repository}:${tag}`,
        digest: found.descriptor.digest,
        layers
      } satisfies TreeTag
    }),
    listReferrers(client, repository, digest)
  ])
  return {
    reference: `${target.ref.registry}/${target.ref.repository}@${digest}`,
    digest,
    legacy: legacy.filter((t): t is TreeTag => t !== undefined),
    referrers: listed.descriptors.map((d: Descriptor) => {
      const predicateType = d.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE]
      const created = d.annotations?.[ANNOTATION_OCI_CREATED]
      return {
        digest: d.digest,
        ...(d.artifactType ? { artifactType: d.artifactType } : {}),
        mediaType: d.mediaType,
        ...(predicateType ? { predicateType } : {}),
        ...(created ? { created } : {})
      }
    }),
    referrersVia: listed.via
  }
}

/** `tree`'s text form. */
export function renderTree(t: ImageTree): string {
  const out = [`Artifacts attached to ${t.reference}`]
  const sections: { head: string; items: string[] }[] = []
  const names = {
    signatures: 'Signatures',
    attestations: 'Attestations',
    sboms: 'SBOMs'
  }
  for (const tag of t.legacy) {
    sections.push({
      head: `${names[tag.kind]} (legacy tag ${tag.tag})`,
      items: tag.layers.map(
        l =>
          `${l.digest} ${l.mediaType}${l.predicateType ? ` predicateType=${l.predicateType}` : ''}${l.keyless === undefined ? '' : l.keyless ? ' (certificate)' : ' (key)'}`
      )
    })
  }
  if (t.referrers.length > 0) {
    sections.push({
      head: `Referrers (${t.referrersVia === 'api' ? 'referrers API' : 'fallback tag'})`,
      items: t.referrers.map(
        r =>
          `${r.digest} ${r.artifactType ?? r.mediaType}${r.predicateType ? ` predicateType=${r.predicateType}` : ''}${r.created ? ` created=${r.created}` : ''}`
      )
    })
  }
  if (sections.length === 0) out.push('(nothing attached)')
  sections.forEach((s, i) => {
    const last = i === sections.length - 1
    out.push(`${last ? '└── ' : '├── '}${s.head}`)
    s.items.forEach((item, j) => {
      out.push(
        `${last ? '    ' : '│   '}${j === s.items.length - 1 ? '└── ' : '├── '}${item}`
      )
    })
  })
  return `${out.join('\n')}\n`
}

/** An annotation or blob as JSON, or as the text it is when it is not JSON. */
function jsonOrText(s: string): unknown {
  try {
    return JSON.parse(s) as unknown
  } catch {
    return s
  }
}

/**
 * `download signature|attestation`: every attached document as JSON, in
 * cosign's download shapes for legacy layers (signatures: Base64Signature,
 * Payload, Cert, Chain, Bundle, RFC3161Timestamp; attestations: the DSSE
 * envelope), and each bundle referrer's Sigstore bundle.
 */
export async function downloadAttached(
  what: 'signature' | 'attestation',
  o: InspectOptions,
  deps: InspectDeps
): Promise<unknown[]> {
  const { target, client, repository } = await resolveOne(o, deps)
  const digest = target.descriptor.digest
  const out: unknown[] = []
  const store = new LegacyTagStore(client, deps.logger, {
    kind: what === 'signature' ? 'signature' : 'attestation'
  })
  for (const cand of await new ReferrerStore(client, deps.logger).read(
    repository,
    digest
  )) {
    if (cand.bundle === undefined) continue
    const isSign =
      cand.descriptor.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE] ===
      'https://sigstore.dev/cosign/sign/v1'
    if ((what === 'signature') === isSign) out.push(cand.bundle)
  }
  for (const cand of await store.read(repository, digest)) {
    if (!cand.payload) continue
    if (what === 'attestation') {
      out.push(jsonOrText(fromUtf8(cand.payload)))
      continue
    }
    const a = cand.descriptor.annotations ?? {}
    const bundle = a[ANNOTATION_BUNDLE]
    const ts = a[ANNOTATION_RFC3161_TIMESTAMP]
    out.push({
      Base64Signature: a[ANNOTATION_SIGNATURE] ?? '',
      Payload: toBase64(cand.payload),
      ...(a[ANNOTATION_CERTIFICATE] ? { Cert: a[ANNOTATION_CERTIFICATE] } : {}),
      ...(a[ANNOTATION_CHAIN] ? { Chain: a[ANNOTATION_CHAIN] } : {}),
      ...(bundle ? { Bundle: jsonOrText(bundle) } : {}),
      ...(ts ? { RFC3161Timestamp: jsonOrText(ts) } : {})
    })
  }
  return out
}
