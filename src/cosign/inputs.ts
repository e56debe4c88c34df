// One mapping from raw front-door inputs (the same kebab-case names in
// action.yml, the GitLab templates and the CLI flags) to the typed options of
// the two use cases. Each adapter collects the raw strings its own way; this
// module validates them all before any network call.
import { readFile } from 'node:fs/promises'
import type { VerificationPolicy } from '../sigstore/index.ts'
import { isKmsUri, parseKmsUri } from '../kms/index.ts'
import {
  AppError,
  InputError,
  registerCredential,
  registerSecret,
  type Logger
} from '../util/index.ts'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL
} from './defaults.ts'
import type { SignatureFormat, SignImagesOptions } from './sign-image.ts'
import { canonicalHost, parseReference } from '../oci/index.ts'
import { parseList } from './targets.ts'
import {
  SLSA_PROVENANCE_V1,
  buildPredicate,
  resolvePredicateType
} from './attestation.ts'
import {
  loadPredicatePolicy,
  type CompiledPredicatePolicy
} from './predicate-policy.ts'
import { provenanceFromCi } from './provenance.ts'
import type { VerifyImagesOptions } from './verify-image.ts'
import type { ExplicitServices } from './services.ts'

/** Raw input values by kebab-case name; '' and undefined mean "not set". */
export type RawInputs = Record<string, string | undefined>

/**
 * How the interface in use speaks of an input, so that messages name what
 * the user typed: the CLI says `--certificate-identity`, the action
 * `input "certificate-identity"`, GitLab its input and SIGIL_* variable.
 * Each adapter passes its own; the action's is the default.
 */
export interface InputNaming {
  /** The input as a message names it. */
  name(input: string): string
  /** How a remedy shows setting it, e.g. `key: cosign.pub` or `--key cosign.pub`. */
  set(input: string, value: string): string
}

export const ACTION_NAMING: InputNaming = {
  name: n => `input "${n}"`,
  set: (n, v) => `${n}: ${v}`
}

export const SIGN_INPUTS = [
  'images',
  'predicate',
  'predicate-type',
  'subject-path',
  'bundle-path',
  'format',
  'recursive',
  'annotations',
  'signature-repository',
  'tlog-upload',
  'key',
  'key-password',
  'identity-token',
  'fulcio-url',
  'rekor-url',
  'timestamp-server-url',
  'signing-config',
  'trusted-root',
  'tuf-mirror',
  'tuf-root',
  'registry-username',
  'registry-password',
  'registry',
  'allow-http-registry',
  'concurrency',
  'retry-budget'
] as const

export const VERIFY_INPUTS = [
  'images',
  'certificate-identity',
  'certificate-identity-regexp',
  'certificate-oidc-issuer',
  'certificate-oidc-issuer-regexp',
  'certificate-github-workflow-trigger',
  'certificate-github-workflow-sha',
  'certificate-github-workflow-name',
  'certificate-github-workflow-repository',
  'certificate-github-workflow-ref',
  'key',
  'trusted-root',
  'predicate-type',
  'predicate-policy',
  'tuf-mirror',
  'tuf-root',
  'recursive',
  'annotations',
  'signature-repository',
  'insecure-ignore-tlog',
  'offline',
  'rekor-url',
  'policy',
  'no-match',
  'skip-unsupported-policies',
  'registry-username',
  'registry-password',
  'registry',
  'allow-http-registry',
  'concurrency',
  'retry-budget'
] as const

const val = (raw: RawInputs, name: string): string | undefined => {
  const v = raw[name]?.trim()
  return v === undefined || v === '' ? undefined : v
}

export function parseBoolean(
  raw: RawInputs,
  name: string,
  dflt: boolean,
  naming: InputNaming = ACTION_NAMING
): boolean {
  const v = val(raw, name)
  if (v === undefined) return dflt
  if (/^(true|True|TRUE)$/.test(v)) return true
  if (/^(false|False|FALSE)$/.test(v)) return false
  throw new InputError(
    'INPUT_INVALID_BOOLEAN',
    `${naming.name(name)} must be true or false, got ${JSON.stringify(v)}`
  )
}

