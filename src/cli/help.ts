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
  INSTALL_INPUT_DOCS,
  type InputDoc,
  type InputNaming
} from '../cosign/index.ts'
import type { FlagSpec } from './args.ts'

/** The CLI speaks of inputs as flags (`images` is the IMAGE argument). */
export const CLI_NAMING: InputNaming = {
  name: n =>
    n === 'images'
      ? 'IMAGE'
      : n === 'predicate-type'
        ? '--type'
        : n === 'predicate-policy'
          ? '--policy'
          : `--${n}`,
  set: (n, v) => `${CLI_NAMING.name(n)} ${v}`
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
  predicate: 'FILE',
  format: 'legacy|bundle|both',
  output: 'text|json',
  key: 'KEY',
  policy: 'FILE|DIR',
  'no-match': 'deny|allow|warn',
  'key-password': 'PASSWORD',
  'identity-token': 'TOKEN',
  'trusted-root': 'FILE',
  'tuf-mirror': 'URL',
  'tuf-root': 'FILE',
  'signing-config': 'FILE',
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
  'output-key-prefix': 'PREFIX',
  'cosign-release': 'VERSION',
  'install-dir': 'DIR'
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
  'insecure-ignore-tlog',
  'offline',
  'skip-unsupported-policies'
])

/** Inputs of the action that are commands of their own on the CLI
 * (attest, sign-blob, verify-attestation), not flags of sign and verify. */
const ATTEST_ONLY = new Set([
  'predicate',
  'predicate-type',
  'predicate-policy',
  'subject-path',
  'bundle-path'
])

/** verify-attestation's --policy (cosign's name) is verify's predicate-policy
 * input; verify's own policy (ClusterImagePolicy documents) is not a flag of
 * the attestation commands. */
const CLUSTER_POLICY_ONLY = new Set([
  'policy',
  'no-match',
  'skip-unsupported-policies'
])

function predicatePolicyFlag(): Record<string, FlagHelp> {
  return {
    policy: {
      kind: 'string',
      value: 'FILE',
      description:
        VERIFY_INPUT_DOCS['predicate-policy']?.description.replace(
          /^With predicate-type: a/,
          'A'
        ) ?? ''
    }
  }
}

/** --predicate and --type (the inputs predicate and predicate-type). */
function predicateFlags(withPredicate: boolean): Record<string, FlagHelp> {
  const doc = SIGN_INPUT_DOCS['predicate-type']
  const pred = inputFlags(['predicate'], SIGN_INPUT_DOCS)
  return {
    ...(withPredicate ? pred : {}),
    type: {
      kind: 'string',
      value: 'TYPE',
      description: doc?.description ?? '',
      default: 'custom'
    }
  }
}

const BLOB_OUTPUTS: Record<string, FlagHelp> = {
  bundle: {
    kind: 'string',
    value: 'FILE',
    description:
      'Where to write the Sigstore bundle (v0.3). One file only; default FILE.sigstore.json next to each file.'
  },
  'output-signature': {
    kind: 'string',
    value: 'FILE',
    description: 'Also write the base64 signature here (one file only).'
  },
  'output-certificate': {
    kind: 'string',
    value: 'FILE',
    description: 'Also write the PEM signing certificate here (keyless).'
  }
}

/** Inputs of sign that apply to blobs (no registry, no images). */
const BLOB_SIGN_INPUTS = [
  'tlog-upload',
  'key',
  'key-password',
  'identity-token',
  'fulcio-url',
  'rekor-url',
  'timestamp-server-url',
  'signing-config',
  'trusted-root',
  'tuf-mirror',
  'tuf-root',
  'concurrency',
  'retry-budget'
] as const

/** Registry access flags (tree, download). */
const REGISTRY_INPUTS = [
  'signature-repository',
  'registry-username',
  'registry-password',
  'registry',
  'allow-http-registry',
  'retry-budget'
] as const

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
  name.startsWith('certificate-') ||
  ['key', 'trusted-root', 'tuf-mirror', 'tuf-root', 'rekor-url'].includes(name)

