// GitHub Action "sign": inputs → signImages → outputs, job summary, failure.
// The only place that knows about ACTIONS_ID_TOKEN_REQUEST_* and `permissions:`.
import * as core from '@actions/core'
import { fail, prepareActionRun, readRawInputs } from './common.ts'
import {
  ACTION_NAMING,
  AppError,
  DEFAULT_REKOR_URL,
  EnvIdentityProvider,
  GitHubActionsIdentityProvider,
  PUBLIC_GOOD_SEARCH_URL,
  SIGN_INPUTS,
  StaticIdentityProvider,
  redact,
  expandSubjectPaths,
  pushToGitHubAttestations,
  signBlobFiles,
  signImages,
  signingFailure,
  toAttestationInputs,
  toSignInputs,
  toSubjectPatterns,
  type IdentityProvider,
  type PredicateInputs,
  type RawInputs,
  type Bundle,
  type SignInputs,
  type SignResult
} from './deps.ts'

type HttpClient = ConstructorParameters<
  typeof GitHubActionsIdentityProvider
>[0]['http']
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

/** GitHub's token endpoint (the request token is a secret); the token it
 * hands out is masked in the log as soon as it arrives. */
class MaskedGitHubIdentityProvider implements IdentityProvider {
  readonly #inner: GitHubActionsIdentityProvider

  constructor(http: HttpClient) {
    this.#inner = new GitHubActionsIdentityProvider({
      http,
      env: process.env,
      remedy: ID_TOKEN_REMEDY,
      logger: actionsLogger
    })
  }

  async getToken(): Promise<string> {
    const token = await this.#inner.getToken()
    core.setSecret(token)
    return token
  }
}

/** Picks the identity source, failing before any network call when there is none. */
export function chooseIdentity(
  identityToken: string | undefined,
  env: NodeJS.ProcessEnv,
  http: HttpClient
): IdentityProvider {
  if (identityToken) return new StaticIdentityProvider(identityToken)
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return new MaskedGitHubIdentityProvider(http)
  }
  if (env.SIGSTORE_ID_TOKEN) return new EnvIdentityProvider('SIGSTORE_ID_TOKEN')
  throw new AppError(
    'IDENTITY_TOKEN_UNAVAILABLE',
    'keyless signing needs an OIDC token, and this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set).',
    { remedy: ID_TOKEN_REMEDY }
  )
}

function writeOutputs(result: SignResult, rekorUrl: string): void {
  const signed = result.images.filter(i => i.status === 'signed')
  core.setOutput('digests', signed.map(i => i.digest).join('\n'))
  core.setOutput(
    'failed',
    result.images
      .filter(i => i.status === 'failed')
      .map(
        i => `${i.reference} ${i.error?.code ?? ''} ${i.error?.message ?? ''}`
      )
      .join('\n')
  )
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
  const { attestations: _bundles, ...shown } = result
  core.setOutput('result', redact(JSON.stringify({ ...shown, rekorUrl })))
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

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
  const rows = result.images.flatMap(i => {
    const status =
      i.status === 'signed'
        ? '✅ signed'
        : `❌ not signed: <code>${i.error?.code ?? ''}</code> ${escapeHtml(i.error?.message ?? '')}`
    const sigs = i.signatures.length > 0 ? i.signatures : [undefined]
    return sigs.map(s =>
      [
        { data: i.input },
        { data: `<code>${i.digest}</code>` },
        { data: status },
        {
          data: s
            ? `${s.format}: <code>${s.location}</code>${s.duplicate ? ' (already present)' : ''}`
            : '—'
        },
        { data: link(s?.logIndex) }
      ].map(c => ({ data: redact(c.data) }))
    )
  })
  const signed = result.images.filter(i => i.status === 'signed').length
  const s = core.summary.addHeading(
    signed === result.images.length
      ? 'Sigil: images signed'
      : `Sigil: ${signed} of ${result.images.length} images signed`,
    3
  )
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
      { data: 'Status', header: true },
      { data: 'Signature (confirmed in the registry)', header: true },
      { data: 'Rekor log index', header: true }
    ],
    ...rows
  ])
  await s.write()
}