function parseUrl(
  raw: RawInputs,
  name: string,
  naming: InputNaming,
  dflt?: string
): string | undefined {
  const v = val(raw, name) ?? dflt
  if (v === undefined) return undefined
  let u: URL
  try {
    u = new URL(v)
  } catch {
    throw new InputError(
      'INPUT_INVALID_URL',
      `${naming.name(name)} is not a URL: ${JSON.stringify(v)}`
    )
  }
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname)
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
    throw new InputError(
      'INPUT_INVALID_URL',
      `${naming.name(name)} must be an https URL (plain http only for loopback), got ${JSON.stringify(v)}`
    )
  }
  return v.replace(/\/+$/, '')
}

function parseConcurrency(raw: RawInputs, naming: InputNaming): number {
  const v = val(raw, 'concurrency')
  if (v === undefined) return DEFAULT_CONCURRENCY
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 32) {
    throw new InputError(
      'INPUT_INVALID_NUMBER',
      `${naming.name('concurrency')} must be a whole number from 1 to 32, got ${JSON.stringify(v)}`
    )
  }
  return n
}

/** Seconds each service call may keep retrying; undefined = the default. */
function parseRetryBudgetMs(
  raw: RawInputs,
  naming: InputNaming
): number | undefined {
  const v = val(raw, 'retry-budget')
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 1 || n > 3600) {
    throw new InputError(
      'INPUT_INVALID_NUMBER',
      `${naming.name('retry-budget')} must be a number of seconds from 1 to 3600, got ${JSON.stringify(v)}`
    )
  }
  return Math.round(n * 1000)
}

/** `key=value` lines or commas (cosign `-a`). */
export function parseAnnotations(
  raw: RawInputs,
  naming: InputNaming = ACTION_NAMING
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of parseList(val(raw, 'annotations') ?? '')) {
    const eq = item.indexOf('=')
    if (eq <= 0) {
      throw new InputError(
        'INPUT_INVALID_ANNOTATION',
        `${naming.name('annotations')} has ${JSON.stringify(item)}; each entry must be key=value`
      )
    }
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim()
  }
  return out
}

/** Go's strconv.ParseBool, as cosign reads its boolean environment
 * variables: anything else (or unset) is false. */
function goBool(v: string | undefined): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v ?? '')
}

/**
 * The registry host explicit credentials (registry-username/-password) are
 * bound to: the "registry" input, else the one registry every image and the
 * signature repository share. Every other host gets only its own docker
 * config credentials, so a password never reaches a host the user did not
 * name. Undefined when no explicit credentials are given.
 */
