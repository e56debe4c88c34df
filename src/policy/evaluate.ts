// Verify images against ClusterImagePolicy documents with policy-controller's
// semantics (pkg/webhook/validator.go): every policy whose globs match an
// image applies and must pass; a policy passes when at least one of its
// authorities does (and its spec.policy, if any, accepts the result); a
// `mode: warn` policy reports without failing; an image no policy matches
// follows no-match (deny, allow or warn).
import {
  publicKeyOfKms,
  resolveTargets,
  signatureLocator,
  verifyImageTarget,
  type CandidateReport,
  type ImageTarget,
  type SignatureRepository,
  type VerifyImagesDeps,
  type VerifyImagesOptions
} from '../cosign/index.ts'
import type { TrustMaterial, VerificationPolicy } from '../sigstore/index.ts'
import { AppError, mapLimit } from '../util/index.ts'
import type {
  AttestationRef,
  Authority,
  ClusterImagePolicy,
  Identity
} from './documents.ts'
import { PolicyDeniedError } from './errors.ts'
import { globMatches } from './glob.ts'
import type { PolicySet } from './load.ts'
import { evaluatePredicatePolicy } from './predicate-policy.ts'
import { caCertTrust, trustMaterialOf } from './trust-root.ts'

export type NoMatchPolicy = 'deny' | 'allow' | 'warn'
export type Status = 'passed' | 'failed' | 'warned'

/** A statement an attestation verifier accepted for an image. */
export interface VerifiedStatement {
  predicateType: string
  /** The in-toto statement (parsed JSON). */
  statement: unknown
  /** Where it was found, for the report. */
  location: string
  identity?: { subject: string; issuer: string }
}

/** What an attestation verifier is asked: the image and the authority's checks. */
export interface AttestationRequest {
  target: ImageTarget
  signatureRepository: SignatureRepository
  /** The per-authority verification options (trust, identities or key, thresholds). */
  options: VerifyImagesOptions
  attestations: readonly AttestationRef[]
}

/**
 * Verifies an image's attestations for one authority: every statement that
 * verified (any predicate type); the evaluator matches predicate types and
 * runs their policies. Plugged in by the adapter once attestations exist.
 */
export type AttestationVerifier = (
  request: AttestationRequest,
  deps: VerifyImagesDeps
) => Promise<VerifiedStatement[]>

export interface PolicyVerifyOptions {
  images: readonly string[]
  recursive: boolean
  concurrency: number
  /** The run's trusted root (trusted-root, or the public-good root). */
  trust: TrustMaterial
  policies: PolicySet
  noMatch: NoMatchPolicy
  skipUnsupportedPolicies: boolean
  /** Default signature repository (signature-repository / COSIGN_REPOSITORY). */
  signatureRepository?: string
  now?: Date
  imagesInputName?: string
  nameInput?: (input: string) => string
}

export interface PolicyVerifyDeps extends VerifyImagesDeps {
  attestationVerifier?: AttestationVerifier
}

export interface SignatureSummary {
  format: 'legacy' | 'bundle'
  location: string
  identity?: { subject: string; issuer: string }
  logIndex?: number
}

export interface AuthorityResult {
  name: string
  type: 'key' | 'keyless' | 'static'
  status: 'passed' | 'failed'
  code?: string
  reason?: string
  signatures?: SignatureSummary[]
  attestations?: { name: string; predicateType: string; location: string }[]
}

export interface PolicyResult {
  policy: string
  document: string
  mode: 'enforce' | 'warn'
  status: Status
  reason?: string
  authorities: AuthorityResult[]
  /** Settings ignored in CI, and policies skipped with a warning. */
  notes: string[]
}

export interface ImagePolicyResult {
  input: string
  reference: string
  digest: string
  platform?: string
  status: Status
  /** Set when no policy matched the image. */
  noMatch?: NoMatchPolicy
  policies: PolicyResult[]
  error?: AppError
}

export interface PolicyVerifyResult {
  ok: boolean
  images: ImagePolicyResult[]
}

const fail = (
  a: Authority,
  type: AuthorityResult['type'],
  code: string,
  reason: string
): AuthorityResult => ({ name: a.name, type, status: 'failed', code, reason })

/** Go regexp MatchString is a search; our matchers take the whole value. */
const search = (re: string): string => `[\\s\\S]*?(?:${re})[\\s\\S]*`

