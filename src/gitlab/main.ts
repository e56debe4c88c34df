// GitLab CI adapter: `node dist/gitlab/index.js sign|verify` inside the job
// that templates/sign.yml and templates/verify.yml define. Inputs arrive as
// job variables (SIGIL_<INPUT_NAME>), results go to a dotenv report and a
// JSON file, the log gets collapsible sections, and the exit code says why
// it failed. Never signs in after_script: a failure fails the job.
import { writeFile } from 'node:fs/promises'
import {
  SIGN_INPUTS,
  VERIFY_INPUTS,
  attestationFailure,
  attestationLines,
  expandSubjectPaths,
  signBlobFiles,
  toAttestationInputs,
  toAttestationResultJson,
  toSubjectPatterns,
  toVerifyAttestationType,
  toPredicatePolicy,
  verifyAttestations,
  prepareRun,
  exitCodeFor,
  signImages,
  signingFailure,
  toSignInputs,
  toVerifyInputs,
  toVerifyResultJson,
  verificationFailure,
  verifyImages,
  type InputNaming,
  type RawInputs
} from '../cosign/index.ts'
import {
  EnvIdentityProvider,
  StaticIdentityProvider,
  decodeJwtClaims
} from '../sigstore/index.ts'
import {
  AppError,
  causeChain,
  closableLogger,
  describeError,
  redact,
  type Logger
} from '../util/index.ts'
import { SIGIL_VERSION } from '../version.ts'

export const GITLAB_ID_TOKEN_REMEDY = [
  'Declare an ID token for Sigstore on the job (it must be in the project that is signed):',
  '',
  '  id_tokens:',
  '    SIGSTORE_ID_TOKEN:',
  '      aud: sigstore',
  '',
  'Keyless signing with the public Fulcio works for projects on gitlab.com; self-managed',
  'instances sign with a key pair (input "key") or a private Sigstore instance.'
].join('\n')

/** `images` → `SIGIL_IMAGES`, `tlog-upload` → `SIGIL_TLOG_UPLOAD`. */
export function variableName(input: string): string {
  return `SIGIL_${input.toUpperCase().replace(/-/g, '_')}`
}

// Secrets are never component inputs (inputs are visible in the pipeline):
// the job reads them from masked CI/CD variables.
const SECRET_INPUTS = new Set([
  'key-password',
  'registry-password',
  'identity-token'
])

/** GitLab messages name the component input and the job variable it becomes. */
export const GITLAB_NAMING: InputNaming = {
  name: n =>
    SECRET_INPUTS.has(n)
      ? `variable ${variableName(n)}`
      : `input "${n}" (${variableName(n)})`,
  set: (n, v) => `${n}: ${v}`
}

export function readGitlabInputs(
  names: readonly string[],
  env: NodeJS.ProcessEnv
): RawInputs {
  return Object.fromEntries(names.map(n => [n, env[variableName(n)]]))
}

const ESC = '\u001b'
function gitlabLogger(out: (s: string) => void, debug: boolean): Logger {
  let n = 0
  return {
    debug: m => {
      if (debug) out(`debug: ${redact(m)}\n`)
    },
    info: m => out(`${redact(m)}\n`),
    warn: m => out(`${ESC}[33mwarning: ${redact(m)}${ESC}[0m\n`),
    group: async (name, fn) => {
      const id = `sigil_${++n}`
      out(
        `${ESC}[0Ksection_start:${Math.floor(Date.now() / 1000)}:${id}[collapsed=false]\r${ESC}[0K${name}\n`
      )
      try {
        return await fn()
      } finally {
        out(
          `${ESC}[0Ksection_end:${Math.floor(Date.now() / 1000)}:${id}\r${ESC}[0K\n`
        )
      }
    }
  }
}

/** The SAN Fulcio will put in the certificate for this job's token. */
export function expectedGitlabIdentity(token: string): string | undefined {
  try {
    const claims = decodeJwtClaims(token)
    const uri = claims.ci_config_ref_uri
    return typeof uri === 'string' ? `https://${uri}` : undefined
  } catch {
    return undefined
  }
}