function credentialsHost(
  raw: RawInputs,
  images: readonly string[],
  signatureRepository: string | undefined
): string | undefined {
  const named = val(raw, 'registry')
  const explicit =
    val(raw, 'registry-username') !== undefined ||
    val(raw, 'registry-password') !== undefined
  if (named !== undefined) {
    if (!/^[a-z0-9.-]+(?::\d+)?$/i.test(named.replace(/^https?:\/\//i, ''))) {
      throw new InputError(
        'INPUT_INVALID_REGISTRY',
        `"registry" must be a registry host (host or host:port), got ${JSON.stringify(named)}`
      )
    }
    if (!explicit) {
      throw new InputError(
        'INPUT_CONFLICT',
        '"registry" names the host of "registry-username"/"registry-password"; set those too, or leave "registry" empty'
      )
    }
    return canonicalHost(named)
  }
  if (!explicit) return undefined
  const hosts = new Set<string>()
  for (const image of images) {
    try {
      hosts.add(parseReference(image).registry)
    } catch {
      // reported with its input name when the targets are parsed
    }
  }
  if (signatureRepository) hosts.add(canonicalHost(signatureRepository))
  if (hosts.size > 1) {
    throw new InputError(
      'INPUT_REGISTRY_AMBIGUOUS',
      `"registry-username"/"registry-password" are sent to one registry only, and this run spans ${[...hosts].sort().join(', ')}`,
      {
        remedy:
          'Set "registry" (CLI: --registry) to the host they belong to; every other registry uses its own docker login credentials (e.g. docker/login-action, or a docker login step).'
      }
    )
  }
  return [...hosts][0]
}

function parseRepository(
  raw: RawInputs,
  env: NodeJS.ProcessEnv,
  naming: InputNaming
): string | undefined {
  const v = val(raw, 'signature-repository') ?? env.COSIGN_REPOSITORY?.trim()
  if (!v) return undefined
  if (
    !/^[a-z0-9.-]+(?::\d+)?\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(
      v
    )
  ) {
    throw new InputError(
      'INPUT_INVALID_REPOSITORY',
      `${naming.name('signature-repository')} (or COSIGN_REPOSITORY) must be registry/repository without tag or digest, got ${JSON.stringify(v)}`
    )
  }
  return v
}

/** KMS providers this version signs and verifies with. */
export const SUPPORTED_KMS = [
  'hashivault',
  'awskms',
  'gcpkms',
  'azurekms'
] as const

/**
 * A KMS key URI (cosign's hashivault://, awskms://, …), validated before any
 * network call; undefined when `value` is not a KMS URI.
 */
export function parseKmsKey(value: string, what: string): string | undefined {
  if (!isKmsUri(value)) return undefined
  let ref
  try {
    ref = parseKmsUri(value)
  } catch (e) {
    if (!(e instanceof AppError)) throw e
    throw new InputError('INPUT_INVALID_KEY', `${what}: ${e.message}`, {
      cause: e
    })
  }
  if (!(SUPPORTED_KMS as readonly string[]).includes(ref.provider)) {
    throw new InputError(
      'INPUT_KEY_UNSUPPORTED',
      `${what}: ${ref.provider}:// keys are not supported yet; Sigil signs with ${SUPPORTED_KMS.map(p => `${p}://`).join(' and ')} keys`,
      {
        remedy:
          'Use a hashivault:// or awskms:// key, a key file (cosign.key), or keyless signing.'
      }
    )
  }
  return value
}

/**
 * Key material: PEM text, `env://VAR`, or a file path (cosign --key
 * semantics; KMS URIs are parsed by parseKmsKey first).
 */
export async function readKey(
  value: string,
  env: NodeJS.ProcessEnv,
  what: string,
  /** Public keys may be fetched from an https URL (cosign --key https://…). */
  allowUrl = false
): Promise<string> {
  if (value.includes('-----BEGIN')) return value
  if (allowUrl && /^https?:\/\//i.test(value)) {
    const { fetchKeyUrl } = await import('./key-location.ts')
    return fetchKeyUrl(value, env, what)
  }
  if (value.startsWith('env://')) {
    const name = value.slice('env://'.length)
    const v = env[name]
    if (!v)
      throw new InputError(
        'INPUT_KEY_UNAVAILABLE',
        `${what} names env://${name}, but ${name} is not set`
      )
    return v
  }
  if (/^[a-z0-9]+:\/\//.test(value)) {
    throw new InputError(
      'INPUT_KEY_UNSUPPORTED',
      `${what}: ${value.split('://')[0]}:// keys are not supported; use a key file, PEM text, env://VAR, an https:// URL (public keys) or a ${SUPPORTED_KMS.map(p => `${p}://`).join(' / ')} key`
    )
  }
  try {
    return await readFile(value, 'utf8')
  } catch (e) {
    throw new InputError(
      'INPUT_KEY_UNREADABLE',
      `${what}: cannot read ${JSON.stringify(value)}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
}

/**
 * The TUF repository to take the trusted root from when none is given:
 * `tuf-mirror` (or cosign's TUF_MIRROR) and its initial root.json,
 * `tuf-root` (or TUF_ROOT_JSON). Ignored with an explicit trusted root.
 */
function parseTuf(
  raw: RawInputs,
  env: NodeJS.ProcessEnv,
  naming: InputNaming
): { tufMirror?: string; tufRootPath?: string } {
  const mirror =
    parseUrl(raw, 'tuf-mirror', naming) ??
    (env['TUF_MIRROR']?.trim()
      ? parseUrl({ 'tuf-mirror': env['TUF_MIRROR'] }, 'tuf-mirror', {
          name: () => 'TUF_MIRROR',
          set: naming.set
        })
      : undefined)
  const root =
    val(raw, 'tuf-root') ?? (env['TUF_ROOT_JSON']?.trim() || undefined)
  return {
    ...(mirror ? { tufMirror: mirror } : {}),
    ...(root ? { tufRootPath: root } : {})
  }
}

export interface SigningServiceInputs {
  explicit: ExplicitServices
  signingConfigPath?: string
  needs: { fulcio: boolean; rekor: boolean; setRequired?: boolean }
}

export interface SignInputs {
  options: Omit<SignImagesOptions, 'trust'>
  /** 'none': a key pair without log or timestamp needs no trusted root. */
  trustPurpose: 'sign' | 'none'
  /** How Fulcio, Rekor and the TSA are chosen (cosign/services.ts). */
  signing: SigningServiceInputs
  trustedRootPath?: string
  tufMirror?: string
  tufRootPath?: string
  /** rekor-url: the log SIGSTORE_REKOR_PUBLIC_KEY's key is for. */
  trustRekorUrl?: string
  identityToken?: string
  registryUsername?: string
  registryPassword?: string
  /** The one registry host the explicit credentials are sent to. */
  registryHost?: string
  allowHttpRegistry: boolean
  retryBudgetMs?: number
}

export async function toSignInputs(
  raw: RawInputs,
  env: NodeJS.ProcessEnv,
  naming: InputNaming = ACTION_NAMING
): Promise<SignInputs> {
  const format = (val(raw, 'format') ?? 'legacy') as SignatureFormat
  if (!['legacy', 'bundle', 'both'].includes(format)) {
    throw new InputError(
      'INPUT_INVALID_FORMAT',
      `${naming.name('format')} must be legacy, bundle or both, got ${JSON.stringify(format)}`
    )
  }
  const images = parseList(val(raw, 'images') ?? '')
  const keyRef = val(raw, 'key')
  let key: SignImagesOptions['key']
  const kms = keyRef ? parseKmsKey(keyRef, naming.name('key')) : undefined
  if (kms) {
    key = { kms }
  } else if (keyRef) {
    const password = raw['key-password'] ?? env.COSIGN_PASSWORD
    registerSecret(password)
    const pem = await readKey(keyRef, env, naming.name('key'))
    registerSecret(pem)
    key = { pem, ...(password !== undefined ? { password } : {}) }
  }
  const identityToken = val(raw, 'identity-token')
  if (identityToken && key) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name('key')} and ${naming.name('identity-token')} are mutually exclusive: a key pair signs without a certificate`
    )
  }
  registerSecret(identityToken)
  const signatureRepository = parseRepository(raw, env, naming)
  const timestampServerUrl = parseUrl(raw, 'timestamp-server-url', naming)
  const registryUsername = val(raw, 'registry-username')
  const registryPassword = val(raw, 'registry-password')
  if (registryPassword !== undefined)
    registerCredential(registryUsername ?? '', registryPassword)
  const registryHost = credentialsHost(raw, images, signatureRepository)
  const trustedRootPath = val(raw, 'trusted-root')
  const retryBudgetMs = parseRetryBudgetMs(raw, naming)
  const fulcioUrl = parseUrl(raw, 'fulcio-url', naming)
  const rekorUrl = parseUrl(raw, 'rekor-url', naming)
  const signingConfigPath = val(raw, 'signing-config')
  const tlogUpload = parseBoolean(raw, 'tlog-upload', true, naming)
  return {
    ...(retryBudgetMs ? { retryBudgetMs } : {}),
    signing: {
      explicit: {
        ...(fulcioUrl ? { fulcioUrl } : {}),
        ...(rekorUrl ? { rekorUrl } : {}),
        ...(timestampServerUrl ? { timestampServerUrl } : {})
      },
      ...(signingConfigPath ? { signingConfigPath } : {}),
      needs: {
        fulcio: !key,
        rekor: tlogUpload,
        // Legacy .sig/.att signatures alone need Rekor v1's signed entry
        // timestamp (blobs are always written as bundles).
        ...(format === 'legacy' && images.length > 0
          ? { setRequired: true }
          : {})
      }
    },
    options: {
      images,
      format,
      recursive: parseBoolean(raw, 'recursive', false, naming),
      annotations: parseAnnotations(raw, naming),
      ...(signatureRepository ? { signatureRepository } : {}),
      ...(goBool(env.COSIGN_DOCKER_MEDIA_TYPES)
        ? { dockerMediaTypes: true }
        : {}),
      tlogUpload,
      ...(key ? { key } : {}),
      // Defaults until the signing config is known (runtime.ts services).
      fulcioUrl: fulcioUrl ?? DEFAULT_FULCIO_URL,
      rekorUrl: rekorUrl ?? DEFAULT_REKOR_URL,
      ...(timestampServerUrl ? { timestampServerUrl } : {}),
      concurrency: parseConcurrency(raw, naming),
      ...(retryBudgetMs ? { retryBudgetMs } : {})
    },
    trustPurpose: key && !tlogUpload && !timestampServerUrl ? 'none' : 'sign',
    ...(trustedRootPath ? { trustedRootPath } : {}),
    ...(rekorUrl ? { trustRekorUrl: rekorUrl } : {}),
    ...parseTuf(raw, env, naming),
    ...(identityToken ? { identityToken } : {}),
    ...(registryUsername ? { registryUsername } : {}),
    ...(registryPassword ? { registryPassword } : {}),
    ...(registryHost ? { registryHost } : {}),
    allowHttpRegistry: parseBoolean(raw, 'allow-http-registry', false, naming)
  }
}

// Patterns RE2 (cosign's regex engine) rejects: backreferences and lookaround.
const NOT_RE2 = /\\[1-9]|\(\?<?[=!]/

function checkRegexp(
  name: string,
  pattern: string,
  logger: Logger,
  naming: InputNaming
): string {
  if (NOT_RE2.test(pattern)) {
    throw new InputError(
      'INPUT_INVALID_REGEXP',
      `${naming.name(name)} uses a backreference or lookaround, which cosign's RE2 engine rejects: ${JSON.stringify(pattern)}`
    )
  }
  let re: RegExp
  try {
    re = new RegExp(`^(?:${pattern})$`)
  } catch (e) {
    throw new InputError(
      'INPUT_INVALID_REGEXP',
      `${naming.name(name)} is not a valid regular expression: ${JSON.stringify(pattern)}`,
      { cause: e }
    )
  }
  const strangers = [
    '',
    'x',
    'https://github.com/attacker/repo/.github/workflows/evil.yml@refs/heads/main',
    'attacker@example.com',
    'https://attacker.example'
  ]
  if (strangers.some(s => re.test(s))) {
    logger.warn(
      name === 'certificate-oidc-issuer-regexp'
        ? `${naming.name(name)} ${JSON.stringify(pattern)} is over-broad: it accepts tokens from any issuer. Name the issuer instead, e.g. ${naming.set('certificate-oidc-issuer', 'https://token.actions.githubusercontent.com')} (GitHub Actions) or ${naming.set('certificate-oidc-issuer', 'https://gitlab.com')} (GitLab)`
        : `${naming.name(name)} ${JSON.stringify(pattern)} is over-broad: it accepts identities from anyone. Anchor it to your organisation, e.g. ^https://github\\.com/ORG/REPO/\\.github/workflows/.+@refs/tags/.+$`
    )
  }
  return pattern
}

function exactOrRegexp(
  raw: RawInputs,
  name: string,
  logger: Logger,
  naming: InputNaming
): { exact?: string; regexp?: string } | undefined {
  const exact = val(raw, name)
  const regexp = val(raw, `${name}-regexp`)
  if (exact && regexp) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name(name)} and ${naming.name(`${name}-regexp`)} are mutually exclusive`
    )
  }
  if (exact) return { exact }
  if (regexp)
    return { regexp: checkRegexp(`${name}-regexp`, regexp, logger, naming) }
  return undefined
}

/** Verification against ClusterImagePolicy documents (the policy input). */
export interface PolicyInputs {
  /** Files and directories of policy documents. */
  paths: string[]
  noMatch: 'deny' | 'allow' | 'warn'
  skipUnsupportedPolicies: boolean
}

export interface VerifyInputs {
  options: Omit<VerifyImagesOptions, 'trust'>
  /** Set when the policy input is given: the options' identity policy is then empty. */
  policy?: PolicyInputs
  trustPurpose: 'verify'
  trustedRootPath?: string
  tufMirror?: string
  tufRootPath?: string
  /** rekor-url: the log SIGSTORE_REKOR_PUBLIC_KEY's key is for. */
  trustRekorUrl?: string
  registryUsername?: string
  registryPassword?: string
  /** The one registry host the explicit credentials are sent to. */
  registryHost?: string
  allowHttpRegistry: boolean
  retryBudgetMs?: number
}

function parsePolicyInputs(
  raw: RawInputs,
  naming: InputNaming
): PolicyInputs | undefined {
  const paths = parseList(val(raw, 'policy') ?? '')
  const noMatch = val(raw, 'no-match')
  const skip = val(raw, 'skip-unsupported-policies')
  if (paths.length === 0) {
    for (const [name, v] of [
      ['no-match', noMatch],
      ['skip-unsupported-policies', skip]
    ] as const) {
      // The action and the template pass their defaults: only a changed value is a mistake.
      if (v !== undefined && v !== 'deny' && v !== 'false')
        throw new InputError(
          'INPUT_CONFLICT',
          `${naming.name(name)} only applies with ${naming.name('policy')} (ClusterImagePolicy documents)`
        )
    }
    return undefined
  }
  if (
    noMatch !== undefined &&
    noMatch !== 'deny' &&
    noMatch !== 'allow' &&
    noMatch !== 'warn'
  ) {
    throw new InputError(
      'INPUT_INVALID_NO_MATCH',
      `${naming.name('no-match')} must be deny, allow or warn, got ${JSON.stringify(noMatch)}`
    )
  }
  return {
    paths,
    noMatch: noMatch ?? 'deny',
    skipUnsupportedPolicies: parseBoolean(
      raw,
      'skip-unsupported-policies',
      false,
      naming
    )
  }
}

const identityRemedy = (naming: InputNaming): string =>
  [
    'Say who must have signed, for example:',
    `  ${naming.set('certificate-identity', 'https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main')}`,
    `  ${naming.set('certificate-oidc-issuer', 'https://token.actions.githubusercontent.com')}`,
    `or, for a key pair: ${naming.set('key', 'cosign.pub')}`
  ].join('\n')

export async function toVerifyInputs(
  raw: RawInputs,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  naming: InputNaming = ACTION_NAMING
): Promise<VerifyInputs> {
  const n = naming.name
  const identity = exactOrRegexp(raw, 'certificate-identity', logger, naming)
  const issuer = exactOrRegexp(raw, 'certificate-oidc-issuer', logger, naming)
  const keyRef = val(raw, 'key')
  const githubWorkflow = Object.fromEntries(
    (['trigger', 'sha', 'name', 'repository', 'ref'] as const)
      .map(k => [k, val(raw, `certificate-github-workflow-${k}`)])
      .filter((e): e is [string, string] => e[1] !== undefined)
  )
  const policyInputs = parsePolicyInputs(raw, naming)
  if (policyInputs) {
    const given = [
      identity ? 'certificate-identity' : '',
      issuer ? 'certificate-oidc-issuer' : '',
      keyRef ? 'key' : '',
      Object.keys(githubWorkflow).length ? 'certificate-github-workflow-*' : '',
      val(raw, 'annotations') ? 'annotations' : '',
      parseBoolean(raw, 'insecure-ignore-tlog', false, naming)
        ? 'insecure-ignore-tlog'
        : ''
    ].filter(Boolean)
    if (given.length > 0) {
      throw new InputError(
        'INPUT_CONFLICT',
        `${n('policy')} cannot be combined with ${given.map(g => (g.endsWith('*') ? g : n(g))).join(', ')}: the ClusterImagePolicy documents say who must have signed (their authorities)`,
        {
          remedy: `Put the identity or key into the policy (keyless.identities, key.data), or drop ${n('policy')}.`
        }
      )
    }
  }
  if (keyRef && (identity || issuer)) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${n('key')} cannot be combined with ${n('certificate-identity')} / ${n('certificate-oidc-issuer')}: a key pair has no certificate identity`
    )
  }
  if (!policyInputs && !keyRef && (!identity || !issuer)) {
    throw new InputError(
      'INPUT_POLICY_REQUIRED',
      `keyless verification needs both an identity (${n('certificate-identity')} or ${n('certificate-identity-regexp')}) and an issuer (${n('certificate-oidc-issuer')} or ${n('certificate-oidc-issuer-regexp')}); ${!identity && !issuer ? 'neither was' : !identity ? 'no identity was' : 'no issuer was'} given. There is no "any signer" default.`,
      { remedy: identityRemedy(naming) }
    )
  }
  const insecureIgnoreTlog = parseBoolean(
    raw,
    'insecure-ignore-tlog',
    false,
    naming
  )
  if (insecureIgnoreTlog && !keyRef) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${n('insecure-ignore-tlog')} is only allowed with ${n('key')}: keyless certificates expire in minutes and need the log to date the signature`
    )
  }
  const policy: VerificationPolicy = {
    ...(identity ? { identity } : {}),
    ...(issuer ? { issuer } : {}),
    ...(Object.keys(githubWorkflow).length ? { githubWorkflow } : {})
  }
  const signatureRepository = parseRepository(raw, env, naming)
  const registryUsername = val(raw, 'registry-username')
  const registryPassword = val(raw, 'registry-password')
  if (registryPassword !== undefined)
    registerCredential(registryUsername ?? '', registryPassword)
  const images = parseList(val(raw, 'images') ?? '')
  const registryHost = credentialsHost(raw, images, signatureRepository)
  const trustedRootPath = val(raw, 'trusted-root')
  const kmsKey = keyRef ? parseKmsKey(keyRef, n('key')) : undefined
  const publicKey =
    keyRef && !kmsKey ? await readKey(keyRef, env, n('key'), true) : undefined
  const retryBudgetMs = parseRetryBudgetMs(raw, naming)
  const offline = parseBoolean(raw, 'offline', false, naming)
  const rekorUrl = parseUrl(raw, 'rekor-url', naming)
  return {
    ...(retryBudgetMs ? { retryBudgetMs } : {}),
    ...(policyInputs ? { policy: policyInputs } : {}),
    options: {
      images,
      recursive: parseBoolean(raw, 'recursive', false, naming),
      concurrency: parseConcurrency(raw, naming),
      policy,
      ...(publicKey ? { publicKey } : {}),
      ...(kmsKey ? { kmsKey } : {}),
      annotations: parseAnnotations(raw, naming),
      ...(signatureRepository ? { signatureRepository } : {}),
      ...(insecureIgnoreTlog ? { insecureIgnoreTlog } : {}),
      ...(offline ? { offline } : {}),
      ...(rekorUrl ? { rekorUrl } : {})
    },
    trustPurpose: 'verify',
    ...(trustedRootPath ? { trustedRootPath } : {}),
    ...(rekorUrl ? { trustRekorUrl: rekorUrl } : {}),
    ...parseTuf(raw, env, naming),
    ...(registryUsername ? { registryUsername } : {}),
    ...(registryPassword ? { registryPassword } : {}),
    ...(registryHost ? { registryHost } : {}),
    allowHttpRegistry: parseBoolean(raw, 'allow-http-registry', false, naming)
  }
}

/** The statement content `attest` / `attest-blob` sign. */
export interface PredicateInputs {
  predicateType: string
  predicate: unknown
}

/**
 * `predicate` (a file) and `predicate-type` (cosign's --type: a name or a
 * URI, default custom). Undefined when no predicate file is given (the
 * caller may build SLSA provenance from the CI context instead).
 */
export async function toPredicateInputs(
  raw: RawInputs,
  naming: InputNaming = ACTION_NAMING,
  now: Date = new Date()
): Promise<PredicateInputs | undefined> {
  const path = val(raw, 'predicate')
  const type = val(raw, 'predicate-type') ?? 'custom'
  const predicateType = resolvePredicateType(
    type,
    naming.name('predicate-type')
  )
  if (path === undefined) return undefined
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(path))
  } catch (e) {
    throw new InputError(
      'INPUT_PREDICATE_UNREADABLE',
      `${naming.name('predicate')}: cannot read ${JSON.stringify(path)}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
  return {
    predicateType,
    predicate: buildPredicate(type, bytes, now, naming.name('predicate'))
  }
}

