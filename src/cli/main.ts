// `sigil` command line: sign, verify, verify-blob, generate-key-pair, version.
// Same inputs and engine as the GitHub Action; logs go to stderr, results
// (JSON with --output json) to stdout; exit codes from cosign/exit-codes.
import { readFile, writeFile, access } from 'node:fs/promises'
import { createKeyPair, loadPrivateKey } from '../crypto/index.ts'
import type { HttpClient } from '../http/index.ts'
import {
  EXIT,
  NoMatchingSignaturesError,
  prepareRun,
  createRuntime,
  createKmsKey,
  fetchKmsPublicKey,
  exitCodeFor,
  resolveTrust,
  kmsContext,
  parseKmsKey,
  publicKeyOfKms,
  readKey,
  parseDigestArgument,
  signImages,
  signingFailure,
  toSignInputs,
  toVerifyInputs,
  type RawInputs
} from '../cosign/index.ts'
import {
  EnvIdentityProvider,
  GitHubActionsIdentityProvider,
  PolicyError,
  StaticIdentityProvider,
  VerificationError,
  type IdentityProvider
} from '../sigstore/index.ts'
import {
  AppError,
  InputError,
  causeChain,
  closableLogger,
  describeError,
  redact,
  registerSecret,
  type Logger
} from '../util/index.ts'
import { parseArgs } from './args.ts'
import {
  CLI_NAMING,
  COMMANDS,
  renderHelp,
  renderMainHelp,
  specOf,
  wantsHelp,
  type CommandName
} from './help.ts'
import { SIGIL_VERSION } from '../version.ts'

export interface CliIo {
  stdout: (s: string) => void
  stderr: (s: string) => void
  env: NodeJS.ProcessEnv
}

const defaultIo: CliIo = {
  stdout: s => process.stdout.write(s),
  stderr: s => process.stderr.write(s),
  env: process.env
}

function stderrLogger(io: CliIo, verbose: boolean): Logger {
  return {
    debug: m => {
      if (verbose) io.stderr(`debug: ${redact(m)}\n`)
    },
    info: m => io.stderr(`${redact(m)}\n`),
    warn: m => io.stderr(`warning: ${redact(m)}\n`),
    group: async (name, fn) => {
      if (verbose) io.stderr(`== ${name}\n`)
      return fn()
    }
  }
}

/** One command's run: its logger, closed when the error is reported. */
interface Run {
  io: CliIo
  logger: Logger
  verbose: boolean
  close(): void
}

export function startRun(io: CliIo, verbose: boolean, state: RunState): Run {
  const v = verbose || !!io.env.SIGIL_DEBUG
  const { logger, close } = closableLogger(stderrLogger(io, v))
  state.close = close
  state.verbose = v
  return { io, logger, verbose: v, close }
}

export interface RunState {
  close(): void
  verbose: boolean
}

export function toRaw(parsed: ReturnType<typeof parseArgs>): RawInputs {
  return {
    ...parsed.flags,
    images: parsed.positionals.join('\n'),
    annotations: (parsed.multi.annotations ?? []).join('\n'),
    // cosign's --type is the inputs' predicate-type
    ...(parsed.flags.type !== undefined
      ? { 'predicate-type': parsed.flags.type }
      : {})
  }
}

export function chooseCliIdentity(
  token: string | undefined,
  runtimeHttp: ConstructorParameters<
    typeof GitHubActionsIdentityProvider
  >[0]['http'],
  env: NodeJS.ProcessEnv
): IdentityProvider {
  if (token) return new StaticIdentityProvider(token)
  if (env.SIGSTORE_ID_TOKEN) return new EnvIdentityProvider('SIGSTORE_ID_TOKEN')
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return new GitHubActionsIdentityProvider({ http: runtimeHttp, env })
  }
  throw new AppError(
    'IDENTITY_TOKEN_UNAVAILABLE',
    'keyless signing needs an OIDC identity token and none was found',
    {
      remedy: [
        'Pass --identity-token, or set SIGSTORE_ID_TOKEN. In GitLab CI:',
        '  id_tokens:',
        '    SIGSTORE_ID_TOKEN:',
        '      aud: sigstore',
        'In GitHub Actions: permissions: id-token: write. Or sign with --key cosign.key.'
      ].join('\n')
    }
  )
}

