// The CLI's attestation, blob and inspection commands (a chunk loaded only
// when one of them runs): sign-blob, attest-blob, attest, verify-attestation,
// verify-blob-attestation, tree, download. Same inputs and engine as sign and
// verify; logs to stderr, results to stdout.
import { readFile } from 'node:fs/promises'
import {
  EXIT,
  NoMatchingSignaturesError,
  attestationFailure,
  attestationLines,
  toAttestationResultJson,
  downloadAttached,
  inspectImage,
  loadTrustMaterial,
  parseDigestArgument,
  prepareRun,
  readBlobFiles,
  renderTree,
  resolvePredicateType,
  signBlobFiles,
  signImages,
  toAttestationInputs,
  signingFailure,
  toSignInputs,
  toPredicatePolicy,
  toVerifyInputs,
  toVerifyBlobResultJson,
  verifyAttestations,
  verifyBlobAttestation,
  type RawInputs
} from '../cosign/index.ts'
import { PolicyError, VerificationError } from '../sigstore/index.ts'
import { AppError, InputError, redact } from '../util/index.ts'
import { parseArgs } from './args.ts'
import { CLI_NAMING, COMMANDS, specOf } from './help.ts'
import {
  checkOutput,
  chooseCliIdentity,
  startRun,
  toRaw,
  type CliIo,
  type LazyCommand,
  type RunState
} from './main.ts'
import { SIGIL_VERSION } from '../version.ts'

const USER_AGENT = `sigil/${SIGIL_VERSION} (cli)`

async function signFiles(
  command: 'sign-blob' | 'attest-blob',
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS[command]))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const files = parsed.positionals
  if (files.length === 0)
    throw new InputError(
      'USAGE',
      `usage: ${COMMANDS[command].usage} (see sigil ${command} --help)`
    )
  const raw = { ...toRaw(parsed), images: '' }
  const one = files.length === 1
  if (!one && command === 'attest-blob' && !parsed.flags.bundle)
    throw new InputError(
      'USAGE',
      'attest-blob with several files writes one bundle: name it with --bundle'
    )
  if (!one && command === 'sign-blob' && parsed.flags.bundle)
    throw new InputError(
      'USAGE',
      '--bundle names the bundle of one file; with several files each gets FILE.sigstore.json'
    )
  if (!one && parsed.flags['output-signature'] && command === 'sign-blob')
    throw new InputError(
      'USAGE',
      '--output-signature takes one file; sign the files one by one, or read the signatures from their bundles'
    )
  const attestation =
    command === 'attest-blob'
      ? await toAttestationInputs(raw, io.env, CLI_NAMING, {
          required: true,
          provenance: true
        })
      : undefined
  const inputs = await toSignInputs(raw, io.env, CLI_NAMING)
  const runtime = prepareRun(inputs, {
    userAgent: USER_AGENT,
    logger,
    env: io.env
  })
  const identity = inputs.options.key
    ? undefined
    : chooseCliIdentity(inputs.identityToken, runtime.http, io.env)
  const { written } = await signBlobFiles(
    {
      files,
      inputs,
      ...(attestation ? { attestation } : {}),
      trust: runtime.trust,
      services: runtime.services,
      paths: {
        ...(parsed.flags.bundle ? { bundle: parsed.flags.bundle } : {}),
        ...(parsed.flags['output-signature']
          ? { signature: parsed.flags['output-signature'] }
          : {}),
        ...(parsed.flags['output-certificate']
          ? { certificate: parsed.flags['output-certificate'] }
          : {})
      }
    },
    {
      http: runtime.http,
      logger,
      env: io.env,
      ...(identity ? { identity } : {})
    }
  )
  if (parsed.flags.output === 'json')
    io.stdout(`${redact(JSON.stringify(written, null, 2))}\n`)
  else
    for (const w of written.bundles)
      io.stdout(
        `${w.file} ${w.bundle}${w.logIndex !== undefined ? ` logIndex=${w.logIndex}` : ''}\n`
      )
  return EXIT.OK
}

