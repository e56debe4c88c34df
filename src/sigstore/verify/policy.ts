// Identity policy over a verified certificate: SAN (exact or regexp), OIDC
// issuer (exact or regexp), cosign's GitHub workflow flags and any named
// Fulcio extension. Regular expressions are ANCHORED here (^(?:…)$) —
// unlike cosign's unanchored RE2 search — and compiled once per policy.
// Knows nothing about signatures; it runs after every integrity check.
// Spec: shared/docs/cosign-spec.md §6.4; sigstore-go certificate_identity.go.

import { InputError } from '../../util/index.ts'
import {
  FULCIO_EXTENSION_OIDS,
  type FulcioExtensionName,
  type FulcioExtensions,
  type ParsedCertificate,
  type SubjectAltName
} from '../x509/index.ts'
import { PolicyError } from './errors.ts'

export interface StringMatcher {
  exact?: string
  /** A JavaScript regular expression, matched against the WHOLE value. */
  regexp?: string
}

export interface VerificationPolicy {
  identity?: StringMatcher
  issuer?: StringMatcher
  /** cosign --certificate-github-workflow-*: the raw .2-.6 extensions. */
  githubWorkflow?: {
    trigger?: string
    sha?: string
    name?: string
    repository?: string
    ref?: string
  }
  /** Exact values for named Fulcio extensions (e.g. sourceRepositoryURI). */
  extensions?: Partial<Record<FulcioExtensionName, string>>
}

interface CompiledMatcher {
  describe: string
  test(value: string): boolean
  /** For a regexp: what to say when only an unanchored search matches. */
  unanchoredHint?(values: readonly string[]): string | undefined
}

export interface CompiledPolicy {
  identity: CompiledMatcher | undefined
  issuer: CompiledMatcher | undefined
  extensions: [FulcioExtensionName, string][]
  /** Whether the policy constrains the signer at all. */
  constrainsSigner: boolean
}

const compiled = new WeakMap<VerificationPolicy, CompiledPolicy>()

function matcher(
  m: StringMatcher | undefined,
  what: string
): CompiledMatcher | undefined {
  if (!m || (m.exact === undefined && m.regexp === undefined)) return undefined
  if (m.exact !== undefined && m.regexp !== undefined) {
    throw new InputError(
      'INPUT_INVALID_POLICY',
      `the ${what} policy sets both an exact value and a regular expression; choose one`
    )
  }
  if (m.exact !== undefined) {
    const exact = m.exact
    return { describe: JSON.stringify(exact), test: v => v === exact }
  }
  const source = m.regexp!
  let re: RegExp
  try {
    re = new RegExp(`^(?:${source})$`)
  } catch (e) {
    throw new InputError(
      'INPUT_INVALID_POLICY',
      `the ${what} regular expression ${JSON.stringify(source)} is invalid: ${(e as Error).message}`,
      { cause: e }
    )
  }
  // cosign searches with RE2 unanchored; Sigil matches the whole value. When
  // only the search would have matched, say so and show a whole-value
  // pattern that accepts what the search accepted.
  const search = new RegExp(source)
  const lead = source.startsWith('^') ? '' : '.*'
  const tail = /(^|[^\\])\$$/.test(source) ? '' : '.*'
  const body = source.includes('|') ? `(?:${source})` : source
  return {
    describe: `/^(?:${source})$/`,
    test: v => re.test(v),
    unanchoredHint: values =>
      values.some(v => search.test(v))
        ? `; the pattern is matched against the whole value (anchored), and only an unanchored search (cosign's) would match: use ${JSON.stringify(`${lead}${body}${tail}`)} if that is what you mean`
        : undefined
  }
}

// How messages name the extensions cosign's --certificate-github-workflow-*
// flags check (the others go by their Fulcio name).
const EXTENSION_LABELS: Partial<Record<FulcioExtensionName, string>> = {
  githubWorkflowTrigger: 'workflow trigger',
  githubWorkflowSha: 'workflow commit SHA',
  githubWorkflowName: 'workflow name',
  githubWorkflowRepository: 'workflow repository',
  githubWorkflowRef: 'workflow ref'
}

