// What the three adapters share for the policy input: load and check the
// documents (warnings logged, errors stop the run before any network call),
// verify, and render the verdict per image, policy and authority.
import type {
  InputNaming,
  PolicyInputs,
  VerifyImagesDeps,
  VerifyInputs
} from '../cosign/index.ts'
import type { TrustMaterial } from '../sigstore/index.ts'
import { formatIssue } from './errors.ts'
import {
  verifyImagesWithPolicies,
  type AttestationVerifier,
  type PolicyVerifyResult
} from './evaluate.ts'
import { loadPolicies } from './load.ts'
import { verifyAttestationsForAuthority } from './attestations.ts'

export interface PolicyRunDeps extends VerifyImagesDeps {
  attestationVerifier?: AttestationVerifier
}

export async function verifyWithPolicies(
  inputs: VerifyInputs & { policy: PolicyInputs },
  trust: TrustMaterial,
  deps: PolicyRunDeps,
  naming: InputNaming
): Promise<PolicyVerifyResult> {
  const set = await loadPolicies(inputs.policy.paths)
  for (const i of set.issues) deps.logger.warn(formatIssue(i))
  deps.logger.info(
    `policies: ${set.policies.map(p => `"${p.name}"`).join(', ')} from ${set.files.join(', ')}${set.trustRoots.size ? `; trust roots: ${[...set.trustRoots.keys()].join(', ')}` : ''}`
  )
  return verifyImagesWithPolicies(
    {
      images: inputs.options.images,
      recursive: inputs.options.recursive,
      concurrency: inputs.options.concurrency,
      trust,
      policies: set,
      noMatch: inputs.policy.noMatch,
      skipUnsupportedPolicies: inputs.policy.skipUnsupportedPolicies,
      ...(inputs.options.signatureRepository
        ? { signatureRepository: inputs.options.signatureRepository }
        : {}),
      imagesInputName: naming.name('images'),
      nameInput: naming.name
    },
    {
      ...deps,
      attestationVerifier:
        deps.attestationVerifier ?? verifyAttestationsForAuthority
    }
  )
}

const MARK = { passed: 'PASS', failed: 'FAIL', warned: 'WARN' } as const

/** The verdict as text: one block per image, indented policies and authorities. */
export function renderPolicyResult(result: PolicyVerifyResult): string {
  const out: string[] = []
  for (const i of result.images) {
    out.push(
      `${MARK[i.status]} ${i.reference}${i.platform ? ` (${i.platform})` : ''}${i.noMatch ? `: no policy matches (no-match: ${i.noMatch})` : ''}`
    )
    for (const p of i.policies) {
      out.push(
        `  ${MARK[p.status]} ClusterImagePolicy "${p.policy}"${p.mode === 'warn' ? ' (mode: warn)' : ''} from ${p.document}`
      )
      for (const a of p.authorities) {
        const who = a.signatures
          ?.map(s =>
            s.identity
              ? `${s.identity.subject} (${s.identity.issuer})`
              : `key, ${s.format}`
          )
          .filter((v, n, all) => all.indexOf(v) === n)
          .join(', ')
        out.push(
          `    ${a.status === 'passed' ? 'pass' : 'fail'} authority "${a.name}" (${a.type})${a.status === 'passed' ? (who ? `: ${who}` : a.reason ? `: ${a.reason}` : '') : `: [${a.code ?? 'FAILED'}] ${a.reason ?? ''}`}`
        )
      }
      if (
        p.status !== 'passed' &&
        p.reason &&
        p.authorities.some(a => a.status === 'passed')
      )
        out.push(`    ${p.reason}`)
      for (const n of p.notes) out.push(`    note: ${n}`)
    }
  }
  return `${out.join('\n')}\n`
}