async function cmdAttest(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS.attest))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const raw = toRaw(parsed)
  const attestation = await toAttestationInputs(raw, io.env, CLI_NAMING, {
    required: true,
    provenance: true
  })
  if (!attestation) throw new TypeError('attest: no predicate')
  const inputs = await toSignInputs(raw, io.env, CLI_NAMING)
  if (inputs.options.images.length === 0)
    throw new InputError('USAGE', 'attest needs at least one IMAGE')
  const runtime = prepareRun(inputs, {
    userAgent: USER_AGENT,
    logger,
    env: io.env
  })
  const identity = inputs.options.key
    ? undefined
    : chooseCliIdentity(inputs.identityToken, runtime.http, io.env)
  const result = await signImages(
    {
      ...inputs.options,
      attestation,
      trust: runtime.trust,
      services: runtime.services,
      imagesInputName: CLI_NAMING.name('images')
    },
    {
      http: runtime.http,
      logger,
      env: io.env,
      registryFor: runtime.registryFor,
      ...(identity ? { identity } : {})
    }
  )
  if (parsed.flags.output === 'json')
    io.stdout(
      `${redact(JSON.stringify({ predicateType: attestation.predicateType, ...result }, null, 2))}\n`
    )
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

/** The attestation commands' --policy is the predicate policy (cosign's
 * meaning), not verify's ClusterImagePolicy documents. */
function attestationRaw(parsed: ReturnType<typeof parseArgs>): RawInputs {
  const { policy, ...raw } = toRaw(parsed)
  return { ...raw, ...(policy ? { 'predicate-policy': policy } : {}) }
}

/** cosign's --type default is custom; "any" is not a cosign type. */
function wantedType(raw: RawInputs): string {
  const t = raw['predicate-type']?.trim() || 'custom'
  return resolvePredicateType(t, CLI_NAMING.name('type'))
}

async function cmdVerifyAttestation(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS['verify-attestation']))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const raw = attestationRaw(parsed)
  const predicateType = wantedType(raw)
  const inputs = await toVerifyInputs(raw, io.env, logger, CLI_NAMING)
  if (inputs.options.images.length === 0)
    throw new InputError('USAGE', 'verify-attestation needs at least one IMAGE')
  // Compiled before anything is fetched: a broken policy stops the run here.
  const predicatePolicy = await toPredicatePolicy(raw, CLI_NAMING, true)
  const runtime = prepareRun(inputs, {
    userAgent: USER_AGENT,
    logger,
    env: io.env
  })
  const { annotations: _ignored, ...options } = inputs.options
  const result = await verifyAttestations(
    {
      ...options,
      predicateType,
      ...(predicatePolicy ? { checkPredicate: predicatePolicy.check } : {}),
      trust: await runtime.trust,
      imagesInputName: CLI_NAMING.name('images'),
      nameInput: CLI_NAMING.name
    },
    { logger, registryFor: runtime.registryFor }
  )
  // One verified statement per line: `| jq` gates on the predicate.
  io.stdout(
    parsed.flags.output === 'json'
      ? `${redact(JSON.stringify(toAttestationResultJson(result), null, 2))}\n`
      : attestationLines(result)
  )
  const failure = attestationFailure(result)
  if (failure) throw failure
  return EXIT.OK
}