function identityPolicy(id: Identity): VerificationPolicy {
  return {
    identity: id.subject
      ? { exact: id.subject }
      : { regexp: search(id.subjectRegExp ?? '') },
    issuer: id.issuer
      ? { exact: id.issuer }
      : { regexp: search(id.issuerRegExp ?? '') }
  }
}

interface AuthorityPlan {
  options: VerifyImagesOptions
  where: SignatureRepository
}

class PlanError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

function trustRootOf(
  set: PolicySet,
  ref: string,
  field: string
): TrustMaterial {
  const doc = set.trustRoots.get(ref)
  if (!doc)
    throw new PlanError(
      'POLICY_TRUST_ROOT_MISSING',
      `${field} names TrustRoot "${ref}", which was not given; pass its document alongside the policy`
    )
  try {
    return trustMaterialOf(doc)
  } catch (e) {
    throw new PlanError(
      'POLICY_TRUST_ROOT_UNUSABLE',
      `TrustRoot "${ref}": ${e instanceof Error ? e.message : String(e)}`
    )
  }
}

/** The verification options one authority stands for, or why it cannot be honoured. */
/** Public keys of key.kms authorities: one KMS request per key and run. */
const kmsKeys = new WeakMap<object, Map<string, Promise<string>>>()
function kmsPublicKey(uri: string, deps: PolicyVerifyDeps): Promise<string> {
  let keys = kmsKeys.get(deps)
  if (!keys) kmsKeys.set(deps, (keys = new Map()))
  let key = keys.get(uri)
  if (!key) {
    key = publicKeyOfKms(uri, deps)
    keys.set(uri, key)
  }
  return key
}

function planAuthority(
  a: Authority,
  target: ImageTarget,
  o: PolicyVerifyOptions
): AuthorityPlan {
  const base: VerifyImagesOptions = {
    images: [],
    recursive: false,
    concurrency: o.concurrency,
    trust: o.trust,
    policy: {},
    annotations: {},
    ...(o.now ? { now: o.now } : {})
  }
  // Where the signatures are: source[0].oci, else the run's default.
  let where = signatureLocator(o.signatureRepository)(target)
  const src = a.source?.[0]
  if (src) {
    if (src.signaturePullSecrets?.length)
      throw new PlanError(
        'POLICY_UNSUPPORTED_FIELD',
        'source.signaturePullSecrets names Kubernetes Secrets, which do not exist in CI; log in to that registry before this step (docker login, or registry-username/registry-password) and remove signaturePullSecrets from the copy given to sigil'
      )
    if (src.tagPrefix)
      throw new PlanError(
        'POLICY_UNSUPPORTED_FIELD',
        `source.tagPrefix ("${src.tagPrefix}") is not supported: sigil reads signatures at cosign's default tags (sha256-<hex>.sig) and bundle referrers`
      )
    if (src.oci) {
      if (!src.oci.includes('/'))
        throw new PlanError(
          'POLICY_UNSUPPORTED_FIELD',
          `source.oci "${src.oci}" names a registry without a repository; give registry/repository`
        )
      where = signatureLocator(src.oci)(target)
    }
  }
  const bundle = a.signatureFormat === 'bundle'
  if (bundle && !a.keyless)
    throw new PlanError(
      'POLICY_UNSUPPORTED_FIELD',
      'signatureFormat: bundle is only supported for keyless authorities (as in policy-controller)'
    )
  const options: VerifyImagesOptions = {
    ...base,
    formats: [bundle ? 'bundle' : 'legacy']
  }
  // Transparency log keys: ctlog.trustRootRef, else the run's trusted root.
  let trust = o.trust
  if (a.ctlog?.trustRootRef)
    trust = {
      ...trust,
      tlogs: trustRootOf(o.policies, a.ctlog.trustRootRef, 'ctlog.trustRootRef')
        .tlogs,
      tlogsById: trustRootOf(
        o.policies,
        a.ctlog.trustRootRef,
        'ctlog.trustRootRef'
      ).tlogsById
    }
  if (a.key) {
    if (a.key.secretRef)
      throw new PlanError(
        'POLICY_UNSUPPORTED_FIELD',
        `key.secretRef names Kubernetes Secret "${a.key.secretRef.name ?? ''}", which does not exist in CI; inline the public key as key.data (kubectl get secret ${a.key.secretRef.name ?? 'NAME'} -o jsonpath='{.data.cosign\\.pub}' | base64 -d)`
      )
    if (a.key.hashAlgorithm && a.key.hashAlgorithm !== 'sha256')
      throw new PlanError(
        'POLICY_UNSUPPORTED_FIELD',
        `key.hashAlgorithm ${a.key.hashAlgorithm} is not supported: sigil verifies key signatures made over SHA-256 (cosign's default)`
      )
    // key.kms: the public key is fetched from the KMS when evaluated.
    if (a.key.kms) options.kmsKey = a.key.kms
    else options.publicKey = a.key.data ?? ''
    // policy-controller: no ctlog → the log is not consulted at all.
    if (!a.ctlog) options.insecureIgnoreTlog = true
  }
  if (a.keyless) {
    if (a.keyless.trustRootRef) {
      const tr = trustRootOf(
        o.policies,
        a.keyless.trustRootRef,
        'keyless.trustRootRef'
      )
      trust = {
        ...trust,
        certificateAuthorities: tr.certificateAuthorities,
        ctlogs: tr.ctlogs,
        ctlogsById: tr.ctlogsById
      }
    } else if (a.keyless.caCert) {
      if (!a.keyless.caCert.data)
        throw new PlanError(
          'POLICY_UNSUPPORTED_FIELD',
          'keyless.ca-cert must give the CA certificates inline as data (secretRef and kms have no meaning in CI)'
        )
      trust = caCertTrust(a.keyless.caCert.data, trust)
    }
    options.anyPolicy = a.keyless.identities.map(identityPolicy)
    if (a.keyless.insecureIgnoreSCT) options.ctlogThreshold = 0
  }
  if (a.rfc3161timestamp?.trustRootRef) {
    const tr = trustRootOf(
      o.policies,
      a.rfc3161timestamp.trustRootRef,
      'rfc3161timestamp.trustRootRef'
    )
    trust = { ...trust, timestampAuthorities: tr.timestampAuthorities }
    // policy-controller: with a TSA the log is not required, a timestamp is.
    options.insecureIgnoreTlog = true
    options.timestampThreshold = 1
  }
  options.trust = trust
  return { options, where }
}