async function cmdSign(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS.sign))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  const inputs = await toSignInputs(toRaw(parsed), io.env, CLI_NAMING)
  if (inputs.options.images.length === 0)
    throw new InputError('USAGE', 'sign needs at least one IMAGE')
  const runtime = prepareRun(inputs, {
    userAgent: `sigil/${SIGIL_VERSION} (cli)`,
    logger: logger,
    env: io.env
  })
  const trust = runtime.trust
  const identity = inputs.options.key
    ? undefined
    : chooseCliIdentity(inputs.identityToken, runtime.http, io.env)
  const result = await signImages(
    {
      ...inputs.options,
      services: runtime.services,
      trust,
      imagesInputName: CLI_NAMING.name('images')
    },
    {
      http: runtime.http,
      logger,
      registryFor: runtime.registryFor,
      env: io.env,
      ...(identity ? { identity } : {})
    }
  )
  if (parsed.flags.output === 'json')
    io.stdout(`${redact(JSON.stringify(result, null, 2))}\n`)
  else
    for (const i of result.images) {
      for (const s of i.signatures)
        io.stdout(
          `${i.reference} ${s.format} ${s.location}${s.logIndex !== undefined ? ` logIndex=${s.logIndex}` : ''}\n`
        )
      if (i.status === 'failed')
        io.stdout(`${i.reference} failed ${i.error?.code ?? 'SIGN_FAILED'}\n`)
    }
  const failure = signingFailure(result)
  if (failure) throw failure
  return EXIT.OK
}

/**
 * What was checked, cosign's wording. With --insecure-ignore-tlog the log
 * line says whether the accepted signature had a log entry (verified) or not
 * (not checked: not in a public log).
 */
function checksPerformed(
  keyMode: boolean,
  annotations: boolean,
  tlog: 'required' | 'ignored-but-logged' | 'ignored-not-logged'
): string {
  const tlogLine = {
    required:
      '  - Existence of the claims in the transparency log was verified offline',
    'ignored-but-logged':
      '  - The transparency log entry of the signature was verified offline (although --insecure-ignore-tlog did not require one)',
    'ignored-not-logged':
      '  - The transparency log was NOT checked (--insecure-ignore-tlog): the signature has no log entry, so it is not in a public log and nothing proves when it was made'
  }[tlog]
  return [
    'The following checks were performed on each of these signatures:',
    ...(annotations ? ['  - The specified annotations were verified.'] : []),
    '  - The cosign claims were validated',
    tlogLine,
    keyMode
      ? '  - The signatures were verified against the specified public key'
      : '  - The code-signing certificate was verified using trusted certificate authority certificates'
  ].join('\n')
}

export function checkOutput(value: string | undefined): void {
  if (value !== undefined && value !== 'json' && value !== 'text') {
    throw new InputError(
      'INPUT_INVALID_OUTPUT',
      `--output must be text or json, got ${JSON.stringify(value)}`
    )
  }
}

async function cmdVerify(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS.verify))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const inputs = await toVerifyInputs(toRaw(parsed), io.env, logger, CLI_NAMING)
  if (inputs.options.images.length === 0)
    throw new InputError('USAGE', 'verify needs at least one IMAGE')
  const runtime = prepareRun(inputs, {
    userAgent: `sigil/${SIGIL_VERSION} (cli)`,
    logger: logger,
    env: io.env
  })
  const trust = await runtime.trust
  if (inputs.policy) {
    // ClusterImagePolicy documents: loaded only when given (own chunk, with yaml).
    const policy = await import('../policy/index.ts')
    const verdict = await policy.verifyWithPolicies(
      { ...inputs, policy: inputs.policy },
      trust,
      {
        logger,
        registryFor: runtime.registryFor,
        http: runtime.http,
        env: io.env
      },
      CLI_NAMING
    )
    io.stdout(
      parsed.flags.output === 'json'
        ? `${redact(JSON.stringify(policy.toPolicyResultJson(verdict), null, 2))}\n`
        : redact(policy.renderPolicyResult(verdict))
    )
    const denied = policy.policyFailure(verdict)
    if (denied) throw denied
    return EXIT.OK
  }
  // Verification code loads only for the commands that verify.
  const { verifyImages, toVerifyResultJson, verificationFailure } =
    await import('../cosign/verify-image.ts')
  const result = await verifyImages(
    {
      ...inputs.options,
      trust,
      imagesInputName: CLI_NAMING.name('images'),
      nameInput: CLI_NAMING.name
    },
    {
      logger,
      registryFor: runtime.registryFor,
      http: runtime.http,
      env: io.env
    }
  )
  if (parsed.flags.output === 'json') {
    io.stdout(
      `${redact(JSON.stringify(toVerifyResultJson(result), null, 2))}\n`
    )
  } else {
    for (const i of result.images.filter(x => x.verified)) {
      const logged = i.candidates.some(c => c.ok && c.logIndex !== undefined)
      const tlog = !inputs.options.insecureIgnoreTlog
        ? 'required'
        : logged
          ? 'ignored-but-logged'
          : 'ignored-not-logged'
      io.stderr(
        `\nVerification for ${i.reference} --\n${checksPerformed(!!(inputs.options.publicKey ?? inputs.options.kmsKey), Object.keys(inputs.options.annotations).length > 0, tlog)}\n`
      )
      io.stdout(
        `\n${JSON.stringify(i.candidates.filter(c => c.ok).map(c => c.claims))}\n`
      )
    }
  }
  const failure = verificationFailure(result)
  if (failure) throw failure
  return EXIT.OK
}

