// `sigil-conformance`: the sigstore-conformance client protocol: sign-bundle
// (on the same engine as sign-blob / attest-blob) and verify-bundle. `verify-bundle [--staging] --bundle F (--certificate-identity ID
// --certificate-oidc-issuer URL | --key PEM) [--trusted-root F] FILE_OR_DIGEST`;
// the exit status is the verdict. Without --trusted-root the embedded
// public-good root is used.
import { readFile, writeFile } from 'node:fs/promises'
import {
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  chooseServices,
  createRuntime,
  loadTrustMaterial,
  parseDigestArgument,
  readSigningConfigFile,
  signBlobs,
  verifyBlob
} from '../cosign/index.ts'
import { StaticIdentityProvider } from '../sigstore/index.ts'
import {
  InputError,
  describeError,
  nullLogger,
  redact,
  registerSecret
} from '../util/index.ts'
import { SIGIL_VERSION } from '../version.ts'
import { parseArgs } from './args.ts'
import {
  CONFORMANCE_HELP,
  CONFORMANCE_SIGN_HELP,
  renderHelp,
  specOf,
  wantsHelp
} from './help.ts'

async function signBundle(rest: string[]): Promise<void> {
  const { flags, positionals } = parseArgs(rest, specOf(CONFORMANCE_SIGN_HELP))
  const subject = positionals[0]
  const token = flags['identity-token']
  if (!flags.bundle || !subject || !token)
    throw new InputError(
      'USAGE',
      'sign-bundle needs --identity-token, --bundle and FILE'
    )
  registerSecret(token)
  if (
    flags.staging === 'true' &&
    (!flags['trusted-root'] || !flags['signing-config'])
  ) {
    throw new InputError(
      'USAGE',
      '--staging needs --trusted-root and --signing-config: only public good is built in'
    )
  }
  // The signing config's services, chosen as the client spec says (the
  // highest Rekor API version listed: a Rekor v2 log when there is one).
  const services = flags['signing-config']
    ? chooseServices({
        explicit: {},
        config: await readSigningConfigFile(flags['signing-config']),
        configSource: flags['signing-config'],
        needs: { fulcio: true, rekor: true },
        logger: nullLogger
      })
    : undefined
  const bytes = new Uint8Array(await readFile(subject))
  const http = createRuntime({
    userAgent: `sigil/${SIGIL_VERSION} (conformance)`,
    logger: nullLogger
  }).http
  const r = await signBlobs(
    {
      blobs: flags['in-toto'] === 'true' ? [] : [{ name: subject, bytes }],
      ...(flags['in-toto'] === 'true' ? { statement: bytes } : {}),
      tlogUpload: true,
      fulcioUrl: services?.fulcioUrl ?? DEFAULT_FULCIO_URL,
      rekorUrl: services?.rekorUrl ?? DEFAULT_REKOR_URL,
      ...(services ? { rekorApiVersion: services.rekorApiVersion } : {}),
      ...(services?.timestampServerUrl
        ? { timestampServerUrl: services.timestampServerUrl }
        : {}),
      trust: loadTrustMaterial(flags['trusted-root']),
      concurrency: 1
    },
    { http, logger: nullLogger, identity: new StaticIdentityProvider(token) }
  )
  const bundle = r.attestation?.bundle ?? r.blobs[0]?.bundle
  await writeFile(flags.bundle, `${JSON.stringify(bundle)}\n`)
}

export async function runConformanceWith(
  argv: string[],
  stderr: (s: string) => void,
  stdout: (s: string) => void = s => process.stdout.write(s)
): Promise<number> {
  try {
    const [command, ...rest] = argv
    if (wantsHelp(argv)) {
      stdout(
        renderHelp(
          command === 'sign-bundle' ? CONFORMANCE_SIGN_HELP : CONFORMANCE_HELP
        )
      )
      return 0
    }
    if (command === 'sign-bundle') {
      await signBundle(rest)
      return 0
    }
    if (command !== 'verify-bundle') {
      throw new InputError(
        'USAGE',
        `unsupported command ${JSON.stringify(command ?? '')}: sign-bundle or verify-bundle`
      )
    }
    const { flags, positionals } = parseArgs(rest, specOf(CONFORMANCE_HELP))
    const subject = positionals[0]
    if (!flags.bundle || !subject)
      throw new InputError(
        'USAGE',
        'verify-bundle needs --bundle and FILE_OR_DIGEST'
      )
    if (flags.staging === 'true' && !flags['trusted-root']) {
      throw new InputError(
        'USAGE',
        '--staging needs --trusted-root: only the public-good root is embedded'
      )
    }
    const identity = flags['certificate-identity']
    const issuer = flags['certificate-oidc-issuer']
    if (!flags.key && (!identity || !issuer)) {
      throw new InputError(
        'USAGE',
        'give --certificate-identity and --certificate-oidc-issuer, or --key'
      )
    }
    const trust = await loadTrustMaterial(flags['trusted-root'])
    const bundle = JSON.parse(await readFile(flags.bundle, 'utf8')) as unknown
    const artifact = parseDigestArgument(subject) ?? {
      bytes: new Uint8Array(await readFile(subject))
    }
    await verifyBlob({
      bundle,
      artifact,
      trust,
      policy: flags.key
        ? {}
        : {
            identity: { exact: identity ?? '' },
            issuer: { exact: issuer ?? '' }
          },
      ...(flags.key ? { publicKey: await readFile(flags.key, 'utf8') } : {})
    })
    return 0
  } catch (e) {
    stderr(`${redact(describeError(e))}\n`)
    return 1
  }
}

export async function runConformance(): Promise<void> {
  process.exitCode = await runConformanceWith(process.argv.slice(2), s =>
    process.stderr.write(s)
  )
}
