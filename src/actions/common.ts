// What both actions share: reading declared inputs by name, masking secrets,
// and failing the step with the most useful message (cause chain at debug).
import * as core from '@actions/core'
import { SIGIL_VERSION } from '../version.ts'
import {
  causeChain,
  describeError,
  prepareRun,
  redact,
  registerSecret,
  type RawInputs,
  type RunInputs
} from './deps.ts'
import { actionsLogger, closeActionsLogger } from './logger.ts'

export function readRawInputs(names: readonly string[]): RawInputs {
  const raw: RawInputs = {}
  for (const name of names) raw[name] = core.getInput(name)
  for (const secret of [
    'registry-password',
    'key-password',
    'identity-token'
  ]) {
    const v = raw[secret]
    if (v) core.setSecret(v)
  }
  // A PEM key pasted into the input: the runner masks single lines best, so
  // mask the whole value and each base64 line of it.
  const key = raw.key
  if (key?.includes('PRIVATE KEY')) {
    core.setSecret(key)
    for (const line of key.split(/\r?\n/)) {
      if (line.length >= 16 && !line.startsWith('-----')) core.setSecret(line)
    }
  }
  return raw
}

/**
 * The environment registry credentials are looked up in, with the
 * `github-token` input (default: the job's token) as GITHUB_TOKEN when the
 * workflow did not set one: it is used for ghcr.io only, and only after
 * explicit inputs and docker login credentials (oci/credentials.ts).
 */
export function registryEnv(
  env: NodeJS.ProcessEnv,
  githubToken: string
): NodeJS.ProcessEnv {
  if (env.GITHUB_TOKEN || !githubToken) return env
  return { ...env, GITHUB_TOKEN: githubToken }
}

/** Both actions' runtime: HTTP client, registry clients, trust material. */
export function prepareActionRun(
  inputs: RunInputs
): ReturnType<typeof prepareRun> {
  return prepareRun(inputs, {
    userAgent: userAgent(),
    logger: actionsLogger,
    env: registryEnv(process.env, readGitHubToken())
  })
}

/** The `github-token` input, masked. */
function readGitHubToken(): string {
  const token = core.getInput('github-token')
  if (token) {
    core.setSecret(token)
    registerSecret(token)
  }
  return token
}

export function fail(e: unknown): void {
  closeActionsLogger()
  for (const c of causeChain(e).slice(1)) {
    core.debug(
      `caused by: ${redact(c instanceof Error ? `${c.name}: ${c.message}` : String(c))}`
    )
  }
  const code = (e as { code?: unknown }).code
  const message = redact(describeError(e))
  core.setFailed(typeof code === 'string' ? `[${code}] ${message}` : message)
}

function userAgent(): string {
  return `sigil/${SIGIL_VERSION} (github-actions; node ${process.versions.node})`
}
