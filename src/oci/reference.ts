// Image references: `[registry[:port]/]repository[:tag][@sha256:<hex>]`,
// parsed once into a value. Follows distribution/reference's grammar and
// go-containerregistry's Docker Hub normalisation (short names get
// `library/`, hub aliases collapse to `index.docker.io`). Differences: only
// sha256 digests, and a name with neither tag nor digest gets tag `latest`.
// Spec: github.com/distribution/reference/blob/main/reference.go; cosign-spec §10.1.
import { InputError } from '../util/index.ts'
import { SHA256_DIGEST } from './types.ts'

export interface Reference {
  /** Canonical host[:port], lower-case; Docker Hub is `index.docker.io`. */
  registry: string
  /** Path inside the registry, e.g. `library/alpine`. */
  repository: string
  tag?: string
  digest?: string
}

export const DOCKER_HUB = 'index.docker.io'
const HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io'
])

const SHAPE =
  'expected [registry[:port]/]repository[:tag][@sha256:<64 hex>], e.g. ghcr.io/org/app:1.0 or ghcr.io/org/app@sha256:…'
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/
const TAG = /^[\w][\w.-]{0,127}$/
const MAX_NAME = 255

export function parseReference(input: string): Reference {
  const fail = (why: string): never => {
    throw new InputError(
      'INPUT_INVALID_REFERENCE',
      `invalid image reference ${JSON.stringify(input)}: ${why}; ${SHAPE}`
    )
  }
  const s = input.trim()
  if (s === '') fail('it is empty')
  if (/\s/.test(s)) fail('it contains whitespace')
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) fail('drop the URL scheme')

  let rest = s
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!SHA256_DIGEST.test(digest)) {
      fail(
        `digest ${JSON.stringify(digest)} is not sha256: followed by 64 lower-case hex digits`
      )
    }
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) {
      fail(
        `tag ${JSON.stringify(tag)} must be 1-128 of [A-Za-z0-9_.-], not starting with . or -`
      )
    }
  }

  const slash = rest.indexOf('/')
  const first = slash >= 0 ? rest.slice(0, slash) : ''
  let registry: string
  let repository: string
  if (
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost')
  ) {
    registry = canonicalRegistry(first)
    if (!isValidHost(registry))
      fail(`registry ${JSON.stringify(first)} is not a valid host[:port]`)
    repository = rest.slice(slash + 1)
  } else {
    registry = DOCKER_HUB
    repository = rest
  }
  if (repository === '') fail('the repository is empty')
  if (repository !== repository.toLowerCase())
    fail('repository names must be lower-case')
  for (const part of repository.split('/')) {
    if (!PATH_COMPONENT.test(part)) {
      fail(
        `repository component ${JSON.stringify(part)} must be lower-case letters and digits, separated by ".", "_", "__" or "-"`
      )
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/'))
    repository = `library/${repository}`
  if (`${registry}/${repository}`.length > MAX_NAME)
    fail(`the name is longer than ${MAX_NAME} characters`)
  if (tag === undefined && digest === undefined) tag = 'latest'

  const ref: Reference = { registry, repository }
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  return ref
}

/** Lower-cases the host and collapses Docker Hub aliases. */
export function canonicalRegistry(host: string): string {
  const h = host.toLowerCase()
  return HUB_ALIASES.has(h) ? DOCKER_HUB : h
}

function isValidHost(hostPort: string): boolean {
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d{1,5}))?$/i.exec(hostPort)
  if (!m || !m[1]) return false
  if (m[2] !== undefined && Number(m[2]) > 65535) return false
  if (m[1].startsWith('[')) return true
  return m[1].split('.').every(c => DOMAIN_COMPONENT.test(c))
}

/** `registry/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`
}

/** The same name pinned to `digest` (the tag is kept for display). */
export function withDigest(ref: Reference, digest: string): Reference {
  if (!SHA256_DIGEST.test(digest)) {
    throw new TypeError(`withDigest: not a sha256 digest: ${digest}`)
  }
  return { ...ref, digest }
}

/** go-containerregistry's normalised name, e.g. `index.docker.io/library/alpine`. */
export function repositoryName(
  ref: Pick<Reference, 'registry' | 'repository'>
): string {
  return `${ref.registry}/${ref.repository}`
}

/** localhost, 127.0.0.0/8 or ::1, with or without a port. */
export function isLoopbackRegistry(host: string): boolean {
  const h = host.toLowerCase()
  const bare = h.startsWith('[')
    ? h.slice(1, h.indexOf(']'))
    : h.split(':').length > 2
      ? h // bare IPv6, no port
      : h.replace(/:\d+$/, '')
  if (bare === 'localhost' || bare === '::1') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
}

/** Repository path validity, for values that did not come from parseReference. */
export function isValidRepository(repository: string): boolean {
  return (
    repository.length > 0 &&
    repository.length <= MAX_NAME &&
    repository.split('/').every(p => PATH_COMPONENT.test(p))
  )
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag)
}
