// `sigil` command line: sign, verify, verify-blob, generate-key-pair, version.
// Same inputs and engine as the GitHub Action; logs go to stderr, results
// (JSON with --output json) to stdout; exit codes from cosign/exit-codes.
import { readFile, writeFile, access } from 'node:fs/promises'
import { generateKeyPair } from '../crypto/index.ts'
import {
  EXIT,
  SIGN_INPUTS,
  VERIFY_INPUTS,
  prepareRun,
  exitCodeFor,
  loadTrustMaterial,
  parseDigestArgument,
  signImages,
  toSignInputs,
  toVerifyInputs,
  toVerifyResultJson,
  verificationFailure,
  verifyBlob,
  verifyImages,
  type RawInputs
} from '../cosign/index.ts'
import {
  EnvIdentityProvider,
  GitHubActionsIdentityProvider,
  StaticIdentityProvider,
  type IdentityProvider
} from '../sigstore/index.ts'
import {
  AppError,
  InputError,
  causeChain,
  describeError,
  redact,
  type Logger
} from '../util/index.ts'
import { parseArgs, type FlagSpec } from './args.ts'
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

const COMMON: Record<string, FlagSpec> = {
  output: { kind: 'string', alias: 'o' },
  verbose: { kind: 'boolean', alias: 'd' },
  help: { kind: 'boolean', alias: 'h' }
}

function specFor(names: readonly string[]): Record<string, FlagSpec> {
  const spec: Record<string, FlagSpec> = { ...COMMON }
  const booleans = new Set([
    'recursive',
    'tlog-upload',
    'allow-http-registry',
    'insecure-ignore-tlog'
  ])
  for (const n of names) {
    if (n === 'images') continue
    spec[n] =
      n === 'annotations'
        ? { kind: 'multi', alias: 'a' }
        : { kind: booleans.has(n) ? 'boolean' : 'string' }
  }
  return spec
}

function toRaw(parsed: ReturnType<typeof parseArgs>): RawInputs {
  return {
    ...parsed.flags,
    images: parsed.positionals.join('\n'),
    annotations: (parsed.multi.annotations ?? []).join('\n')
  }
}

const USAGE = `Usage: sigil <command> [flags]

Commands:
  sign IMAGE...            sign images (keyless with Sigstore, or --key cosign.key)
  verify IMAGE...          verify image signatures against an identity or a key
  verify-blob FILE|DIGEST  verify a Sigstore bundle over a file or sha256:<hex>
  generate-key-pair        write cosign.key and cosign.pub (password from COSIGN_PASSWORD)
  version                  print the version

sign flags:   --key F --identity-token T --fulcio-url U --rekor-url U --trusted-root F
              --timestamp-server-url U --format legacy|bundle|both --recursive -a k=v
              --tlog-upload=false --signature-repository R --allow-http-registry
              --registry-username U --registry-password P [--registry HOST]
              --concurrency N --retry-budget S --output json
verify flags: --certificate-identity X | --certificate-identity-regexp R
              --certificate-oidc-issuer I | --certificate-oidc-issuer-regexp R
              --certificate-github-workflow-{trigger,sha,name,repository,ref} V
              --key cosign.pub --trusted-root F --recursive -a k=v --output json
              --signature-repository R --insecure-ignore-tlog (with --key only)
              --registry-username U --registry-password P [--registry HOST]
registry credentials go to one host: the images' registry, or --registry when they span several
verify-blob:  --bundle F plus the verify identity flags or --key
`

