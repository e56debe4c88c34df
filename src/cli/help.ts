// Every command's flags and their help, from one table: the flag specs the
// parser accepts and the usage `--help` prints come from the same entries,
// and the descriptions and defaults of the shared inputs are action.yml's
// (src/cosign/input-docs.generated.ts), so the CLI, the action and the GitLab
// templates never describe an input differently. A test checks that every
// flag the parser accepts is in the help.
import {
  EXIT_CODES,
  SIGN_INPUTS,
  SIGN_INPUT_DOCS,
  VERIFY_INPUTS,
  VERIFY_INPUT_DOCS,
  type InputDoc,
  type InputNaming
} from '../cosign/index.ts'
import type { FlagSpec } from './args.ts'

/** The CLI speaks of inputs as flags (`images` is the IMAGE argument). */
export const CLI_NAMING: InputNaming = {
  name: n => (n === 'images' ? 'IMAGE' : `--${n}`),
  set: (n, v) => `--${n} ${v}`
}

export interface FlagHelp extends FlagSpec {
  description: string
  default?: string
  /** An environment variable that gives the value when the flag is absent. */
  env?: string
  /** Placeholder for the value in the usage line. */
  value?: string
}

export interface CommandHelp {
  usage: string
  summary: string
  flags: Record<string, FlagHelp>
  /** Positional arguments and what they are. */
  args?: [string, string][]
  /** Extra lines (environment, notes) after the flags. */
  notes?: string[]
}

const VALUE: Record<string, string> = {
  format: 'legacy|bundle|both',
  output: 'text|json',
  key: 'KEY',
  'key-password': 'PASSWORD',
  'identity-token': 'TOKEN',
  'trusted-root': 'FILE',
  bundle: 'FILE',
  annotations: 'key=value',
  'signature-repository': 'REGISTRY/REPOSITORY',
  'registry-username': 'USER',
  'registry-password': 'PASSWORD',
  concurrency: 'N',
  'retry-budget': 'SECONDS',
  'certificate-identity': 'SAN',
  'certificate-oidc-issuer': 'URL',
  'certificate-identity-regexp': 'REGEXP',
  'certificate-oidc-issuer-regexp': 'REGEXP',
  'output-key-prefix': 'PREFIX'
}

// Environment variables the CLI reads for a flag's value.
const ENV: Record<string, string> = {
  'key-password': 'COSIGN_PASSWORD',
  'signature-repository': 'COSIGN_REPOSITORY',
  'identity-token': 'SIGSTORE_ID_TOKEN'
}

const BOOLEAN = new Set([
  'recursive',
  'tlog-upload',
  'allow-http-registry',
  'insecure-ignore-tlog'
])

const COMMON: Record<string, FlagHelp> = {
  verbose: {
    kind: 'boolean',
    alias: 'd',
    env: 'SIGIL_DEBUG',
    description:
      'Debug output on stderr (every request, every step), and the causes of an error.'
  },
  help: {
    kind: 'boolean',
    alias: 'h',
    description: 'Print this help and exit; nothing else is done.'
  }
}

const OUTPUT: FlagHelp = {
  kind: 'string',
  alias: 'o',
  value: 'text|json',
  description: 'json: print the result as one JSON document on stdout.',
  default: 'text'
}

function inputFlags(
  names: readonly string[],
  docs: Record<string, InputDoc>
): Record<string, FlagHelp> {
  const out: Record<string, FlagHelp> = {}
  for (const n of names) {
    if (n === 'images') continue
    const doc = docs[n]
    if (!doc) throw new TypeError(`no description for input ${n}`)
    const env = ENV[n]
    const value = VALUE[n] ?? (n.endsWith('-url') ? 'URL' : undefined)
    out[n] = {
      kind:
        n === 'annotations' ? 'multi' : BOOLEAN.has(n) ? 'boolean' : 'string',
      ...(n === 'annotations' ? { alias: 'a' } : {}),
      description: doc.description,
      ...(doc.default !== undefined ? { default: doc.default } : {}),
      ...(env ? { env } : {}),
      ...(value ? { value } : {})
    }
  }
  return out
}

