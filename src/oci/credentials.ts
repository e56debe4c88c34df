// Registry credentials, first match wins: explicit values, then Docker's
// config.json (credHelpers[host] → credsStore → auths), then CI defaults
// (GITHUB_TOKEN for ghcr.io, CI_REGISTRY_USER/PASSWORD for $CI_REGISTRY).
// Hosts are compared exactly after canonicalisation, never by prefix.
// Spec: cosign-spec §10.3; docker/cli cli/config/configfile/file.go; docker-credential-helpers protocol.
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import {
  fromBase64,
  fromUtf8,
  nullLogger,
  registerCredential,
  registerSecret,
  type Logger
} from '../util/index.ts'
import { RegistryError } from './errors.ts'
import { DOCKER_HUB, canonicalRegistry } from './reference.ts'

/** Basic credentials, a registry bearer token used as-is, or an OAuth2
 * refresh ("identity") token exchanged at the token endpoint. */
export type Credentials =
  | { username: string; password: string }
  | { token: string }
  | { identityToken: string; username?: string }

export interface ResolveCredentialsOptions {
  explicit?: Credentials
  env?: Record<string, string | undefined>
  /** Directory holding config.json; default $DOCKER_CONFIG or ~/.docker. */
  dockerConfigDir?: string
  logger?: Logger
}

interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
  registrytoken?: string
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

const HELPER_TIMEOUT_MS = 30_000
const HUB_SERVER_ADDRESS = 'https://index.docker.io/v1/'

export async function resolveCredentials(
  registry: string,
  opts: ResolveCredentialsOptions = {}
): Promise<Credentials | undefined> {
  if (opts.explicit) return remember(opts.explicit)
  const env = opts.env ?? process.env
  const logger = opts.logger ?? nullLogger
  const host = canonicalHost(registry)
  const dir =
    opts.dockerConfigDir ??
    env.DOCKER_CONFIG ??
    join(env.HOME || homedir(), '.docker')
  const config = await readDockerConfig(join(dir, 'config.json'))
  if (config) {
    const found = await fromDockerConfig(config, host, env, logger)
    if (found) return remember(found)
  }
  return remember(fromCiEnv(host, env))
}

/** `https://Index.Docker.io/v1/` → `index.docker.io`; `ghcr.io:443/x` → `ghcr.io:443`. */
export function canonicalHost(key: string): string {
  const noScheme = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  return canonicalRegistry(noScheme.split('/')[0] ?? '')
}

async function readDockerConfig(
  path: string
): Promise<DockerConfig | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined
    throw new RegistryError(
      'REGISTRY_CREDENTIALS_INVALID',
      `cannot read Docker config ${path}`,
      { cause: e }
    )
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null)
      throw new Error('not a JSON object')
    return parsed
  } catch (e) {
    throw new RegistryError(
      'REGISTRY_CREDENTIALS_INVALID',
      `Docker config ${path} is not valid JSON`,
      {
        cause: e,
        remedy:
          'Fix or remove the file, or pass registry credentials explicitly.'
      }
    )
  }
}

async function fromDockerConfig(
  config: DockerConfig,
  host: string,
  env: Record<string, string | undefined>,
  logger: Logger
): Promise<Credentials | undefined> {
  const helper = Object.entries(config.credHelpers ?? {}).find(
    ([k]) => canonicalHost(k) === host
  )?.[1]
  for (const name of [helper, config.credsStore]) {
    if (!name) continue
    const found = await runHelper(name, host, env, logger)
    if (found) return found
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (
      canonicalHost(key) !== host ||
      typeof entry !== 'object' ||
      entry === null
    )
      continue
    const found = fromAuthEntry(entry, key)
    if (found) return found
  }
  return undefined
}

function fromAuthEntry(entry: AuthEntry, key: string): Credentials | undefined {
  let { username, password } = entry
  if (entry.auth) {
    const decoded = fromUtf8(fromBase64(entry.auth))
    const i = decoded.indexOf(':')
    if (i < 0) {
      throw new RegistryError(
        'REGISTRY_CREDENTIALS_INVALID',
        `the "auth" value for ${JSON.stringify(key)} in the Docker config is not base64 of user:password`
      )
    }
    username = decoded.slice(0, i)
    password = decoded.slice(i + 1)
  }
  if (entry.identitytoken) {
    return username
      ? { identityToken: entry.identitytoken, username }
      : { identityToken: entry.identitytoken }
  }
  if (entry.registrytoken) return { token: entry.registrytoken }
  if (username && password !== undefined && password !== '')
    return { username, password }
  return undefined
}