async function cmdVerifyBlob(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS['verify-blob']))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const bundlePath = parsed.flags.bundle
  const subject = parsed.positionals[0]
  if (!bundlePath || !subject || parsed.positionals.length > 1) {
    throw new InputError(
      'USAGE',
      `usage: ${COMMANDS['verify-blob'].usage} (see sigil verify-blob --help)`
    )
  }
  const inputs = await toVerifyInputs(
    { ...parsed.flags, images: '' },
    io.env,
    logger,
    CLI_NAMING
  )
  const resolved = await resolveTrust({
    purpose: 'verify',
    ...(inputs.trustedRootPath
      ? { trustedRootPath: inputs.trustedRootPath }
      : {}),
    ...(inputs.tufMirror ? { tufMirror: inputs.tufMirror } : {}),
    ...(inputs.tufRootPath ? { tufRootPath: inputs.tufRootPath } : {}),
    ...(inputs.trustRekorUrl ? { rekorUrl: inputs.trustRekorUrl } : {}),
    env: io.env,
    logger,
    userAgent: `sigil/${SIGIL_VERSION} (cli)`
  })
  logger.debug(`Trust: ${resolved.source}`)
  const trust = resolved.trust
  const publicKey = inputs.options.kmsKey
    ? await withRuntime(inputs, logger, io, http =>
        publicKeyOfKms(inputs.options.kmsKey ?? '', {
          logger,
          http,
          env: io.env
        })
      )
    : inputs.options.publicKey
  const bundle = JSON.parse(await readFile(bundlePath, 'utf8')) as unknown
  const artifact = parseDigestArgument(subject) ?? {
    bytes: new Uint8Array(await readFile(subject))
  }
  // Verification code loads only for the commands that verify.
  const { verifyBlob, toVerifyBlobResultJson } =
    await import('../cosign/verify-blob.ts')
  let r
  try {
    r = await verifyBlob({
      bundle,
      artifact,
      trust,
      policy: inputs.options.policy,
      ...(publicKey ? { publicKey } : {})
    })
  } catch (e) {
    // The same verdict, and exit code, as an image whose signatures all fail.
    if (e instanceof PolicyError || e instanceof VerificationError) {
      throw new NoMatchingSignaturesError(
        'NO_MATCHING_SIGNATURES',
        `the bundle ${bundlePath} is not valid for ${subject} and the policy: ${e.message}`,
        { cause: e, ...(e.remedy ? { remedy: e.remedy } : {}) }
      )
    }
    throw e
  }
  if (parsed.flags.output === 'json')
    io.stdout(
      `${JSON.stringify(toVerifyBlobResultJson(r, subject), null, 2)}\n`
    )
  io.stderr(
    `Verified OK${r.identity ? ` (${r.identity.subjectAlternativeName}, issuer ${r.identity.issuer})` : ''}\n`
  )
  return EXIT.OK
}