/** The issuer Fulcio will put in the certificate: the token's `iss`. */
function tokenIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwtClaims(token).iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/**
 * Names of the dotenv report variables. GitLab gives dotenv variables
 * precedence over a later job's own `variables:`, and the verify job takes
 * its inputs from SIGIL_<INPUT> job variables: a report variable named like
 * an input would override that input in every later job (a sign job's
 * SIGIL_CERTIFICATE_IDENTITY replaced verify's certificate-identity with
 * whoever signed). So none of these may equal variableName(<any input>).
 */
export const SIGN_DOTENV = [
  'SIGIL_DIGESTS',
  'SIGIL_FAILED',
  'SIGIL_SIGNATURES',
  'SIGIL_REKOR_LOG_INDEXES',
  'SIGIL_SIGNING_IDENTITY',
  'SIGIL_SIGNING_ISSUER',
  'SIGIL_BUNDLES'
] as const
export const VERIFY_DOTENV = ['SIGIL_VERIFIED', 'SIGIL_IDENTITIES'] as const

function dotenv(values: Record<string, string>): string {
  // dotenv reports take one line per variable: lists are space-separated.
  return (
    Object.entries(values)
      .map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ').trim()}`)
      .join('\n') + '\n'
  )
}

async function sign(
  env: NodeJS.ProcessEnv,
  log: Logger,
  out: (s: string) => void
): Promise<void> {
  const raw = readGitlabInputs(SIGN_INPUTS, env)
  const patterns = toSubjectPatterns(raw, GITLAB_NAMING)
  const attestation = await toAttestationInputs(raw, env, GITLAB_NAMING, {
    required: false,
    provenance: true
  })
  const inputs = await toSignInputs(raw, env, GITLAB_NAMING)
  let identity
  if (!inputs.options.key) {
    if (inputs.identityToken)
      identity = new StaticIdentityProvider(inputs.identityToken)
    else if (env.SIGSTORE_ID_TOKEN)
      identity = new EnvIdentityProvider('SIGSTORE_ID_TOKEN')
    else {
      throw new AppError(
        'IDENTITY_TOKEN_UNAVAILABLE',
        'keyless signing needs SIGSTORE_ID_TOKEN, and the job has none',
        {
          remedy: GITLAB_ID_TOKEN_REMEDY
        }
      )
    }
    const token = inputs.identityToken ?? env.SIGSTORE_ID_TOKEN ?? ''
    const expected = expectedGitlabIdentity(token)
    if (expected) {
      log.info(`Signing identity: ${expected}`)
      log.info(
        `Verify with: certificate-identity: ${expected}  certificate-oidc-issuer: ${tokenIssuer(token) ?? env.CI_SERVER_URL ?? 'https://gitlab.com'}`
      )
    }
  }
  const runtime = prepareRun(inputs, {
    userAgent: `sigil/${SIGIL_VERSION} (gitlab-ci)`,
    logger: log,
    env: env
  })
  const trust = runtime.trust
  if (patterns.length > 0) {
    const files = await expandSubjectPaths(patterns, GITLAB_NAMING)
    const bundlePath = raw['bundle-path']?.trim()
    if (bundlePath && files.length > 1 && !attestation) {
      throw new AppError(
        'INPUT_CONFLICT',
        `${GITLAB_NAMING.name('bundle-path')} names one bundle, and ${GITLAB_NAMING.name('subject-path')} matched ${files.length} files (each gets <file>.sigstore.json)`
      )
    }
    const { result, written } = await signBlobFiles(
      {
        files,
        inputs,
        ...(attestation ? { attestation } : {}),
        trust,
        services: runtime.services,
        paths: bundlePath ? { bundle: bundlePath } : {}
      },
      { http: runtime.http, logger: log, ...(identity ? { identity } : {}) }
    )
    for (const b of written.bundles)
      log.info(`${b.file}: bundle written to ${b.bundle}`)
    await writeFile(
      env.SIGIL_DOTENV ?? 'sigil.env',
      dotenv({
        SIGIL_DIGESTS: (result.attestation
          ? result.attestation.subjects.map(
              s => `sha256:${s.digest.sha256 ?? ''}`
            )
          : result.blobs.map(b => b.digest)
        ).join(' '),
        SIGIL_FAILED: '',
        SIGIL_SIGNATURES: written.bundles.map(b => b.bundle).join(' '),
        SIGIL_REKOR_LOG_INDEXES: written.bundles
          .map(b => b.logIndex)
          .filter(n => n !== undefined)
          .join(' '),
        SIGIL_SIGNING_IDENTITY: result.identity?.subject ?? '',
        SIGIL_SIGNING_ISSUER: result.identity?.issuer ?? '',
        SIGIL_BUNDLES: written.bundles.map(b => b.bundle).join(' ')
      } satisfies Record<(typeof SIGN_DOTENV)[number], string>)
    )
    await writeFile(
      env.SIGIL_RESULT_FILE ?? 'sigil-result.json',
      `${redact(JSON.stringify(written, null, 2))}\n`
    )
    out(`${attestation ? 'attested' : 'signed'} ${files.length} file(s)\n`)
    return
  }
  const result = await signImages(
    {
      ...inputs.options,
      ...(attestation ? { attestation } : {}),
      services: runtime.services,
      trust,
      imagesInputName: GITLAB_NAMING.name('images')
    },
    {
      http: runtime.http,
      logger: log,
      registryFor: runtime.registryFor,
      env,
      ...(identity ? { identity } : {})
    }
  )
  const indexes = [
    ...new Set(
      result.images
        .flatMap(i => i.signatures.map(s => s.logIndex))
        .filter(n => n !== undefined)
    )
  ]
  await writeFile(
    env.SIGIL_DOTENV ?? 'sigil.env',
    dotenv({
      SIGIL_DIGESTS: result.images
        .filter(i => i.status === 'signed')
        .map(i => i.digest)
        .join(' '),
      SIGIL_FAILED: result.images
        .filter(i => i.status === 'failed')
        .map(i => i.reference)
        .join(' '),
      SIGIL_SIGNATURES: result.images
        .flatMap(i => i.signatures.map(s => s.location))
        .join(' '),
      SIGIL_REKOR_LOG_INDEXES: indexes.join(' '),
      SIGIL_SIGNING_IDENTITY: result.identity?.subject ?? '',
      SIGIL_SIGNING_ISSUER: result.identity?.issuer ?? ''
    } satisfies Record<
      Exclude<(typeof SIGN_DOTENV)[number], 'SIGIL_BUNDLES'>,
      string
    >)
  )
  await writeFile(
    env.SIGIL_RESULT_FILE ?? 'sigil-result.json',
    `${redact(JSON.stringify(result, null, 2))}\n`
  )
  const failure = signingFailure(result)
  if (failure) throw failure
  out(`signed ${result.images.length} image(s)\n`)
}

