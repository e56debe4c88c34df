// `sigil-conformance`: the sigstore-conformance client protocol (verification
// half). `verify-bundle [--staging] --bundle F (--certificate-identity ID
// --certificate-oidc-issuer URL | --key PEM) [--trusted-root F] FILE_OR_DIGEST`;
// the exit status is the verdict. Without --trusted-root the embedded
// public-good root is used.
import { readFile } from 'node:fs/promises'
import {
  loadTrustMaterial,
  parseDigestArgument,
  verifyBlob
} from '../cosign/index.ts'
import { InputError, describeError, redact } from '../util/index.ts'
import { parseArgs } from './args.ts'
import { CONFORMANCE_HELP, renderHelp, specOf, wantsHelp } from './help.ts'

export async function runConformanceWith(
  argv: string[],
  stderr: (s: string) => void,
  stdout: (s: string) => void = s => process.stdout.write(s)
): Promise<number> {
  try {
    const [command, ...rest] = argv
    if (wantsHelp(argv)) {
      stdout(renderHelp(CONFORMANCE_HELP))
      return 0
    }
    if (command !== 'verify-bundle') {
      throw new InputError(
        'USAGE',
        `unsupported command ${JSON.stringify(command ?? '')}: only verify-bundle is implemented`
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
