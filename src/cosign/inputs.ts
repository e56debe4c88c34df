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
import type { VerifyImagesOptions } from './verify-image.ts'

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
  'trusted-root',
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
  'recursive',
  'annotations',
  'signature-repository',
  'insecure-ignore-tlog',
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
  what: string
): Promise<string> {
  if (value.includes('-----BEGIN')) return value
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
      `${what}: ${value.split('://')[0]}:// keys are not supported; use a key file, PEM text, env://VAR or a ${SUPPORTED_KMS.map(p => `${p}://`).join(' / ')} key`
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

export interface SignInputs {
  options: Omit<SignImagesOptions, 'trust'>
  trustedRootPath?: string
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
  return {
    ...(retryBudgetMs ? { retryBudgetMs } : {}),
    options: {
      images,
      format,
      recursive: parseBoolean(raw, 'recursive', false, naming),
      annotations: parseAnnotations(raw, naming),
      ...(signatureRepository ? { signatureRepository } : {}),
      ...(goBool(env.COSIGN_DOCKER_MEDIA_TYPES)
        ? { dockerMediaTypes: true }
        : {}),
      tlogUpload: parseBoolean(raw, 'tlog-upload', true, naming),
      ...(key ? { key } : {}),
      fulcioUrl:
        parseUrl(raw, 'fulcio-url', naming, DEFAULT_FULCIO_URL) ??
        DEFAULT_FULCIO_URL,
      rekorUrl:
        parseUrl(raw, 'rekor-url', naming, DEFAULT_REKOR_URL) ??
        DEFAULT_REKOR_URL,
      ...(timestampServerUrl ? { timestampServerUrl } : {}),
      concurrency: parseConcurrency(raw, naming),
      ...(retryBudgetMs ? { retryBudgetMs } : {})
    },
    ...(trustedRootPath ? { trustedRootPath } : {}),
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

export interface VerifyInputs {
  options: Omit<VerifyImagesOptions, 'trust'>
  trustedRootPath?: string
  registryUsername?: string
  registryPassword?: string
  /** The one registry host the explicit credentials are sent to. */
  registryHost?: string
  allowHttpRegistry: boolean
  retryBudgetMs?: number
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
  if (keyRef && (identity || issuer)) {
    throw new InputError(
      'INPUT_CONFLICT',
      `${n('key')} cannot be combined with ${n('certificate-identity')} / ${n('certificate-oidc-issuer')}: a key pair has no certificate identity`
    )
  }
  if (!keyRef && (!identity || !issuer)) {
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
    keyRef && !kmsKey ? await readKey(keyRef, env, n('key')) : undefined
  const retryBudgetMs = parseRetryBudgetMs(raw, naming)
  return {
    ...(retryBudgetMs ? { retryBudgetMs } : {}),
    options: {
      images,
      recursive: parseBoolean(raw, 'recursive', false, naming),
      concurrency: parseConcurrency(raw, naming),
      policy,
      ...(publicKey ? { publicKey } : {}),
      ...(kmsKey ? { kmsKey } : {}),
      annotations: parseAnnotations(raw, naming),
      ...(signatureRepository ? { signatureRepository } : {}),
      ...(insecureIgnoreTlog ? { insecureIgnoreTlog } : {})
    },
    ...(trustedRootPath ? { trustedRootPath } : {}),
    ...(registryUsername ? { registryUsername } : {}),
    ...(registryPassword ? { registryPassword } : {}),
    ...(registryHost ? { registryHost } : {}),
    allowHttpRegistry: parseBoolean(raw, 'allow-http-registry', false, naming)
  }
}