function chooseCliIdentity(
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

async function cmdSign(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(argv, specFor(SIGN_INPUTS))
  const logger = stderrLogger(io, parsed.flags.verbose === 'true')
  const inputs = await toSignInputs(toRaw(parsed), io.env)
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
    { ...inputs.options, trust, imagesInputName: 'IMAGE' },
    {
      http: runtime.http,
      logger,
      registryFor: runtime.registryFor,
      ...(identity ? { identity } : {})
    }
  )
  if (parsed.flags.output === 'json')
    io.stdout(`${redact(JSON.stringify(result, null, 2))}\n`)
  else
    for (const i of result.images)
      for (const s of i.signatures)
        io.stdout(
          `${i.reference} ${s.format} ${s.location}${s.logIndex !== undefined ? ` logIndex=${s.logIndex}` : ''}\n`
        )
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

async function cmdVerify(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(argv, specFor(VERIFY_INPUTS))
  const logger = stderrLogger(io, parsed.flags.verbose === 'true')
  const inputs = await toVerifyInputs(toRaw(parsed), io.env, logger)
  if (inputs.options.images.length === 0)
    throw new InputError('USAGE', 'verify needs at least one IMAGE')
  const runtime = prepareRun(inputs, {
    userAgent: `sigil/${SIGIL_VERSION} (cli)`,
    logger: logger,
    env: io.env
  })
  const trust = await runtime.trust
  const result = await verifyImages(
    { ...inputs.options, trust, imagesInputName: 'IMAGE' },
    { logger, registryFor: runtime.registryFor }
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
        `\nVerification for ${i.reference} --\n${checksPerformed(!!inputs.options.publicKey, Object.keys(inputs.options.annotations).length > 0, tlog)}\n`
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

async function cmdVerifyBlob(argv: string[], io: CliIo): Promise<number> {
  const spec = {
    ...specFor(VERIFY_INPUTS),
    bundle: { kind: 'string' as const }
  }
  const parsed = parseArgs(argv, spec)
  const logger = stderrLogger(io, parsed.flags.verbose === 'true')
  const bundlePath = parsed.flags.bundle
  const subject = parsed.positionals[0]
  if (!bundlePath || !subject || parsed.positionals.length > 1) {
    throw new InputError(
      'USAGE',
      'usage: sigil verify-blob --bundle F (identity flags | --key PEM) FILE_OR_DIGEST'
    )
  }
  const inputs = await toVerifyInputs(
    { ...parsed.flags, images: '' },
    io.env,
    logger
  )
  const trust = await loadTrustMaterial(inputs.trustedRootPath)
  const bundle = JSON.parse(await readFile(bundlePath, 'utf8')) as unknown
  const artifact = parseDigestArgument(subject) ?? {
    bytes: new Uint8Array(await readFile(subject))
  }
  const r = await verifyBlob({
    bundle,
    artifact,
    trust,
    policy: inputs.options.policy,
    ...(inputs.options.publicKey ? { publicKey: inputs.options.publicKey } : {})
  })
  io.stderr(
    `Verified OK${r.identity ? ` (${r.identity.subjectAlternativeName}, issuer ${r.identity.issuer})` : ''}\n`
  )
  return EXIT.OK
}

async function cmdGenerateKeyPair(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(argv, {
    ...COMMON,
    'output-key-prefix': { kind: 'string' },
    force: { kind: 'boolean', alias: 'f' }
  })
  const prefix = parsed.flags['output-key-prefix'] ?? 'cosign'
  const password = io.env.COSIGN_PASSWORD
  if (password === undefined) {
    throw new InputError(
      'INPUT_PASSWORD_REQUIRED',
      'set COSIGN_PASSWORD to the password for the new key (it may be empty)'
    )
  }
  if (parsed.flags.force !== 'true') {
    for (const f of [`${prefix}.key`, `${prefix}.pub`]) {
      const exists = await access(f).then(
        () => true,
        () => false
      )
      if (exists)
        throw new InputError(
          'INPUT_FILE_EXISTS',
          `${f} exists; pass --force to overwrite it`
        )
    }
  }
  const kp = generateKeyPair(password)
  await writeFile(`${prefix}.key`, kp.privateKeyPem, { mode: 0o600 })
  await writeFile(`${prefix}.pub`, kp.publicKeyPem)
  io.stderr(
    `Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`
  )
  return EXIT.OK
}

export async function runCliWith(
  argv: string[],
  io: CliIo = defaultIo
): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'sign':
        return await cmdSign(rest, io)
      case 'verify':
        return await cmdVerify(rest, io)
      case 'verify-blob':
        return await cmdVerifyBlob(rest, io)
      case 'generate-key-pair':
        return await cmdGenerateKeyPair(rest, io)
      case 'version':
      case '--version':
        io.stdout(`sigil ${SIGIL_VERSION}\n`)
        return EXIT.OK
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE)
        return command === undefined ? EXIT.USAGE : EXIT.OK
      default:
        io.stderr(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
        return EXIT.USAGE
    }
  } catch (e) {
    const code = e instanceof AppError ? e.code : undefined
    io.stderr(`Error${code ? ` [${code}]` : ''}: ${redact(describeError(e))}\n`)
    if (io.env.SIGIL_DEBUG) {
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