async function cmdPolicy(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS.policy))
  startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const [sub, ...files] = parsed.positionals
  if (sub !== 'validate' || files.length === 0) {
    throw new InputError(
      'USAGE',
      `usage: ${COMMANDS.policy.usage} (see sigil policy --help)`
    )
  }
  const policy = await import('../policy/index.ts')
  const set = await policy.readPolicies(files)
  const errors = set.issues.filter(i => i.level === 'error')
  if (parsed.flags.output === 'json') {
    io.stdout(
      `${JSON.stringify(
        {
          ok: errors.length === 0,
          files: set.files,
          policies: set.policies.map(p => ({
            name: p.name,
            document: p.document,
            apiVersion: p.apiVersion,
            mode: p.mode,
            images: p.globs,
            authorities: p.authorities.map(a => a.name),
            ignored: p.ignored
          })),
          trustRoots: [...set.trustRoots.values()].map(t => ({
            name: t.name,
            document: t.document
          })),
          issues: set.issues
        },
        null,
        2
      )}\n`
    )
  } else {
    for (const i of set.issues) io.stderr(`${policy.formatIssue(i)}\n`)
    for (const p of set.policies) {
      io.stdout(
        `${errors.some(e => e.document === p.document) ? 'invalid' : 'valid'}: ${p.document}: images ${p.globs.join(', ')}; authorities ${p.authorities.map(a => a.name).join(', ')}${p.mode === 'warn' ? '; mode warn' : ''}\n`
      )
      for (const n of p.ignored) io.stdout(`  note: ignored in CI: ${n}\n`)
    }
    for (const t of set.trustRoots.values()) io.stdout(`valid: ${t.document}\n`)
  }
  if (errors.length > 0) {
    throw new policy.PolicyDocumentError(
      'INPUT_POLICY_INVALID',
      `${errors.length} error${errors.length === 1 ? '' : 's'} in ${set.files.length} file${set.files.length === 1 ? '' : 's'}: policy-controller's admission webhook would reject ${errors.length === 1 ? 'it' : 'them'}`,
      set.issues
    )
  }
  return EXIT.OK
}

async function cmdGenerateKeyPair(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS['generate-key-pair']))
  const run = startRun(io, parsed.flags.verbose === 'true', state)
  const prefix = parsed.flags['output-key-prefix'] ?? 'cosign'
  const kmsFlag = parsed.flags.kms
  if (kmsFlag !== undefined) {
    const uri = parseKmsKey(kmsFlag, '--kms')
    if (!uri)
      throw new InputError(
        'INPUT_INVALID_KEY',
        `--kms must be a KMS key URI (hashivault://KEY, awskms:///alias/NAME, …), got ${JSON.stringify(kmsFlag)}`
      )
    const pub = `${prefix}.pub`
    if (parsed.flags.force !== 'true' && (await exists(pub)))
      throw new InputError(
        'INPUT_FILE_EXISTS',
        `${pub} exists; pass --force to overwrite it`
      )
    const pem = await withRuntime({}, run.logger, io, http =>
      createKmsKey(uri, kmsContext(http, run.logger, io.env))
    )
    await writeFile(pub, pem)
    io.stderr(`Public key written to ${pub}\n`)
    return EXIT.OK
  }
  const password = io.env.COSIGN_PASSWORD
  if (password === undefined) {
    throw new InputError(
      'INPUT_PASSWORD_REQUIRED',
      'set COSIGN_PASSWORD to the password for the new key (it may be empty)'
    )
  }
  if (parsed.flags.force !== 'true') {
    for (const f of [`${prefix}.key`, `${prefix}.pub`]) {
      if (await exists(f))
        throw new InputError(
          'INPUT_FILE_EXISTS',
          `${f} exists; pass --force to overwrite it`
        )
    }
  }
  const kp = await createKeyPair(password)
  await writeFile(`${prefix}.key`, kp.privateKeyPem, { mode: 0o600 })
  await writeFile(`${prefix}.pub`, kp.publicKeyPem)
  io.stderr(
    `Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`
  )
  return EXIT.OK
}

const exists = (f: string): Promise<boolean> =>
  access(f).then(
    () => true,
    () => false
  )

/** An HttpClient for a command that has no registry work (KMS calls),
 * closed when `fn` settles. */
async function withRuntime<T>(
  inputs: { retryBudgetMs?: number },
  logger: Logger,
  io: CliIo,
  fn: (http: HttpClient) => Promise<T>
): Promise<T> {
  const runtime = createRuntime({
    userAgent: `sigil/${SIGIL_VERSION} (cli)`,
    logger,
    env: io.env,
    ...(inputs.retryBudgetMs ? { retryBudgetMs: inputs.retryBudgetMs } : {})
  })
  try {
    return await fn(runtime.http)
  } finally {
    await runtime.http.close()
  }
}