/** verify-blob takes verify's policy and trust flags: no registry, no images. */
const isBlobFlag = (name: string): boolean =>
  name.startsWith('certificate-') || name === 'key' || name === 'trusted-root'

export const COMMANDS = {
  sign: {
    usage: 'sigil sign [flags] IMAGE...',
    args: [['IMAGE...', SIGN_INPUT_DOCS.images?.description ?? '']],
    summary:
      'Sign images: keyless with Sigstore (an OIDC identity token from --identity-token, SIGSTORE_ID_TOKEN or GitHub Actions), or with a key pair (--key).',
    flags: {
      ...inputFlags(SIGN_INPUTS, SIGN_INPUT_DOCS),
      output: OUTPUT,
      ...COMMON
    }
  },
  verify: {
    usage: 'sigil verify [flags] IMAGE...',
    args: [['IMAGE...', VERIFY_INPUT_DOCS.images?.description ?? '']],
    summary:
      'Verify image signatures against an identity and issuer (keyless) or a public key (--key). Checks go to stderr, the verified payloads to stdout.',
    flags: {
      ...inputFlags(VERIFY_INPUTS, VERIFY_INPUT_DOCS),
      output: OUTPUT,
      ...COMMON
    }
  },
  'verify-blob': {
    usage: 'sigil verify-blob --bundle FILE [flags] FILE|sha256:HEX',
    args: [
      [
        'FILE|sha256:HEX',
        'The artifact: a file, or its digest (sha256:, sha384: or sha512: and hex).'
      ]
    ],
    summary:
      'Verify a Sigstore bundle over a file, or over a digest (sha256:, sha384:, sha512:).',
    flags: {
      bundle: {
        kind: 'string',
        value: 'FILE',
        description: 'The Sigstore bundle to verify (required).'
      },
      ...inputFlags(VERIFY_INPUTS.filter(isBlobFlag), VERIFY_INPUT_DOCS),
      output: OUTPUT,
      ...COMMON
    }
  },
  'generate-key-pair': {
    usage: 'sigil generate-key-pair [flags]',
    summary:
      'Write an encrypted cosign key pair: PREFIX.key (private) and PREFIX.pub (public); with --kms, create the key in the KMS and write only PREFIX.pub.',
    flags: {
      kms: {
        kind: 'string',
        value: 'URI',
        description:
          'Create the key in a KMS instead (ECDSA P-256), e.g. hashivault://KEY or awskms:///alias/NAME; nothing private is written. An existing key is kept.'
      },
      'output-key-prefix': {
        kind: 'string',
        value: 'PREFIX',
        description: 'File name prefix of the key pair.',
        default: 'cosign'
      },
      force: {
        kind: 'boolean',
        alias: 'f',
        description: 'Overwrite existing key files.'
      },
      ...COMMON
    },
    notes: [
      'Environment: COSIGN_PASSWORD, the password of the new key (required; it may be empty).'
    ]
  },
  'public-key': {
    usage: 'sigil public-key --key KEY [--outfile FILE]',
    summary:
      'Print the public key of a private key file or of a KMS key (hashivault://, awskms://, gcpkms://, azurekms://), PEM.',
    flags: {
      key: {
        kind: 'string',
        value: 'KEY',
        description:
          'The private key (cosign.key, PEM text, env://VAR) or a KMS key URI.'
      },
      outfile: {
        kind: 'string',
        value: 'FILE',
        description: 'Write the public key to FILE instead of standard output.'
      },
      ...COMMON
    },
    notes: [
      'Environment: COSIGN_PASSWORD, the password of an encrypted key file; the KMS provider variables (README, "Key pairs").'
    ]
  },
  version: {
    usage: 'sigil version',
    summary: 'Print the version.',
    flags: { help: COMMON.help as FlagHelp }
  }
} satisfies Record<string, CommandHelp>

export type CommandName = keyof typeof COMMANDS

