// Error code → process exit code: ONE table for every entry point, so
// scripts can tell "not signed" from "signed by someone else" from "broken".
// 10/12 follow cosign (cmd/cosign/errors/exit_codes.go). The README's exit
// code table and `sigil --help` are rendered from EXIT_CODES (a test checks).
//
// Entry points: `sigil` (every command) and `sigil-gitlab` (the GitLab jobs)
// exit with these codes. The GitHub Actions fail the step (the runner shows
// exit 1) and put the error code in the `::error::` line: `[NO_SIGNATURES_FOUND] …`.
// `sigil-conformance` speaks the sigstore-conformance protocol: 0 verified,
// 1 anything else.

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  IDENTITY: 3,
  REGISTRY: 4,
  SIGSTORE_SERVICE: 5,
  KEY_PASSWORD: 6,
  KMS: 7,
  NO_SIGNATURES: 10,
  NO_MATCHING_SIGNATURES: 12
} as const

export interface ExitCodeRow {
  exit: number
  /** When it happens. */
  meaning: string
  /** The error codes that map to it (`*` = prefix). */
  errors: readonly string[]
}

export const EXIT_CODES: readonly ExitCodeRow[] = [
  { exit: EXIT.OK, meaning: 'success (also for --help)', errors: [] },
  {
    exit: EXIT.FAILURE,
    meaning:
      'any other failure (the message says which); sign: images failed for different reasons (SIGN_INCOMPLETE, each listed)',
    errors: []
  },
  {
    exit: EXIT.USAGE,
    meaning:
      'a flag, input or variable is missing or invalid, or the key given is not a usable key',
    errors: ['USAGE', 'INPUT_*', 'KEY_INVALID', 'KEY_UNSUPPORTED']
  },
  {
    exit: EXIT.IDENTITY,
    meaning: 'keyless signing has no OIDC identity token',
    errors: ['IDENTITY_TOKEN_*']
  },
  {
    exit: EXIT.REGISTRY,
    meaning:
      'a registry refused or failed a request, or a written signature could not be confirmed in it; sign lists which images were signed and which failed',
    errors: ['REGISTRY_*']
  },
  {
    exit: EXIT.SIGSTORE_SERVICE,
    meaning:
      'Fulcio, Rekor, the timestamp authority or the TUF repository failed (unreachable, or its metadata did not verify)',
    errors: ['FULCIO_*', 'REKOR_*', 'TSA_*', 'TUF_*']
  },
  {
    exit: EXIT.KEY_PASSWORD,
    meaning:
      'the private key could not be decrypted: wrong or missing password',
    errors: ['KEY_DECRYPTION_FAILED']
  },
  {
    exit: EXIT.KMS,
    meaning:
      'a KMS key could not be used: no or wrong credentials, permission missing (the message names the IAM action, Vault policy path or role), key missing or disabled, throttled past the retry budget, a bad key URI or reply',
    errors: ['KMS_*']
  },
  {
    exit: EXIT.NO_SIGNATURES,
    meaning:
      'verify: an image has no signatures at all; verify-attestation: no attestations at all',
    errors: ['NO_SIGNATURES_FOUND', 'NO_ATTESTATIONS_FOUND']
  },
  {
    exit: EXIT.NO_MATCHING_SIGNATURES,
    meaning:
      'verify: signatures were found, none is valid for the policy (identity, issuer, key, digest, annotations); verify-attestation: none is valid or of the predicate type asked for; verify-blob[-attestation]: the bundle is not; install-cosign: the download does not match its bundle, is not signed by the release signer, or disagrees with the release checksums; verify --policy: an image is denied by a ClusterImagePolicy, or matched by none with no-match deny',
    errors: [
      'NO_MATCHING_SIGNATURES',
      'NO_MATCHING_ATTESTATIONS',
      'POLICY_DENIED',
      'POLICY_NO_MATCH',
      'INSTALL_COSIGN_SIGNATURE_INVALID',
      'INSTALL_COSIGN_SIGNER_MISMATCH',
      'INSTALL_COSIGN_CHECKSUM_MISSING',
      'INSTALL_COSIGN_CHECKSUM_MISMATCH'
    ]
  }
]

export function exitCodeFor(code: string | undefined): number {
  if (!code) return EXIT.FAILURE
  for (const row of EXIT_CODES) {
    for (const e of row.errors) {
      if (e.endsWith('*') ? code.startsWith(e.slice(0, -1)) : code === e)
        return row.exit
    }
  }
  return EXIT.FAILURE
}