export async function runSignAction(): Promise<void> {
  try {
    const raw = readRawInputs(SIGN_INPUTS)
    const patterns = toSubjectPatterns(raw, ACTION_NAMING)
    const attestation = await toAttestationInputs(
      raw,
      process.env,
      ACTION_NAMING,
      { required: false, provenance: true }
    )
    const inputs = await toSignInputs(raw, process.env, ACTION_NAMING)
    if (patterns.length > 0) {
      await signFiles(raw, patterns, inputs, attestation)
      return
    }
    const runtime = prepareActionRun(inputs)
    const identity = inputs.options.key
      ? undefined
      : chooseIdentity(inputs.identityToken, process.env, runtime.http)
    const trust = runtime.trust
    const result = await signImages(
      {
        ...inputs.options,
        ...(attestation ? { attestation } : {}),
        services: runtime.services,
        trust,
        imagesInputName: ACTION_NAMING.name('images')
      },
      {
        http: runtime.http,
        logger: actionsLogger,
        registryFor: runtime.registryFor,
        ...(identity ? { identity } : {})
      }
    )
    const rekorUrl =
      (await runtime.services)?.rekorUrl ?? inputs.options.rekorUrl
    writeOutputs(result, rekorUrl)
    try {
      await writeSummary(result, rekorUrl)
    } catch (e) {
      core.warning(
        `could not write the job summary: ${e instanceof Error ? e.message : String(e)}`
      )
    }
    const failure = signingFailure(result)
    if (failure) {
      fail(failure)
      return
    }
    if (result.attestations?.length)
      await toGitHubStore(
        result.attestations.map(a => a.bundle),
        runtime.http
      )
  } catch (e) {
    fail(e)
  }
}

/** push-to-github-attestations: the bundles to the repository's store. */
async function toGitHubStore(
  bundles: Bundle[],
  http: HttpClient
): Promise<void> {
  if (!core.getBooleanInput('push-to-github-attestations')) return
  const token = core.getInput('github-token')
  if (token) core.setSecret(token)
  await pushToGitHubAttestations(
    bundles,
    {
      apiUrl: process.env.GITHUB_API_URL ?? 'https://api.github.com',
      repository: process.env.GITHUB_REPOSITORY ?? '',
      token
    },
    { http, logger: actionsLogger }
  )
}

/** subject-path: sign (or attest) files; bundles on disk, listed in outputs. */
async function signFiles(
  raw: RawInputs,
  patterns: string[],
  inputs: SignInputs,
  attestation: PredicateInputs | undefined
): Promise<void> {
  const files = await expandSubjectPaths(patterns, ACTION_NAMING)
  const bundlePath = raw['bundle-path']?.trim()
  if (bundlePath && files.length > 1 && !attestation) {
    throw new AppError(
      'INPUT_CONFLICT',
      `${ACTION_NAMING.name('bundle-path')} names one bundle, and ${ACTION_NAMING.name('subject-path')} matched ${files.length} files (each gets <file>.sigstore.json)`
    )
  }
  const runtime = prepareActionRun(inputs)
  const identity = inputs.options.key
    ? undefined
    : chooseIdentity(inputs.identityToken, process.env, runtime.http)
  const { result, written } = await signBlobFiles(
    {
      files,
      inputs,
      ...(attestation ? { attestation } : {}),
      trust: runtime.trust,
      services: runtime.services,
      paths: bundlePath ? { bundle: bundlePath } : {}
    },
    {
      http: runtime.http,
      logger: actionsLogger,
      ...(identity ? { identity } : {})
    }
  )
  for (const b of written.bundles)
    actionsLogger.info(
      `${b.file}: ${attestation ? 'attestation' : 'bundle'} written to ${b.bundle}`
    )
  if (result.attestation)
    await toGitHubStore([result.attestation.bundle], runtime.http)
  const digests = result.attestation
    ? result.attestation.subjects.map(s => `sha256:${s.digest.sha256 ?? ''}`)
    : result.blobs.map(b => b.digest)
  core.setOutput('digests', digests.join('\n'))
  core.setOutput('failed', '')
  core.setOutput('bundles', written.bundles.map(b => b.bundle).join('\n'))
  core.setOutput('signatures', written.bundles.map(b => b.bundle).join('\n'))
  core.setOutput(
    'rekor-log-indexes',
    written.bundles
      .map(b => b.logIndex)
      .filter(n => n !== undefined)
      .join('\n')
  )
  core.setOutput('certificate-identity', result.identity?.subject ?? '')
  core.setOutput('certificate-issuer', result.identity?.issuer ?? '')
  core.setOutput(
    'result',
    redact(
      JSON.stringify({
        ...written,
        ...(result.attestation
          ? { predicateType: result.attestation.predicateType }
          : {})
      })
    )
  )
  try {
    const s = core.summary.addHeading(
      attestation ? 'Sigil: files attested' : 'Sigil: files signed',
      3
    )
    s.addTable([
      [
        { data: 'File', header: true },
        { data: 'Bundle', header: true },
        { data: 'Rekor log index', header: true }
      ],
      ...written.bundles.map(b => [
        { data: escapeHtml(b.file) },
        { data: `<code>${escapeHtml(b.bundle)}</code>` },
        { data: b.logIndex === undefined ? '—' : String(b.logIndex) }
      ])
    ])
    await s.write()
  } catch (e) {
    core.warning(
      `could not write the job summary: ${e instanceof Error ? e.message : String(e)}`
    )
  }
}