async function cmdPublicKey(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS['public-key']))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  const keyRef = parsed.flags.key
  if (!keyRef || parsed.positionals.length > 0)
    throw new InputError(
      'USAGE',
      `usage: ${COMMANDS['public-key'].usage} (see sigil public-key --help)`
    )
  const uri = parseKmsKey(keyRef, '--key')
  let pem: string
  if (uri) {
    pem = await withRuntime({}, logger, io, http =>
      fetchKmsPublicKey(uri, kmsContext(http, logger, io.env))
    )
  } else {
    const text = await readKey(keyRef, io.env, '--key')
    registerSecret(text)
    pem = (await loadPrivateKey(text, io.env.COSIGN_PASSWORD)).publicKeyPem
  }
  if (parsed.flags.outfile) {
    await writeFile(parsed.flags.outfile, pem)
    io.stderr(`Public key written to ${parsed.flags.outfile}\n`)
  } else io.stdout(pem)
  return EXIT.OK
}

async function cmdVersion(argv: string[], io: CliIo): Promise<number> {
  parseArgs(argv, specOf(COMMANDS.version))
  io.stdout(`sigil ${SIGIL_VERSION}\n`)
  return EXIT.OK
}

/** The attestation, blob and inspection commands: a chunk of their own,
 * loaded only when one of them runs. */
function lazy(
  name: LazyCommand
): (argv: string[], state: RunState, io: CliIo) => Promise<number> {
  return async (argv, state, io) => {
    const { LAZY_RUNNERS } = await import('./attest.ts')
    return LAZY_RUNNERS[name](argv, state, io)
  }
}

export type LazyCommand =
  | 'sign-blob'
  | 'attest-blob'
  | 'attest'
  | 'verify-attestation'
  | 'verify-blob-attestation'
  | 'tree'
  | 'download'

const RUNNERS: Record<
  CommandName,
  (argv: string[], state: RunState, io: CliIo) => Promise<number>
> = {
  sign: cmdSign,
  verify: cmdVerify,
  'verify-blob': cmdVerifyBlob,
  policy: cmdPolicy,
  'sign-blob': lazy('sign-blob'),
  'attest-blob': lazy('attest-blob'),
  attest: lazy('attest'),
  'verify-attestation': lazy('verify-attestation'),
  'verify-blob-attestation': lazy('verify-blob-attestation'),
  tree: lazy('tree'),
  download: lazy('download'),
  'generate-key-pair': cmdGenerateKeyPair,
  'public-key': cmdPublicKey,
  'install-cosign': async (argv, state, io) => {
    const { cmdInstallCosign } = await import('./install-cosign.ts')
    return cmdInstallCosign(argv, state, io)
  },
  version: (argv, _state, io) => cmdVersion(argv, io)
}

export async function runCliWith(
  argv: string[],
  io: CliIo = defaultIo
): Promise<number> {
  const [command, ...rest] = argv
  const state: RunState = { close: () => {}, verbose: !!io.env.SIGIL_DEBUG }
  try {
    if (command !== undefined && Object.hasOwn(RUNNERS, command)) {
      const name = command as CommandName
      if (wantsHelp(rest)) {
        io.stdout(renderHelp(COMMANDS[name]))
        return EXIT.OK
      }
      return await RUNNERS[name](rest, state, io)
    }
    switch (command) {
      case '--version':
        io.stdout(`sigil ${SIGIL_VERSION}\n`)
        return EXIT.OK
      case undefined:
      case 'help':
      case '--help':
      case '-h': {
        const topic = command === 'help' ? rest[0] : undefined
        if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) {
          io.stdout(renderHelp(COMMANDS[topic as CommandName]))
          return EXIT.OK
        }
        if (command === undefined) {
          io.stderr(renderMainHelp())
          return EXIT.USAGE
        }
        io.stdout(renderMainHelp())
        return EXIT.OK
      }
      default:
        io.stderr(
          `unknown command ${JSON.stringify(command)}\n\n${renderMainHelp()}`
        )
        return EXIT.USAGE
    }
  } catch (e) {
    // Work the failure abandoned may still log: not after the error.
    state.close()
    const code = e instanceof AppError ? e.code : undefined
    io.stderr(`Error${code ? ` [${code}]` : ''}: ${redact(describeError(e))}\n`)
    if (state.verbose) {
      for (const c of causeChain(e).slice(1))
        io.stderr(
          `  caused by: ${redact(c instanceof Error ? c.message : String(c))}\n`
        )
    }
    return code ? exitCodeFor(code) : EXIT.FAILURE
  }
}

export async function runCli(): Promise<void> {
  process.exitCode = await runCliWith(process.argv.slice(2))
}