export const COMMANDS = {
  sign: {
    usage: 'sigil sign [flags] IMAGE...',
    args: [['IMAGE...', SIGN_INPUT_DOCS.images?.description ?? '']],
    summary:
      'Sign images: keyless with Sigstore (an OIDC identity token from --identity-token, SIGSTORE_ID_TOKEN or GitHub Actions), or with a key pair (--key).',
    flags: {
      ...inputFlags(
        SIGN_INPUTS.filter(n => !ATTEST_ONLY.has(n)),
        SIGN_INPUT_DOCS
      ),
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
      ...inputFlags(
        VERIFY_INPUTS.filter(n => !ATTEST_ONLY.has(n)),
        VERIFY_INPUT_DOCS
      ),
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
  'sign-blob': {
    usage: 'sigil sign-blob [flags] FILE...',
    args: [['FILE...', 'The files to sign (one bundle each).']],
    summary:
      'Sign files: one Sigstore bundle v0.3 per file (FILE.sigstore.json unless --bundle), with one certificate for the whole run. Keyless, or with --key.',
    flags: {
      ...inputFlags(BLOB_SIGN_INPUTS, SIGN_INPUT_DOCS),
      ...BLOB_OUTPUTS,
      output: OUTPUT,
      ...COMMON
    }
  },
  'attest-blob': {
    usage: 'sigil attest-blob --predicate FILE [--type TYPE] [flags] FILE...',
    args: [
      [
        'FILE...',
        "The files the attestation is about: the statement's subjects (name and sha256)."
      ]
    ],
    summary:
      'Attest files: wrap the predicate in an in-toto v1 statement naming every file, sign it as DSSE, log it, and write one bundle (FILE.intoto.sigstore.json for one file; --bundle for several).',
    flags: {
      ...predicateFlags(true),
      ...inputFlags(BLOB_SIGN_INPUTS, SIGN_INPUT_DOCS),
      bundle: {
        kind: 'string',
        value: 'FILE',
        description:
          'Where to write the attestation bundle; default FILE.intoto.sigstore.json (required with several files).'
      },
      'output-signature': BLOB_OUTPUTS['output-signature'] as FlagHelp,
      'output-certificate': BLOB_OUTPUTS['output-certificate'] as FlagHelp,
      output: OUTPUT,
      ...COMMON
    }
  },
  attest: {
    usage: 'sigil attest --predicate FILE [--type TYPE] [flags] IMAGE...',
    args: [['IMAGE...', SIGN_INPUT_DOCS.images?.description ?? '']],
    summary:
      "Attest images: wrap the predicate in cosign's in-toto statement naming the image digest, sign it as DSSE, log it, and store it as --format says (legacy sha256-<hex>.att, bundle referrer, or both).",
    flags: {
      ...predicateFlags(true),
      ...inputFlags(
        SIGN_INPUTS.filter(n => n !== 'annotations' && !ATTEST_ONLY.has(n)),
        SIGN_INPUT_DOCS
      ),
      output: OUTPUT,
      ...COMMON
    }
  },
  'verify-attestation': {
    usage: 'sigil verify-attestation [--type TYPE] [flags] IMAGE...',
    args: [['IMAGE...', VERIFY_INPUT_DOCS.images?.description ?? '']],
    summary:
      'Verify image attestations (bundle referrers and legacy .att) against an identity and issuer or a key, the predicate type, and optionally a CEL predicate policy (--policy). Prints each verified in-toto statement as one JSON line on stdout.',
    flags: {
      ...predicateFlags(false),
      ...predicatePolicyFlag(),
      ...inputFlags(
        VERIFY_INPUTS.filter(
          n =>
            n !== 'annotations' &&
            !ATTEST_ONLY.has(n) &&
            !CLUSTER_POLICY_ONLY.has(n)
        ),
        VERIFY_INPUT_DOCS
      ),
      output: OUTPUT,
      ...COMMON
    }
  },
  'verify-blob-attestation': {
    usage:
      'sigil verify-blob-attestation --bundle FILE [--type TYPE] [flags] FILE|sha256:HEX',
    args: [
      [
        'FILE|sha256:HEX',
        'The artifact the statement must name: a file, or its digest.'
      ]
    ],
    summary:
      'Verify an attestation bundle over a file: the signature, the signer, that the statement names the file, its predicate type, and optionally a CEL predicate policy (--policy). Prints the statement as JSON.',
    flags: {
      bundle: {
        kind: 'string',
        value: 'FILE',
        description: 'The attestation bundle to verify (required).'
      },
      ...predicateFlags(false),
      ...predicatePolicyFlag(),
      ...inputFlags(VERIFY_INPUTS.filter(isBlobFlag), VERIFY_INPUT_DOCS),
      output: OUTPUT,
      ...COMMON
    }
  },
  tree: {
    usage: 'sigil tree [flags] IMAGE',
    args: [['IMAGE', 'The image (tag or digest).']],
    summary:
      'Show what is attached to an image: legacy .sig/.att/.sbom tags with their layers, and bundle referrers by artifact type and predicate type, with digests.',
    flags: {
      ...inputFlags(REGISTRY_INPUTS, VERIFY_INPUT_DOCS),
      output: OUTPUT,
      ...COMMON
    }
  },
  download: {
    usage: 'sigil download signature|attestation [flags] IMAGE',
    args: [
      ['signature|attestation', 'What to download.'],
      ['IMAGE', 'The image (tag or digest).']
    ],
    summary:
      "Print an image's signatures or attestations, one JSON document per line, as cosign download does: legacy layers as {Base64Signature, Payload, Cert, Chain, Bundle}, attestations as their DSSE envelopes; bundle referrers as their Sigstore bundles.",
    flags: {
      ...inputFlags(REGISTRY_INPUTS, VERIFY_INPUT_DOCS),
      ...COMMON
    }
  },
  policy: {
    usage: 'sigil policy validate [flags] FILE|DIR...',
    args: [
      [
        'FILE|DIR...',
        'ClusterImagePolicy and TrustRoot documents: YAML files (several documents each) or directories of them.'
      ]
    ],
    summary:
      'Check policy-controller ClusterImagePolicy documents as its admission webhook does (and what sigil verify cannot honour): each problem with its document, field path and fix. Exit 0 when valid (warnings allowed), 2 when not.',
    flags: {
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
  'install-cosign': {
    usage:
      'sigil install-cosign [--cosign-release VERSION] [--install-dir DIR] [flags]',
    summary:
      "Download a cosign release binary for this OS and architecture, verify its Sigstore bundle against cosign's release signer and its SHA-256 against the release checksums, and install it as DIR/cosign; nothing unverified is run. The installed path is printed on stdout. A second run finds the verified binary in DIR and downloads nothing.",
    flags: {
      ...inputFlags(Object.keys(INSTALL_INPUT_DOCS), INSTALL_INPUT_DOCS),
      'install-dir': {
        kind: 'string',
        value: 'DIR',
        description:
          'Where cosign is installed (created); put it on PATH for later commands.',
        default: '~/.sigil/cosign/VERSION'
      },
      output: OUTPUT,
      ...COMMON
    }
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

export const CONFORMANCE_SIGN_HELP: CommandHelp = {
  usage:
    'sigil-conformance sign-bundle --identity-token TOKEN --bundle FILE [--in-toto] [--staging] [--trusted-root FILE] [--signing-config FILE] FILE',
  summary:
    'The sigstore-conformance client protocol (signing): sign FILE (with --in-toto: the in-toto statement in FILE, as DSSE) with one Fulcio certificate, log it in Rekor, and write a Sigstore bundle v0.3.',
  flags: {
    'identity-token': {
      kind: 'string',
      value: 'TOKEN',
      description: 'The OIDC identity token (required).'
    },
    bundle: {
      kind: 'string',
      value: 'FILE',
      description: 'Where to write the bundle (required).'
    },
    'in-toto': {
      kind: 'boolean',
      description: 'FILE is an in-toto statement: sign it as a DSSE envelope.'
    },
    'trusted-root': {
      kind: 'string',
      value: 'FILE',
      description:
        'trusted_root.json the result is checked against (default: the embedded public-good root).'
    },
    'signing-config': {
      kind: 'string',
      value: 'FILE',
      description:
        'A Sigstore signing config (v0.2): the Fulcio, Rekor v1 and timestamp authority URLs to use (default: public good).'
    },
    staging: {
      kind: 'boolean',
      description:
        'Sign with Sigstore staging; needs --trusted-root and --signing-config (only public good is built in).'
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
    ['sign-blob FILE...', 'sign files: one Sigstore bundle per file'],
    ['attest-blob FILE...', 'attest files with a predicate (in-toto, DSSE)'],
    [
      'attest IMAGE...',
      'attest images with a predicate (.att and/or referrers)'
    ],
    [
      'verify-attestation IMAGE...',
      'verify image attestations; print the statements'
    ],
    [
      'verify-blob-attestation FILE',
      'verify an attestation bundle over a file'
    ],
    ['tree IMAGE', 'show the signatures, attestations and SBOMs attached'],
    [
      'download signature|attestation',
      "print an image's signatures or attestations"
    ],
    [
      'policy validate FILE...',
      'check ClusterImagePolicy documents as policy-controller does'
    ],
    [
      'generate-key-pair',
      'write cosign.key and cosign.pub (password from COSIGN_PASSWORD)'
    ],
    ['public-key', 'print the public key of a key file or KMS key'],
    [
      'install-cosign',
      'install a cosign release, verified before it is written'
    ],
    ['version', 'print the version']
  ]
  return [
    'Usage: sigil <command> [flags]',
    '',
    'Commands:',
    ...cmds.map(([c, d]) => `  ${c.padEnd(32)}${d}`),
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