function kindOf(a: Authority): AuthorityResult['type'] {
  return a.static ? 'static' : a.key ? 'key' : 'keyless'
}

function summarize(c: CandidateReport): SignatureSummary {
  return {
    format: c.format,
    location: c.location,
    ...(c.identity ? { identity: c.identity } : {}),
    ...(c.logIndex !== undefined ? { logIndex: c.logIndex } : {})
  }
}

async function evaluateAuthority(
  a: Authority,
  target: ImageTarget,
  o: PolicyVerifyOptions,
  deps: PolicyVerifyDeps
): Promise<AuthorityResult> {
  const type = kindOf(a)
  if (a.static) {
    return a.static.action === 'pass'
      ? { name: a.name, type, status: 'passed', reason: 'static: pass' }
      : fail(
          a,
          type,
          'POLICY_STATIC_FAIL',
          `disallowed by static policy${a.static.message ? `: ${a.static.message}` : ''}`
        )
  }
  let plan: AuthorityPlan
  try {
    plan = planAuthority(a, target, o)
  } catch (e) {
    if (e instanceof PlanError) return fail(a, type, e.code, e.message)
    throw e
  }
  if (plan.options.kmsKey) {
    const uri = plan.options.kmsKey
    try {
      const publicKey = await kmsPublicKey(uri, deps)
      const { kmsKey: _resolved, ...rest } = plan.options
      plan = { ...plan, options: { ...rest, publicKey } }
    } catch (e) {
      const err = e instanceof AppError ? e : undefined
      return fail(
        a,
        type,
        err?.code ?? 'KMS_PUBLIC_KEY_FAILED',
        `key.kms ${uri}: ${e instanceof Error ? e.message : String(e)}${err?.remedy ? ` (${err.remedy})` : ''}`
      )
    }
  }
  if (a.attestations.length > 0) {
    return evaluateAttestations(a, type, target, plan, o, deps)
  }
  const r = await verifyImageTarget(target, plan.options, deps, plan.where)
  const signatures = r.candidates.filter(c => c.ok).map(summarize)
  if (r.verified) return { name: a.name, type, status: 'passed', signatures }
  const format = plan.options.formats?.[0]
  return fail(
    a,
    type,
    r.error?.code ?? 'NO_MATCHING_SIGNATURES',
    `${r.error?.message ?? 'no valid signature'}${format === 'legacy' ? ' (this authority reads legacy .sig signatures; set signatureFormat: bundle for bundle referrers)' : ''}`
  )
}

