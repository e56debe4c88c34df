// GitHub Action "sign": inputs → signImages → outputs, job summary, failure.
// The only place that knows about ACTIONS_ID_TOKEN_REQUEST_* and `permissions:`.
import * as core from '@actions/core'
import { fail, prepareActionRun, readRawInputs } from './common.ts'
import {
  AppError,
  DEFAULT_REKOR_URL,
  EnvIdentityProvider,
  PUBLIC_GOOD_SEARCH_URL,
  SIGN_INPUTS,
  StaticIdentityProvider,
  redact,
  registerSecret,
  signImages,
  toSignInputs,
  type IdentityProvider,
  type SignResult
} from './deps.ts'
import { actionsLogger } from './logger.ts'

export const ID_TOKEN_REMEDY = [
  'Give the job permission to request an OIDC token:',
  '',
  '  permissions:',
  '    id-token: write   # keyless signing with Sigstore',
  '    packages: write   # push signatures (e.g. to ghcr.io)',
  '    contents: read',
  '',
  'or sign with a key pair (input "key"), or pass a token in "identity-token".'
].join('\n')

class GitHubIdentityProvider implements IdentityProvider {
  async getToken(): Promise<string> {
    try {
      const token = await core.getIDToken('sigstore')
      core.setSecret(token)
      registerSecret(token)
      return token
    } catch (e) {
      throw new AppError(
        'IDENTITY_TOKEN_UNAVAILABLE',
        `could not get a GitHub OIDC token: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e, remedy: ID_TOKEN_REMEDY }
      )
    }
  }
}

/** Picks the identity source, failing before any network call when there is none. */
export function chooseIdentity(
  identityToken: string | undefined,
  env: NodeJS.ProcessEnv
): IdentityProvider {
  if (identityToken) return new StaticIdentityProvider(identityToken)
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return new GitHubIdentityProvider()
  }
  if (env.SIGSTORE_ID_TOKEN) return new EnvIdentityProvider('SIGSTORE_ID_TOKEN')
  throw new AppError(
    'IDENTITY_TOKEN_UNAVAILABLE',
    'keyless signing needs an OIDC token, and this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set).',
    { remedy: ID_TOKEN_REMEDY }
  )
}

function writeOutputs(result: SignResult, rekorUrl: string): void {
  core.setOutput('digests', result.images.map(i => i.digest).join('\n'))
  core.setOutput(
    'signatures',
    result.images.flatMap(i => i.signatures.map(s => s.location)).join('\n')
  )
  core.setOutput(
    'rekor-log-indexes',
    [
      ...new Set(
        result.images
          .flatMap(i => i.signatures.map(s => s.logIndex))
          .filter(n => n !== undefined)
      )
    ].join('\n')
  )
  core.setOutput('certificate-identity', result.identity?.subject ?? '')
  core.setOutput('certificate-issuer', result.identity?.issuer ?? '')
  core.setOutput('result', redact(JSON.stringify({ ...result, rekorUrl })))
}

async function writeSummary(
  result: SignResult,
  rekorUrl: string
): Promise<void> {
  const link = (n: number | undefined): string =>
    n === undefined
      ? '—'
      : rekorUrl === DEFAULT_REKOR_URL
        ? `<a href="${PUBLIC_GOOD_SEARCH_URL}${n}">${n}</a>`
        : String(n)
  const rows = result.images.flatMap(i =>
    i.signatures.map(s =>
      [
        { data: i.input },
        { data: `<code>${i.digest}</code>` },
        {
          data: `${s.format}: <code>${s.location}</code>${s.duplicate ? ' (already present)' : ''}`
        },
        { data: link(s.logIndex) }
      ].map(c => ({ data: redact(c.data) }))
    )
  )
  const s = core.summary.addHeading('Sigil: images signed', 3)
  if (result.identity) {
    s.addRaw(
      redact(
        `Signed as <code>${result.identity.subject}</code> (issuer <code>${result.identity.issuer}</code>)`
      ),
      true
    )
  } else {
    s.addRaw('Signed with a key pair', true)
  }
  s.addTable([
    [
      { data: 'Image', header: true },
      { data: 'Digest', header: true },
      { data: 'Signature', header: true },
      { data: 'Rekor log index', header: true }
    ],
    ...rows
  ])
  await s.write()
}

export async function runSignAction(): Promise<void> {
  try {
    const inputs = await toSignInputs(readRawInputs(SIGN_INPUTS), process.env)
    const identity = inputs.options.key
      ? undefined
      : chooseIdentity(inputs.identityToken, process.env)
    const runtime = prepareActionRun(inputs)
    const trust = runtime.trust
    const result = await signImages(
      { ...inputs.options, trust },
      {
        http: runtime.http,
        logger: actionsLogger,
        registryFor: runtime.registryFor,
        ...(identity ? { identity } : {})
      }
    )
    writeOutputs(result, inputs.options.rekorUrl)
    try {
      await writeSummary(result, inputs.options.rekorUrl)
    } catch (e) {
      core.warning(
        `could not write the job summary: ${e instanceof Error ? e.message : String(e)}`
      )
    }
  } catch (e) {
    fail(e)
  }
}