/** Validates and compiles a policy once; cached per policy object. */
export function compilePolicy(policy: VerificationPolicy): CompiledPolicy {
  const hit = compiled.get(policy)
  if (hit) return hit
  const gw = policy.githubWorkflow ?? {}
  const extensions: [FulcioExtensionName, string][] = [
    ...Object.entries({
      githubWorkflowTrigger: gw.trigger,
      githubWorkflowSha: gw.sha,
      githubWorkflowName: gw.name,
      githubWorkflowRepository: gw.repository,
      githubWorkflowRef: gw.ref
    }),
    ...Object.entries(policy.extensions ?? {})
  ].filter((e): e is [FulcioExtensionName, string] => typeof e[1] === 'string')
  for (const [name] of extensions) {
    if (!Object.hasOwn(FULCIO_EXTENSION_OIDS, name)) {
      throw new InputError(
        'INPUT_INVALID_POLICY',
        `unknown certificate extension ${JSON.stringify(name)}`
      )
    }
  }
  const identity = matcher(policy.identity, 'identity')
  const issuer = matcher(policy.issuer, 'issuer')
  const out: CompiledPolicy = {
    identity,
    issuer,
    extensions,
    constrainsSigner:
      identity !== undefined || issuer !== undefined || extensions.length > 0
  }
  compiled.set(policy, out)
  return out
}

/** sigstore-go's choice: first URI SAN, else first email, else otherName. */
export function primarySAN(sans: SubjectAltName[]): SubjectAltName | undefined {
  return (
    sans.find(s => s.type === 'uri') ??
    sans.find(s => s.type === 'email') ??
    sans.find(s => s.type === 'otherName')
  )
}

export interface SignerIdentity {
  subjectAlternativeName: string
  issuer: string | undefined
  extensions: FulcioExtensions
}

/**
 * Applies the policy; throws PolicyError naming expected vs actual and the
 * log index (`where`) of the signature.
 */
export function verifyPolicy(
  policy: CompiledPolicy,
  cert: ParsedCertificate,
  signer: SignerIdentity,
  sanMatch: 'first' | 'any',
  where: string
): void {
  if (policy.identity) {
    const candidates =
      sanMatch === 'any'
        ? cert.sans.map(s => s.value)
        : [signer.subjectAlternativeName].filter(s => s !== '')
    if (!candidates.some(v => policy.identity!.test(v))) {
      throw new PolicyError(
        'POLICY_IDENTITY_MISMATCH',
        `certificate identity mismatch${where}: expected ${policy.identity.describe}, ` +
          `got ${candidates.length ? candidates.map(c => JSON.stringify(c)).join(', ') : 'no SAN'}` +
          (policy.identity.unanchoredHint?.(candidates) ?? '')
      )
    }
  }
  if (policy.issuer) {
    const got = signer.issuer
    if (got === undefined || !policy.issuer.test(got)) {
      throw new PolicyError(
        'POLICY_ISSUER_MISMATCH',
        `certificate OIDC issuer mismatch${where}: expected ${policy.issuer.describe}, ` +
          `got ${got === undefined ? 'no issuer extension' : JSON.stringify(got)}` +
          (got === undefined
            ? ''
            : (policy.issuer.unanchoredHint?.([got]) ?? ''))
      )
    }
  }
  for (const [name, want] of policy.extensions) {
    const got = signer.extensions[name]
    if (got !== want) {
      throw new PolicyError(
        'POLICY_EXTENSION_MISMATCH',
        `certificate ${EXTENSION_LABELS[name] ?? `extension ${name}`} mismatch${where}: ` +
          `expected ${JSON.stringify(want)}, got ${got === undefined ? 'none' : JSON.stringify(got)} (${name}, ${FULCIO_EXTENSION_OIDS[name]})`
      )
    }
  }
}