/**
 * What `attest` signs: the predicate file given; else, when the type asks
 * for SLSA provenance v1 (or for nothing, with `provenanceByDefault`), the
 * provenance of the CI job running it. Undefined when neither a predicate
 * nor a predicate type is given and `required` is false (plain signing).
 */
export async function toAttestationInputs(
  raw: RawInputs,
  env: NodeJS.ProcessEnv,
  naming: InputNaming,
  o: { required: boolean; provenance: boolean }
): Promise<PredicateInputs | undefined> {
  const given = await toPredicateInputs(raw, naming)
  if (given) return given
  const type = val(raw, 'predicate-type')
  if (type === undefined && !o.required) return undefined
  const wantsProvenance =
    type === undefined ||
    resolvePredicateType(type, naming.name('predicate-type')) ===
      SLSA_PROVENANCE_V1
  if (o.provenance && wantsProvenance) return provenanceFromCi(env)
  throw new InputError(
    'INPUT_PREDICATE_REQUIRED',
    `${naming.name('predicate')} is required${type !== undefined && o.provenance ? ` for predicate type ${type} (only SLSA provenance v1 is built from the CI context)` : ''}`,
    {
      remedy: `Pass the predicate file and its type, e.g. ${naming.set('predicate', 'sbom.spdx.json')} and ${naming.set('predicate-type', 'spdxjson')}.`
    }
  )
}

