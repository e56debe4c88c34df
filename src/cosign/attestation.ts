// in-toto attestations as cosign makes them: `--type` names → predicate type
// URIs, the predicate built from the predicate file (cosign's rules per type),
// and the statement around it. Spec: cosign-spec.md §2.1 (sigstore/cosign
// pkg/cosign/attestation/attestation.go, cmd/cosign/cli/options/predicate.go).
import { InputError, isObject, utf8 } from '../util/index.ts'
import { IN_TOTO_STATEMENT_V1, type InTotoStatement } from './payload.ts'

export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1'
export const COSIGN_CUSTOM_PREDICATE_TYPE =
  'https://cosign.sigstore.dev/attestation/v1'
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1'
export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2'

/** cosign's `--type` names and the predicate type URI each stands for. */
export const PREDICATE_TYPES: Readonly<Record<string, string>> = {
  custom: COSIGN_CUSTOM_PREDICATE_TYPE,
  slsaprovenance: SLSA_PROVENANCE_V02,
  slsaprovenance02: SLSA_PROVENANCE_V02,
  slsaprovenance1: SLSA_PROVENANCE_V1,
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns'
}

/** A `--type` value (name or absolute URI) → predicate type URI. */
export function resolvePredicateType(
  type: string,
  inputName = '--type'
): string {
  const named = PREDICATE_TYPES[type]
  if (named) return named
  let u: URL | undefined
  try {
    u = new URL(type)
  } catch {
    u = undefined
  }
  if (!u || !/^[a-z][a-z0-9+.-]*:$/.test(u.protocol)) {
    throw new InputError(
      'INPUT_INVALID_PREDICATE_TYPE',
      `${inputName} must be one of ${Object.keys(PREDICATE_TYPES).join(', ')} or an absolute URI, got ${JSON.stringify(type)}`
    )
  }
  return type
}

// Fields cosign requires before it accepts a SLSA predicate (the Go structs'
// non-omitempty JSON tags).
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  [SLSA_PROVENANCE_V02]: [
    'builder',
    'buildType',
    'invocation',
    'buildConfig',
    'metadata',
    'materials'
  ],
  [SLSA_PROVENANCE_V1]: ['buildDefinition', 'runDetails']
}

/**
 * The predicate for `type` from the predicate file's bytes, as cosign builds
 * it: `custom` wraps the text as {Data, Timestamp}; `spdx` keeps the text;
 * every other type must be JSON (SLSA with its required fields).
 */
export function buildPredicate(
  type: string,
  bytes: Uint8Array,
  now: Date,
  inputName = '--predicate'
): unknown {
  const text = new TextDecoder().decode(bytes)
  const predicateType = resolvePredicateType(type)
  if (predicateType === COSIGN_CUSTOM_PREDICATE_TYPE && type === 'custom') {
    return {
      Data: text,
      Timestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z')
    }
  }
  if (type === 'spdx') return text
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw new InputError(
      'INPUT_INVALID_PREDICATE',
      `${inputName} is not JSON, which predicate type ${predicateType} needs: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
  if (type !== 'spdxjson' && type !== 'cyclonedx' && !isObject(v)) {
    throw new InputError(
      'INPUT_INVALID_PREDICATE',
      `${inputName} must hold a JSON object for predicate type ${predicateType}`
    )
  }
  const missing = (REQUIRED[predicateType] ?? []).filter(
    f => !isObject(v) || !(f in v)
  )
  if (missing.length > 0) {
    throw new InputError(
      'INPUT_INVALID_PREDICATE',
      `${inputName} is not a ${predicateType} predicate: required field${missing.length === 1 ? '' : 's'} ${missing.join(', ')} missing`
    )
  }
  return v
}

export interface StatementSubject {
  name: string
  /** algorithm → lowercase hex */
  digest: Record<string, string>
}

/**
 * The statement bytes. Images: cosign attest's v0.1 statement (subject name
 * = the repository); files: a v1 statement (as actions/attest and
 * `gh attestation` expect).
 */
export function buildStatement(
  version: 'v0.1' | 'v1',
  subjects: readonly StatementSubject[],
  predicateType: string,
  predicate: unknown
): Uint8Array {
  const statement: InTotoStatement = {
    _type: version === 'v1' ? IN_TOTO_STATEMENT_V1 : IN_TOTO_STATEMENT_V01,
    subject: subjects.map(s => ({ name: s.name, digest: { ...s.digest } })),
    predicateType,
    predicate
  }
  return utf8(JSON.stringify(statement))
}