/** docker-credential-<name> get, server address on stdin, JSON on stdout. */
async function runHelper(
  name: string,
  host: string,
  env: Record<string, string | undefined>,
  logger: Logger
): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new RegistryError(
      'REGISTRY_CREDENTIALS_INVALID',
      `invalid credential helper name ${JSON.stringify(name)} in the Docker config`
    )
  }
  const program = `docker-credential-${name}`
  const serverAddress = host === DOCKER_HUB ? HUB_SERVER_ADDRESS : host
  const result = await execHelper(program, serverAddress, env)
  if (result.missing) {
    // A config copied from a desktop (credsStore: desktop) on a CI runner.
    logger.warn(
      `credential helper ${program} is not installed; ignoring it for ${host}`
    )
    return undefined
  }
  if (result.code !== 0) {
    if (/credentials not found/i.test(result.stdout + result.stderr))
      return undefined
    throw new RegistryError(
      'REGISTRY_CREDENTIALS_INVALID',
      `credential helper ${program} failed for ${host} (exit ${result.code}): ${(result.stderr || result.stdout).trim().slice(0, 200)}`
    )
  }
  let parsed: { Username?: unknown; Secret?: unknown }
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed
  } catch (e) {
    throw new RegistryError(
      'REGISTRY_CREDENTIALS_INVALID',
      `credential helper ${program} printed invalid JSON for ${host}`,
      { cause: e }
    )
  }
  const username = typeof parsed.Username === 'string' ? parsed.Username : ''
  const secret = typeof parsed.Secret === 'string' ? parsed.Secret : ''
  if (!secret) return undefined
  if (username === '<token>') return { identityToken: secret }
  return { username, password: secret }
}

interface HelperResult {
  missing: boolean
  code: number
  stdout: string
  stderr: string
}

function execHelper(
  program: string,
  input: string,
  env: Record<string, string | undefined>
): Promise<HelperResult> {
  // Loaded here: most runs never start a helper, and child_process costs
  // every run a millisecond or two of start-up.
  const { spawn } = process.getBuiltinModule('node:child_process')
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], {
      env: env,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    // Our own timer: spawn's `timeout` option leaks its timer on ENOENT.
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS)
    timer.unref()
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', d => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', d => (stderr += d))
    child.on('error', e => {
      clearTimeout(timer)
      if ((e as { code?: unknown }).code === 'ENOENT') {
        resolve({ missing: true, code: -1, stdout, stderr })
      } else {
        reject(
          new RegistryError(
            'REGISTRY_CREDENTIALS_INVALID',
            `cannot run credential helper ${program}`,
            { cause: e }
          )
        )
      }
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        missing: false,
        code: code ?? (signal ? 128 : -1),
        stdout,
        stderr:
          signal === 'SIGKILL'
            ? `timed out after ${HELPER_TIMEOUT_MS} ms`
            : stderr
      })
    })
    child.stdin.on('error', () => {}) // the helper may exit before reading
    child.stdin.end(input)
  })
}

function fromCiEnv(
  host: string,
  env: Record<string, string | undefined>
): Credentials | undefined {
  if (host === 'ghcr.io' && env.GITHUB_TOKEN) {
    return { username: env.GITHUB_ACTOR || 'token', password: env.GITHUB_TOKEN }
  }
  if (
    env.CI_REGISTRY &&
    canonicalHost(env.CI_REGISTRY) === host &&
    env.CI_REGISTRY_USER &&
    env.CI_REGISTRY_PASSWORD
  ) {
    return {
      username: env.CI_REGISTRY_USER,
      password: env.CI_REGISTRY_PASSWORD
    }
  }
  return undefined
}

/** Every secret we hand out is registered so `redact` strips it from text. */
function remember(c: Credentials | undefined): Credentials | undefined {
  if (c) {
    if ('password' in c) registerCredential(c.username, c.password)
    if ('token' in c) registerSecret(c.token)
    if ('identityToken' in c) registerSecret(c.identityToken)
  }
  return c
}
