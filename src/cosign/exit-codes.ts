// Error code → process exit code, shared by the CLI and the GitLab job so
// scripts can tell "not signed" from "signed by someone else" from "broken".
// 10/12 follow cosign (cmd/cosign/errors/exit_codes.go).

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  IDENTITY: 3,
  REGISTRY: 4,
  SIGSTORE_SERVICE: 5,
  NO_SIGNATURES: 10,
  NO_MATCHING_SIGNATURES: 12
} as const

export function exitCodeFor(code: string | undefined): number {
  if (!code) return EXIT.FAILURE
  if (code === 'NO_SIGNATURES_FOUND') return EXIT.NO_SIGNATURES
  if (code === 'NO_MATCHING_SIGNATURES') return EXIT.NO_MATCHING_SIGNATURES
  if (code.startsWith('INPUT_') || code === 'USAGE') return EXIT.USAGE
  if (code.startsWith('IDENTITY_TOKEN')) return EXIT.IDENTITY
  if (code.startsWith('REGISTRY_')) return EXIT.REGISTRY
  if (/^(FULCIO|REKOR|TSA)_/.test(code)) return EXIT.SIGSTORE_SERVICE
  return EXIT.FAILURE
}