async function cmdVerifyBlobAttestation(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS['verify-blob-attestation']))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const bundlePath = parsed.flags.bundle
  const subject = parsed.positionals[0]
  if (!bundlePath || !subject || parsed.positionals.length > 1)
    throw new InputError(
      'USAGE',
      `usage: ${COMMANDS['verify-blob-attestation'].usage} (see sigil verify-blob-attestation --help)`
    )
  const raw = { ...attestationRaw(parsed), images: '' }
  const predicateType = wantedType(raw)
  const inputs = await toVerifyInputs(raw, io.env, logger, CLI_NAMING)
  const predicatePolicy = await toPredicatePolicy(raw, CLI_NAMING, true)
  const trust = await loadTrustMaterial(inputs.trustedRootPath)
  let bundle: unknown
  try {
    bundle = JSON.parse(await readFile(bundlePath, 'utf8')) as unknown
  } catch (e) {
    throw new InputError(
      'INPUT_BUNDLE_UNREADABLE',
      `cannot read the bundle ${JSON.stringify(bundlePath)}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
  const artifact = parseDigestArgument(subject) ?? {
    bytes: (await readBlobFiles([subject]))[0]?.bytes ?? new Uint8Array()
  }
  let r
  try {
    r = await verifyBlobAttestation({
      bundle,
      artifact,
      trust,
      policy: inputs.options.policy,
      predicateType,
      ...(predicatePolicy ? { checkPredicate: predicatePolicy.check } : {}),
      ...(inputs.options.publicKey
        ? { publicKey: inputs.options.publicKey }
        : {})
    })
  } catch (e) {
    if (
      e instanceof PolicyError ||
      e instanceof VerificationError ||
      (e instanceof AppError &&
        (e.code === 'PREDICATE_TYPE_MISMATCH' ||
          e.code.startsWith('PREDICATE_POLICY_')))
    ) {
      throw new NoMatchingSignaturesError(
        'NO_MATCHING_ATTESTATIONS',
        `the attestation ${bundlePath} is not valid for ${subject} and the policy: [${e.code}] ${e.message}`,
        { cause: e, ...(e.remedy ? { remedy: e.remedy } : {}) }
      )
    }
    throw e
  }
  if (parsed.flags.output === 'json')
    io.stdout(
      `${JSON.stringify({ ...toVerifyBlobResultJson(r.result, subject), statement: r.statement }, null, 2)}\n`
    )
  else io.stdout(`${JSON.stringify(r.statement)}\n`)
  io.stderr(
    `Verified OK${r.result.identity ? ` (${r.result.identity.subjectAlternativeName}, issuer ${r.result.identity.issuer})` : ''}\n`
  )
  return EXIT.OK
}

function registryRun(
  parsed: ReturnType<typeof parseArgs>,
  io: CliIo,
  logger: Parameters<typeof prepareRun>[1]['logger']
): Promise<ReturnType<typeof prepareRun>> {
  return toSignInputs(
    { ...parsed.flags, images: parsed.positionals.join('\n') },
    io.env,
    CLI_NAMING
  ).then(inputs =>
    prepareRun(
      { ...inputs, trustedRootPath: undefined },
      { userAgent: USER_AGENT, logger, env: io.env }
    )
  )
}

async function cmdTree(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS.tree))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  checkOutput(parsed.flags.output)
  const image = parsed.positionals[0]
  if (!image || parsed.positionals.length > 1)
    throw new InputError('USAGE', `usage: ${COMMANDS.tree.usage}`)
  const runtime = await registryRun(parsed, io, logger)
  const repo = parsed.flags['signature-repository'] ?? io.env.COSIGN_REPOSITORY
  const tree = await inspectImage(
    { image, ...(repo ? { signatureRepository: repo } : {}) },
    { logger, registryFor: runtime.registryFor }
  )
  io.stdout(
    parsed.flags.output === 'json'
      ? `${JSON.stringify(tree, null, 2)}\n`
      : renderTree(tree)
  )
  return EXIT.OK
}

async function cmdDownload(
  argv: string[],
  state: RunState,
  io: CliIo
): Promise<number> {
  const parsed = parseArgs(argv, specOf(COMMANDS.download))
  const { logger } = startRun(io, parsed.flags.verbose === 'true', state)
  const [what, image, ...extra] = parsed.positionals
  if (
    (what !== 'signature' && what !== 'attestation') ||
    !image ||
    extra.length > 0
  )
    throw new InputError('USAGE', `usage: ${COMMANDS.download.usage}`)
  const runtime = await registryRun(
    { ...parsed, positionals: [image] },
    io,
    logger
  )
  const repo = parsed.flags['signature-repository'] ?? io.env.COSIGN_REPOSITORY
  const docs = await downloadAttached(
    what,
    { image, ...(repo ? { signatureRepository: repo } : {}) },
    { logger, registryFor: runtime.registryFor }
  )
  for (const d of docs) io.stdout(`${JSON.stringify(d)}\n`)
  if (docs.length === 0) logger.warn(`no ${what}s are attached to ${image}`)
  return EXIT.OK
}

export const LAZY_RUNNERS: Record<
  LazyCommand,
  (argv: string[], state: RunState, io: CliIo) => Promise<number>
> = {
  'sign-blob': (a, s, io) => signFiles('sign-blob', a, s, io),
  'attest-blob': (a, s, io) => signFiles('attest-blob', a, s, io),
  attest: cmdAttest,
  'verify-attestation': cmdVerifyAttestation,
  'verify-blob-attestation': cmdVerifyBlobAttestation,
  tree: cmdTree,
  download: cmdDownload
}