/**
 * The files to sign (`subject-path`, patterns not yet expanded), after the
 * checks that tell images from files: never both, and bundle-path only with
 * files. Empty: sign the images (and an empty images input is reported as
 * such by the image use case).
 */
export function toSubjectPatterns(
  raw: RawInputs,
  naming: InputNaming = ACTION_NAMING
): string[] {
  const patterns = parseList(val(raw, 'subject-path') ?? '')
  const images = parseList(val(raw, 'images') ?? '')
  if (patterns.length > 0 && images.length > 0) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name('images')} and ${naming.name('subject-path')} are mutually exclusive: sign images and files in separate steps`
    )
  }
  if (patterns.length === 0 && val(raw, 'bundle-path') !== undefined) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name('bundle-path')} is where a file's bundle goes; images keep their signatures in the registry (set ${naming.name('subject-path')}, or leave it empty)`
    )
  }
  return patterns
}

/**
 * verify's `predicate-type`: verify attestations of this type (resolved to
 * its URI) instead of signatures; undefined when not set.
 */
export function toVerifyAttestationType(
  raw: RawInputs,
  naming: InputNaming = ACTION_NAMING
): string | undefined {
  const type = val(raw, 'predicate-type')
  if (type === undefined) return undefined
  if (val(raw, 'annotations') !== undefined) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name('annotations')} are claims of image signatures; attestations (${naming.name('predicate-type')}) carry a predicate instead`
    )
  }
  return resolvePredicateType(type, naming.name('predicate-type'))
}

/**
 * verify's `predicate-policy` (CLI: verify-attestation --policy): the CEL
 * policy every verified statement must pass, read and compiled (the CEL
 * engine is loaded only here). Undefined when not set; only with
 * `predicate-type`, which selects attestations.
 */
export async function toPredicatePolicy(
  raw: RawInputs,
  naming: InputNaming = ACTION_NAMING,
  attestations = val(raw, 'predicate-type') !== undefined
): Promise<CompiledPredicatePolicy | undefined> {
  const path = val(raw, 'predicate-policy')
  if (path === undefined) return undefined
  if (!attestations)
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name('predicate-policy')} checks the predicates of attestations: set ${naming.name('predicate-type')} too`
    )
  if (val(raw, 'policy') !== undefined)
    throw new InputError(
      'INPUT_CONFLICT',
      `${naming.name('predicate-policy')} cannot be combined with ${naming.name('policy')}: ClusterImagePolicy documents carry their own attestation policies (authorities[].attestations[].policy)`
    )
  return loadPredicatePolicy(path, naming.name('predicate-policy'))
}