async function verify(env: NodeJS.ProcessEnv, log: Logger): Promise<void> {
  const raw = readGitlabInputs(VERIFY_INPUTS, env)
  const predicateType = toVerifyAttestationType(raw, GITLAB_NAMING)
  const inputs = await toVerifyInputs(raw, env, log, GITLAB_NAMING)
  // Compiled before anything is fetched: a broken policy stops the run here.
  const predicatePolicy = await toPredicatePolicy(raw, GITLAB_NAMING)
  const runtime = prepareRun(inputs, {
    userAgent: `sigil/${SIGIL_VERSION} (gitlab-ci)`,
    logger: log,
    env: env
  })
  const trust = await runtime.trust
  if (inputs.policy) {
    // ClusterImagePolicy documents: loaded only when given (own chunk, with yaml).
    const policy = await import('../policy/index.ts')
    const verdict = await policy.verifyWithPolicies(
      { ...inputs, policy: inputs.policy },
      trust,
      {
        logger: log,
        registryFor: runtime.registryFor,
        http: runtime.http,
        env
      },
      GITLAB_NAMING
    )
    log.info(policy.renderPolicyResult(verdict).trimEnd())
    const identities = new Set(
      verdict.images.flatMap(i =>
        i.policies.flatMap(p =>
          p.authorities.flatMap(a =>
            (a.signatures ?? []).map(x => x.identity?.subject ?? '')
          )
        )
      )
    )
    identities.delete('')
    await writeFile(
      env.SIGIL_DOTENV ?? 'sigil.env',
      dotenv({
        SIGIL_VERIFIED: verdict.images
          .filter(i => i.status !== 'failed')
          .map(i => i.digest)
          .join(' '),
        SIGIL_IDENTITIES: [...identities].join(' ')
      } satisfies Record<(typeof VERIFY_DOTENV)[number], string>)
    )
    await writeFile(
      env.SIGIL_RESULT_FILE ?? 'sigil-result.json',
      `${redact(JSON.stringify(policy.toPolicyResultJson(verdict), null, 2))}\n`
    )
    const denied = policy.policyFailure(verdict)
    if (denied) throw denied
    return
  }
  if (predicateType !== undefined) {
    const { annotations: _none, ...options } = inputs.options
    const result = await verifyAttestations(
      {
        ...options,
        predicateType,
        ...(predicatePolicy ? { checkPredicate: predicatePolicy.check } : {}),
        trust,
        imagesInputName: GITLAB_NAMING.name('images'),
        nameInput: GITLAB_NAMING.name
      },
      { logger: log, registryFor: runtime.registryFor }
    )
    const identities = new Set(
      result.images.flatMap(i =>
        i.attestations.map(a => a.identity?.subject ?? '').filter(Boolean)
      )
    )
    await writeFile(
      env.SIGIL_DOTENV ?? 'sigil.env',
      dotenv({
        SIGIL_VERIFIED: result.images
          .filter(i => i.verified)
          .map(i => i.digest)
          .join(' '),
        SIGIL_IDENTITIES: [...identities].join(' ')
      } satisfies Record<(typeof VERIFY_DOTENV)[number], string>)
    )
    await writeFile(
      env.SIGIL_ATTESTATIONS_FILE ?? 'sigil-attestations.jsonl',
      attestationLines(result)
    )
    await writeFile(
      env.SIGIL_RESULT_FILE ?? 'sigil-result.json',
      `${redact(JSON.stringify(toAttestationResultJson(result), null, 2))}\n`
    )
    const failure = attestationFailure(result)
    if (failure) throw failure
    return
  }
  const result = await verifyImages(
    {
      ...inputs.options,
      trust,
      imagesInputName: GITLAB_NAMING.name('images'),
      nameInput: GITLAB_NAMING.name
    },
    { logger: log, registryFor: runtime.registryFor, http: runtime.http, env }
  )
  const identities = new Set(
    result.images.flatMap(i =>
      i.candidates
        .filter(c => c.ok && c.identity)
        .map(c => c.identity?.subject ?? '')
    )
  )
  await writeFile(
    env.SIGIL_DOTENV ?? 'sigil.env',
    dotenv({
      SIGIL_VERIFIED: result.images
        .filter(i => i.verified)
        .map(i => i.digest)
        .join(' '),
      SIGIL_IDENTITIES: [...identities].join(' ')
    } satisfies Record<(typeof VERIFY_DOTENV)[number], string>)
  )
  await writeFile(
    env.SIGIL_RESULT_FILE ?? 'sigil-result.json',
    `${redact(JSON.stringify(toVerifyResultJson(result), null, 2))}\n`
  )
  const failure = verificationFailure(result)
  if (failure) throw failure
}