async function evaluateAttestations(
  a: Authority,
  type: AuthorityResult['type'],
  target: ImageTarget,
  plan: AuthorityPlan,
  o: PolicyVerifyOptions,
  deps: PolicyVerifyDeps
): Promise<AuthorityResult> {
  if (!deps.attestationVerifier) {
    return fail(
      a,
      type,
      'POLICY_ATTESTATIONS_NOT_EVALUATED',
      `attestation authorities are not yet evaluated by sigil (${a.attestations.map(t => `"${t.name}" ${t.predicateType}`).join(', ')}); nothing was checked for this authority`
    )
  }
  const statements = await deps.attestationVerifier(
    {
      target,
      signatureRepository: plan.where,
      options: plan.options,
      attestations: a.attestations
    },
    deps
  )
  if (statements.length === 0)
    return fail(
      a,
      type,
      'POLICY_NO_ATTESTATIONS',
      `no matching attestations for authority ${a.name}`
    )
  const matched: NonNullable<AuthorityResult['attestations']> = []
  for (const want of a.attestations) {
    const candidates = statements.filter(s =>
      predicateTypeMatches(want.predicateType, s.predicateType)
    )
    if (candidates.length === 0)
      return fail(
        a,
        type,
        'POLICY_NO_ATTESTATIONS',
        `no verified attestation of predicate type ${want.predicateType} (found: ${[...new Set(statements.map(s => s.predicateType))].join(', ')})`
      )
    let reason: string | undefined
    const ok = candidates.filter(s => {
      if (!want.policy) return true
      const v = evaluatePredicatePolicy(want.policy, s.statement, {
        label: `attestations "${want.name}" policy of authority ${a.name}`,
        checked: `the ${want.predicateType} attestation's signature`
      })
      if (v.outcome === 'passed') return true
      if (v.outcome === 'unsupported' && o.skipUnsupportedPolicies) {
        deps.logger.warn(`${v.reason} (skip-unsupported-policies)`)
        return true
      }
      reason ??=
        v.outcome === 'unsupported' ? `${v.reason}. Fix: ${v.fix}` : v.reason
      return false
    })
    if (ok.length === 0)
      return fail(
        a,
        type,
        'POLICY_ATTESTATION_POLICY_FAILED',
        reason ?? 'failed'
      )
    for (const s of ok)
      matched.push({
        name: want.name,
        predicateType: s.predicateType,
        location: s.location
      })
  }
  return { name: a.name, type, status: 'passed', attestations: matched }
}

// cosign's short names for predicate types (options.PredicateTypeMap).
const PREDICATE_TYPES: Record<string, string> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns'
}

export function predicateTypeMatches(want: string, got: string): boolean {
  return (PREDICATE_TYPES[want] ?? want) === got
}

/** policy-controller's input to spec.policy (PolicyResult JSON). */
function specPolicyInput(authorities: AuthorityResult[]): unknown {
  return {
    authorityMatches: Object.fromEntries(
      authorities
        .filter(a => a.status === 'passed')
        .map(a => [
          a.name,
          a.type === 'static'
            ? { static: true }
            : a.attestations
              ? { attestations: a.attestations }
              : { signatures: a.signatures ?? [] }
        ])
    )
  }
}

async function evaluatePolicy(
  p: ClusterImagePolicy,
  target: ImageTarget,
  o: PolicyVerifyOptions,
  deps: PolicyVerifyDeps
): Promise<PolicyResult> {
  const authorities: AuthorityResult[] = []
  for (const a of p.authorities)
    authorities.push(await evaluateAuthority(a, target, o, deps))
  const notes = p.ignored.map(n => `ignored in CI: ${n}`)
  const result = (
    status: 'passed' | 'failed',
    reason?: string
  ): PolicyResult => ({
    policy: p.name,
    document: p.document,
    mode: p.mode,
    status: status === 'failed' && p.mode === 'warn' ? 'warned' : status,
    ...(reason ? { reason } : {}),
    authorities,
    notes
  })
  const passed = authorities.filter(a => a.status === 'passed')
  if (passed.length === 0) {
    return result(
      'failed',
      p.authorities.length === 0
        ? 'the policy has no authorities'
        : `no authority passed: ${authorities.map(a => `${a.name}: ${a.reason ?? a.code ?? 'failed'}`).join('; ')}`
    )
  }
  if (p.policy) {
    const v = evaluatePredicatePolicy(p.policy, specPolicyInput(authorities), {
      label: `spec.policy of ClusterImagePolicy "${p.name}"`,
      checked: `authorities ${passed.map(a => a.name).join(', ')}`
    })
    if (v.outcome === 'failed') return result('failed', v.reason)
    if (v.outcome === 'unsupported') {
      if (!o.skipUnsupportedPolicies)
        return result('failed', `${v.reason}. Fix: ${v.fix}`)
      notes.push(`skipped (skip-unsupported-policies): ${v.reason}`)
      deps.logger.warn(`${v.reason} (skip-unsupported-policies)`)
    }
  }
  return result('passed')
}