export const CONFORMANCE_HELP: CommandHelp = {
  usage:
    'sigil-conformance verify-bundle --bundle FILE (--certificate-identity SAN --certificate-oidc-issuer URL | --key KEY) [flags] FILE|sha256:HEX',
  summary:
    'The sigstore-conformance client protocol (verification): exit 0 when the bundle verifies, 1 otherwise.',
  flags: {
    bundle: {
      kind: 'string',
      value: 'FILE',
      description: 'The Sigstore bundle to verify (required).'
    },
    ...inputFlags(
      [
        'certificate-identity',
        'certificate-oidc-issuer',
        'key',
        'trusted-root'
      ],
      VERIFY_INPUT_DOCS
    ),
    staging: {
      kind: 'boolean',
      description:
        'Verify against Sigstore staging; needs --trusted-root (only the public-good root is embedded).'
    },
    help: COMMON.help as FlagHelp
  }
}

/** The parser's view of a command's flags. */
export function specOf(help: CommandHelp): Record<string, FlagSpec> {
  return Object.fromEntries(
    Object.entries(help.flags).map(([name, f]) => [
      name,
      { kind: f.kind, ...(f.alias ? { alias: f.alias } : {}) }
    ])
  )
}

/** `-h`/`--help` anywhere before `--`: print the help, do nothing else. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false
    if (a === '-h' || a === '--help' || a === '--help=true') return true
  }
  return false
}

function wrap(text: string, indent: number, width = 80): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines.map(l => `${' '.repeat(indent)}${l}`)
}

export function renderHelp(help: CommandHelp): string {
  const out = [`Usage: ${help.usage}`, '', ...wrap(help.summary, 0)]
  if (help.args?.length) {
    out.push('', 'Arguments:')
    for (const [a, d] of help.args) out.push(`  ${a}`, ...wrap(d, 6))
  }
  out.push('', 'Flags:')
  for (const [name, f] of Object.entries(help.flags)) {
    const head = `${f.alias ? `-${f.alias}, ` : ''}--${name}${f.kind === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`}`
    const saysDefault =
      f.default !== undefined && f.description.includes(`default ${f.default}`)
    const extra = [
      f.kind === 'boolean' && f.default === 'true'
        ? `--${name}=false to turn off`
        : '',
      f.kind === 'multi' ? 'repeatable' : '',
      f.env ? `environment: ${f.env}` : '',
      f.default !== undefined && !saysDefault ? `default: ${f.default}` : ''
    ].filter(Boolean)
    const desc = `${f.description}${extra.length ? ` (${extra.join('; ')})` : ''}`
    out.push(`  ${head}`, ...wrap(desc, 6))
  }
  if (help.notes?.length) out.push('', ...help.notes.flatMap(n => wrap(n, 0)))
  return `${out.join('\n')}\n`
}

export function renderMainHelp(): string {
  const cmds: [string, string][] = [
    [
      'sign IMAGE...',
      'sign images (keyless with Sigstore, or --key cosign.key)'
    ],
    ['verify IMAGE...', 'verify image signatures against an identity or a key'],
    [
      'verify-blob FILE|DIGEST',
      'verify a Sigstore bundle over a file or sha256:<hex>'
    ],
    [
      'generate-key-pair',
      'write cosign.key and cosign.pub (password from COSIGN_PASSWORD)'
    ],
    ['public-key', 'print the public key of a key file or KMS key'],
    ['version', 'print the version']
  ]
  return [
    'Usage: sigil <command> [flags]',
    '',
    'Commands:',
    ...cmds.map(([c, d]) => `  ${c.padEnd(25)}${d}`),
    '',
    "Run 'sigil <command> --help' for a command's flags, their environment",
    'variables and defaults. Every command takes -d/--verbose (debug output',
    'on stderr) and -h/--help.',
    '',
    'Exit codes:',
    ...EXIT_CODES.flatMap(r => {
      const [first = '', ...rest] = wrap(r.meaning, 0, 73)
      return [
        `  ${String(r.exit).padEnd(5)}${first}`,
        ...rest.map(l => `       ${l}`)
      ]
    }),
    ''
  ].join('\n')
}