export async function runGitlabWith(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => void
): Promise<number> {
  // Closed when the error is printed: work the failure abandoned (a
  // certificate request in flight) must not log its identity, or warnings,
  // after the error line.
  const { logger: log, close } = closableLogger(
    gitlabLogger(
      out,
      env.SIGIL_DEBUG === 'true' || env.CI_DEBUG_TRACE === 'true'
    )
  )
  try {
    const command = argv[0]
    if (command === 'sign') await sign(env, log, out)
    else if (command === 'verify') await verify(env, log)
    else if (command === 'install-cosign') {
      const { installCosignJob } = await import('./install-cosign.ts')
      await installCosignJob(env, log)
    } else
      throw new AppError(
        'USAGE',
        `usage: sigil-gitlab sign|verify|install-cosign (got ${JSON.stringify(command ?? '')})`
      )
    return 0
  } catch (e) {
    close()
    const code = e instanceof AppError ? e.code : undefined
    out(
      `${ESC}[31mERROR${code ? ` [${code}]` : ''}: ${redact(describeError(e))}${ESC}[0m\n`
    )
    for (const c of causeChain(e).slice(1))
      log.debug(`caused by: ${c instanceof Error ? c.message : String(c)}`)
    return code ? Math.max(1, exitCodeFor(code)) : 1
  }
}

export async function runGitlab(): Promise<void> {
  process.exitCode = await runGitlabWith(
    process.argv.slice(2),
    process.env,
    s => process.stdout.write(s)
  )
}