function imageError(
  reference: string,
  policies: PolicyResult[]
): PolicyDeniedError {
  const failed = policies.filter(p => p.status === 'failed')
  return new PolicyDeniedError(
    'POLICY_DENIED',
    `${reference} is denied by ${failed.length === 1 ? 'ClusterImagePolicy' : `${failed.length} ClusterImagePolicies:`} ${failed.map(p => `"${p.policy}" (${p.reason ?? 'failed'})`).join('; ')}`,
    {
      remedy:
        'Every policy whose images globs match the image must pass; within a policy, one authority must. The per-authority reasons above say what to sign or change.'
    }
  )
}

export async function verifyImagesWithPolicies(
  o: PolicyVerifyOptions,
  deps: PolicyVerifyDeps
): Promise<PolicyVerifyResult> {
  const targets = await resolveTargets(
    {
      images: o.images,
      recursive: o.recursive,
      concurrency: o.concurrency,
      inputName: o.imagesInputName ?? o.nameInput?.('images') ?? 'images'
    },
    deps.registryFor,
    deps.logger
  )
  const images = await mapLimit(targets, o.concurrency, async target => {
    const digest = target.descriptor.digest
    const reference = `${target.ref.registry}/${target.ref.repository}@${digest}`
    const names = [target.parent ?? target.input, reference]
    const matching = o.policies.policies.filter(p =>
      p.globs.some(g => globMatches(g, names))
    )
    const base = {
      input: target.input,
      reference,
      digest,
      ...(target.platform ? { platform: target.platform } : {})
    }
    if (matching.length === 0) {
      const status: Status =
        o.noMatch === 'allow'
          ? 'passed'
          : o.noMatch === 'warn'
            ? 'warned'
            : 'failed'
      const message = `no ClusterImagePolicy matches ${target.input} (${reference})`
      if (status === 'failed')
        deps.logger.info(`${reference}: ${message}; no-match is deny`)
      else deps.logger.warn(`${message}; no-match is ${o.noMatch}`)
      return {
        ...base,
        status,
        noMatch: o.noMatch,
        policies: [],
        ...(status === 'failed'
          ? {
              error: new PolicyDeniedError('POLICY_NO_MATCH', message, {
                remedy: `Add a policy whose spec.images globs match it, or set ${o.nameInput?.('no-match') ?? 'no-match'} to allow or warn.`
              })
            }
          : {})
      } satisfies ImagePolicyResult
    }
    const policies: PolicyResult[] = []
    for (const p of matching) {
      const r = await evaluatePolicy(p, target, o, deps)
      policies.push(r)
      const line = `${reference}: ClusterImagePolicy "${p.name}" ${r.status}${r.reason ? `: ${r.reason}` : ''}`
      if (r.status === 'warned') deps.logger.warn(line)
      else deps.logger.info(line)
      for (const n of r.notes)
        deps.logger.info(`${reference}: "${p.name}": ${n}`)
    }
    const status: Status = policies.some(p => p.status === 'failed')
      ? 'failed'
      : policies.some(p => p.status === 'warned')
        ? 'warned'
        : 'passed'
    return {
      ...base,
      status,
      policies,
      ...(status === 'failed' ? { error: imageError(reference, policies) } : {})
    } satisfies ImagePolicyResult
  })
  return { ok: images.every(i => i.status !== 'failed'), images }
}

/** The error to fail with: the first denied image's reason. */
export function policyFailure(
  result: PolicyVerifyResult
): AppError | undefined {
  const failed = result.images.filter(i => i.status === 'failed')
  const first = failed[0]?.error
  if (!first || failed.length === 1) return first
  return new PolicyDeniedError(
    first.code,
    `${failed.length} of ${result.images.length} images are denied by the policies; first: ${first.message}`,
    { cause: first, ...(first.remedy ? { remedy: first.remedy } : {}) }
  )
}

export function toPolicyResultJson(result: PolicyVerifyResult): object {
  return {
    ok: result.ok,
    images: result.images.map(({ error, ...i }) => ({
      ...i,
      ...(error ? { error: { code: error.code, message: error.message } } : {})
    }))
  }
}
