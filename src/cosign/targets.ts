// Turns the user's image list into the exact digests to sign or verify:
// parse every reference first (so a typo fails before any network call),
// resolve tags once (warning that tags are mutable), walk indexes when
// recursive, and drop duplicates by repository + digest.
import {
  isIndexMediaType,
  parseReference,
  repositoryName,
  type Descriptor,
  type ImageIndex,
  type Reference,
  type RegistryClient
} from '../oci/index.ts'
import { InputError, mapLimit, type Logger } from '../util/index.ts'

export interface ImageTarget {
  /** What the user wrote (or `<parent> → platform` for index children). */
  input: string
  ref: Reference
  /** `registry/repository`, go-containerregistry form (payload docker-reference). */
  repository: string
  descriptor: Descriptor
  /** Set for children found by walking an index. */
  parent?: string
  platform?: string
}

export interface ResolveTargetsOptions {
  images: readonly string[]
  recursive: boolean
  concurrency: number
  /** The images input as messages name it (`input "images"`, `IMAGE`…). */
  inputName: string
  /** false: a digest reference that is not walked (recursive) is taken as
   * named, without asking the registry (cosign signs digests this way); its
   * descriptor then has no media type or size. Default true. */
  fetchDigests?: boolean
}

/** Splits a multiline or comma-separated list, docker getInputList style. */
export function parseList(value: string): string[] {
  return value
    .split(/\r?\n|,/)
    .map(s => s.trim())
    .filter(s => s.length > 0 && !s.startsWith('#'))
}

export function parseReferences(
  images: readonly string[],
  inputName: string
): Reference[] {
  if (images.length === 0) {
    throw new InputError(
      'INPUT_NO_IMAGES',
      `no images given: set ${inputName} to one or more image references, e.g. ghcr.io/org/app@sha256:<digest>`
    )
  }
  return images.map(image => {
    try {
      return parseReference(image)
    } catch (e) {
      // parseReference's message names the reference, why it is invalid and
      // the shape to use: say only which input it came from.
      throw new InputError(
        'INPUT_INVALID_REFERENCE',
        `${inputName}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e }
      )
    }
  })
}

export async function resolveTargets(
  options: ResolveTargetsOptions,
  registryFor: (registry: string) => RegistryClient,
  logger: Logger
): Promise<ImageTarget[]> {
  const parsed = parseReferences(options.images, options.inputName)
  // Each reference once, however often it was given.
  const unique = new Map<string, { ref: Reference; input: string; n: number }>()
  parsed.forEach((ref, i) => {
    const key = `${ref.registry}/${ref.repository}:${ref.tag ?? ''}@${ref.digest ?? ''}`
    const seen = unique.get(key)
    if (seen) seen.n++
    else unique.set(key, { ref, input: options.images[i] ?? '', n: 1 })
  })
  for (const { input, n } of unique.values())
    if (n > 1) logger.warn(`${input} is given ${n} times; it is handled once`)
  const resolved = await mapLimit(
    [...unique.values()],
    options.concurrency,
    async ({ ref, input }) => {
      if (options.fetchDigests === false && ref.digest && !options.recursive) {
        // Signed as named: nothing of the manifest is needed.
        const named: ImageTarget = {
          input,
          ref,
          repository: repositoryName(ref),
          descriptor: { mediaType: '', size: 0, digest: ref.digest }
        }
        return [named]
      }
      const client = registryFor(ref.registry)
      // One GET: the digest is computed from the bytes (checked against a
      // digest reference) and index-or-manifest is decided from the body,
      // never from a HEAD Content-Type a registry or proxy could lie in.
      const fetched = await client.getManifest(
        ref.repository,
        ref.digest ?? ref.tag ?? 'latest'
      )
      const descriptor = fetched.descriptor
      if (ref.digest && descriptor.digest !== ref.digest) {
        throw new InputError(
          'INPUT_DIGEST_MISMATCH',
          `${input} resolved to ${descriptor.digest}, not the digest it names`
        )
      }
      if (!ref.digest) {
        logger.warn(
          `${input} is a tag; using its current digest ${descriptor.digest}. Tags are mutable: pass name@digest to sign exactly what you built.`
        )
      }
      const target: ImageTarget = {
        input,
        ref: { ...ref, digest: descriptor.digest },
        repository: repositoryName(ref),
        descriptor
      }
      const out = [target]
      if (options.recursive && isIndexMediaType(descriptor.mediaType)) {
        const index = fetched.manifest as Partial<ImageIndex>
        for (const child of index.manifests ?? []) {
          const p = child.platform
          out.push({
            input: `${input} (${p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : child.digest})`,
            ref: { ...ref, tag: undefined, digest: child.digest },
            repository: target.repository,
            descriptor: {
              mediaType: child.mediaType,
              size: child.size,
              digest: child.digest
            },
            parent: descriptor.digest,
            ...(p
              ? {
                  platform: `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
                }
              : {})
          })
        }
      }
      return out
    }
  )
  const seen = new Set<string>()
  const targets: ImageTarget[] = []
  for (const t of resolved.flat()) {
    const key = `${t.ref.registry}/${t.ref.repository}@${t.descriptor.digest}`
    if (seen.has(key)) continue
    seen.add(key)
    targets.push(t)
  }
  return targets
}

/**
 * Push permission on every repository the run will write signatures to
 * (signature-repository, else each image's own), known from the parsed
 * references alone, so it can be checked before anything public happens.
 */
export async function checkPushAccess(
  refs: readonly Reference[],
  signatureRepository: string | undefined,
  registryFor: (registry: string) => RegistryClient,
  concurrency: number
): Promise<void> {
  const repos = new Map<string, { registry: string; repository: string }>()
  for (const ref of refs) {
    const at = signatureRepository
      ? signatureLocator(signatureRepository)({ ref } as ImageTarget)
      : { registry: ref.registry, repository: ref.repository }
    repos.set(`${at.registry}/${at.repository}`, at)
  }
  await mapLimit([...repos.values()], concurrency, r =>
    registryFor(r.registry).checkPush(r.repository)
  )
}

export interface SignatureRepository {
  registry: string
  repository: string
}

/**
 * Where a target's signatures live: its own repository, or the
 * `registry/repository` given as signature-repository (COSIGN_REPOSITORY).
 */
export function signatureLocator(
  signatureRepository: string | undefined
): (target: ImageTarget) => SignatureRepository {
  if (!signatureRepository) {
    return t => ({ registry: t.ref.registry, repository: t.ref.repository })
  }
  const slash = signatureRepository.indexOf('/')
  if (slash <= 0) {
    throw new TypeError(`not a registry/repository: ${signatureRepository}`)
  }
  const fixed = {
    registry: signatureRepository.slice(0, slash),
    repository: signatureRepository.slice(slash + 1)
  }
  return () => fixed
}
