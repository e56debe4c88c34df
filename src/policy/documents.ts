// ClusterImagePolicy and TrustRoot documents (policy.sigstore.dev v1alpha1 /
// v1beta1), checked the way policy-controller's admission webhook checks them
// (pkg/apis/policy/*/clusterimagepolicy_validation.go, common/validation.go)
// plus the CRD schema's field names and types, and turned into typed values.
// Nothing here does I/O.
import type { PolicyIssue } from './errors.ts'
import { compileGlob } from './glob.ts'

export const API_GROUP = 'policy.sigstore.dev'
const CIP_VERSIONS = ['v1alpha1', 'v1beta1']

export interface KeyRef {
  data?: string
  kms?: string
  secretRef?: { name?: string; namespace?: string }
  hashAlgorithm?: string
}

export interface Identity {
  issuer?: string
  subject?: string
  issuerRegExp?: string
  subjectRegExp?: string
}

export interface PredicatePolicy {
  type: string
  data?: string
  remote?: { url?: string; sha256sum?: string }
  configMapRef?: { name?: string; namespace?: string; key?: string }
  fetchConfigFile?: boolean
  includeSpec?: boolean
  includeObjectMeta?: boolean
  includeTypeMeta?: boolean
}

export interface AttestationRef {
  name: string
  predicateType: string
  policy?: PredicatePolicy
}

export interface Authority {
  /** As written, or policy-controller's default `authority-<index>`. */
  name: string
  key?: KeyRef
  keyless?: {
    url?: string
    identities: Identity[]
    caCert?: KeyRef
    trustRootRef?: string
    insecureIgnoreSCT?: boolean
  }
  static?: { action: 'pass' | 'fail'; message?: string }
  source?: {
    oci?: string
    tagPrefix?: string
    signaturePullSecrets?: { name?: string }[]
  }[]
  ctlog?: { url?: string; trustRootRef?: string }
  attestations: AttestationRef[]
  rfc3161timestamp?: { trustRootRef?: string }
  signatureFormat?: string
}

export interface ClusterImagePolicy {
  kind: 'ClusterImagePolicy'
  apiVersion: string
  name: string
  /** Where it came from, for messages: `file#n (ClusterImagePolicy "name")`. */
  document: string
  globs: string[]
  authorities: Authority[]
  policy?: PredicatePolicy
  mode: 'enforce' | 'warn'
  /** Kubernetes-only settings that have no meaning in CI (reported as notes). */
  ignored: string[]
}

export interface TrustRootDocument {
  kind: 'TrustRoot'
  name: string
  document: string
  spec: Record<string, unknown>
}

export type PolicyDocument = ClusterImagePolicy | TrustRootDocument

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

// The CRD schema: the fields each object may have and their JSON types.
type FieldType = 'string' | 'boolean' | 'object' | 'array' | 'any'
const SCHEMA: Record<string, Record<string, FieldType>> = {
  cip: {
    apiVersion: 'string',
    kind: 'string',
    metadata: 'object',
    spec: 'object',
    status: 'any'
  },
  spec: {
    images: 'array',
    authorities: 'array',
    policy: 'object',
    mode: 'string',
    match: 'array'
  },
  image: { glob: 'string' },
  authority: {
    name: 'string',
    key: 'object',
    keyless: 'object',
    static: 'object',
    source: 'array',
    ctlog: 'object',
    attestations: 'array',
    rfc3161timestamp: 'object',
    signatureFormat: 'string'
  },
  key: {
    secretRef: 'object',
    data: 'string',
    kms: 'string',
    hashAlgorithm: 'string'
  },
  secretRef: { name: 'string', namespace: 'string' },
  keyless: {
    url: 'string',
    identities: 'array',
    'ca-cert': 'object',
    trustRootRef: 'string',
    insecureIgnoreSCT: 'boolean'
  },
  identity: {
    issuer: 'string',
    subject: 'string',
    issuerRegExp: 'string',
    subjectRegExp: 'string'
  },
  static: { action: 'string', message: 'string' },
  source: {
    oci: 'string',
    signaturePullSecrets: 'array',
    tagPrefix: 'string'
  },
  pullSecret: { name: 'string' },
  ctlog: { url: 'string', trustRootRef: 'string' },
  attestation: { name: 'string', predicateType: 'string', policy: 'object' },
  rfc3161timestamp: { trustRootRef: 'string' },
  policy: {
    type: 'string',
    data: 'string',
    remote: 'object',
    configMapRef: 'object',
    fetchConfigFile: 'boolean',
    includeSpec: 'boolean',
    includeObjectMeta: 'boolean',
    includeTypeMeta: 'boolean'
  },
  remote: { url: 'string', sha256sum: 'string' },
  configMapRef: { name: 'string', namespace: 'string', key: 'string' },
  match: {
    group: 'string',
    version: 'string',
    resource: 'string',
    selector: 'object'
  },
  trustRootSpec: {
    remote: 'object',
    repository: 'object',
    sigstoreKeys: 'object'
  }
}

// policy-controller's deprecated short predicate types (cosign attest --type).
export const SHORT_PREDICATE_TYPES = [
  'custom',
  'slsaprovenance',
  'spdx',
  'spdxjson',
  'cyclonedx',
  'link',
  'vuln'
]

const HASH_ALGORITHMS = ['sha224', 'sha256', 'sha384', 'sha512']
const KMS_SCHEMES = ['awskms://', 'azurekms://', 'hashivault://', 'gcpkms://']

// Patterns RE2 (Go's regexp, which policy-controller uses) rejects, and
// JavaScript would accept: backreferences and lookaround.
const NOT_RE2 = /\\[1-9]|\(\?<?[=!]/

class Checker {
  readonly issues: PolicyIssue[] = []
  readonly document: string
  constructor(document: string) {
    this.document = document
  }
  error(path: string, message: string, fix?: string): void {
    this.issues.push({
      level: 'error',
      document: this.document,
      path,
      message,
      ...(fix ? { fix } : {})
    })
  }
  warn(path: string, message: string, fix?: string): void {
    this.issues.push({
      level: 'warning',
      document: this.document,
      path,
      message,
      ...(fix ? { fix } : {})
    })
  }
  /** Unknown fields and wrong JSON types, as the CRD schema rejects them. */
  shape(o: Json, schema: string, path: string): void {
    const fields = SCHEMA[schema] ?? {}
    for (const [k, v] of Object.entries(o)) {
      const t = fields[k]
      const at = path ? `${path}.${k}` : k
      if (t === undefined) {
        const near = Object.keys(fields).find(
          f => f.toLowerCase() === k.toLowerCase()
        )
        this.error(
          at,
          `unknown field "${k}"`,
          near
            ? `the field is spelled "${near}"`
            : `remove it; the fields here are ${Object.keys(fields).join(', ')}`
        )
        continue
      }
      if (v === null || t === 'any') continue
      const ok =
        t === 'string'
          ? typeof v === 'string'
          : t === 'boolean'
            ? typeof v === 'boolean'
            : t === 'array'
              ? Array.isArray(v)
              : isObj(v)
      if (!ok)
        this.error(
          at,
          `must be ${t === 'array' ? 'a list' : t === 'object' ? 'a mapping' : `a ${t}`}, got ${JSON.stringify(v)}`,
          t === 'string' && typeof v !== 'object'
            ? `quote the value: ${k}: "${String(v)}"`
            : undefined
        )
    }
  }
}

function str(o: Json | undefined, k: string): string | undefined {
  const v = o?.[k]
  return typeof v === 'string' && v !== '' ? v : undefined
}
function bool(o: Json | undefined, k: string): boolean | undefined {
  const v = o?.[k]
  return typeof v === 'boolean' ? v : undefined
}
function objs(o: Json | undefined, k: string): Json[] {
  const v = o?.[k]
  return Array.isArray(v) ? v.map(x => (isObj(x) ? x : {})) : []
}
function obj(o: Json | undefined, k: string): Json | undefined {
  const v = o?.[k]
  return isObj(v) ? v : undefined
}

/** Whether a PEM block of a public key parses (cryptoutils.UnmarshalPEMToPublicKey). */
export type PublicKeyCheck = (pem: string) => boolean
/** Whether a PEM certificate chain parses. */
export type CertificateCheck = (pem: string) => boolean

export interface CheckDeps {
  publicKeyOk: PublicKeyCheck
  certificatesOk: CertificateCheck
}

function validateRegexp(c: Checker, path: string, pattern: string): void {
  if (NOT_RE2.test(pattern)) {
    c.error(
      path,
      `uses a backreference or lookaround, which Go's RE2 (policy-controller) rejects: ${JSON.stringify(pattern)}`,
      'rewrite the pattern without \\1-\\9, (?=, (?!, (?<= or (?<!'
    )
    return
  }
  try {
    new RegExp(pattern)
  } catch (e) {
    c.error(
      path,
      `regex is invalid: ${e instanceof Error ? e.message : String(e)}`,
      'write an RE2 regular expression, e.g. ^https://github\\.com/ORG/REPO/'
    )
  }
}

function validateKeyRef(
  c: Checker,
  k: Json,
  path: string,
  deps: CheckDeps,
  what: 'key' | 'ca-cert'
): KeyRef {
  c.shape(k, 'key', path)
  const data = str(k, 'data')
  const kms = str(k, 'kms')
  const secretRef = obj(k, 'secretRef')
  if (secretRef) c.shape(secretRef, 'secretRef', `${path}.secretRef`)
  const hashAlgorithm = str(k, 'hashAlgorithm')
  if (!data && !kms && !secretRef)
    c.error(
      path,
      'expected exactly one, got neither: data, kms, secretRef',
      'inline the PEM under data: |'
    )
  if (
    hashAlgorithm !== undefined &&
    !HASH_ALGORITHMS.includes(hashAlgorithm.trim().toLowerCase())
  )
    c.error(
      `${path}.hashAlgorithm`,
      `invalid value "${hashAlgorithm}"`,
      `use one of ${HASH_ALGORITHMS.join(', ')}`
    )
  if (data) {
    if (kms || secretRef)
      c.error(path, 'expected exactly one, got both: data, kms, secretRef')
    const ok =
      what === 'key' ? deps.publicKeyOk(data) : deps.certificatesOk(data)
    if (!ok)
      c.error(
        `${path}.data`,
        what === 'key'
          ? 'invalid value: not a PEM public key'
          : 'invalid value: not a PEM certificate chain',
        what === 'key'
          ? 'paste the whole -----BEGIN PUBLIC KEY----- block (cosign.pub)'
          : 'paste the CA certificates as -----BEGIN CERTIFICATE----- blocks'
      )
  } else if (kms && secretRef)
    c.error(path, 'expected exactly one, got both: data, kms, secretRef')
  if (kms && !KMS_SCHEMES.some(s => kms.startsWith(s)))
    c.error(
      `${path}.kms`,
      `malformed KMS format, should be prefixed by any of the supported providers: ${KMS_SCHEMES.join(' ')}`
    )
  return {
    ...(data ? { data } : {}),
    ...(kms ? { kms } : {}),
    ...(secretRef
      ? {
          secretRef: {
            ...(str(secretRef, 'name') ? { name: str(secretRef, 'name') } : {}),
            ...(str(secretRef, 'namespace')
              ? { namespace: str(secretRef, 'namespace') }
              : {})
          }
        }
      : {}),
    ...(hashAlgorithm ? { hashAlgorithm: hashAlgorithm.toLowerCase() } : {})
  }
}

function validatePolicy(
  c: Checker,
  p: Json,
  path: string,
  withinSpec: boolean
): PredicatePolicy {
  c.shape(p, 'policy', path)
  const type = str(p, 'type') ?? ''
  if (type !== 'cue' && type !== 'rego')
    c.error(
      `${path}.type`,
      `invalid value "${type}": only [cue,rego] are supported at the moment`,
      'type: cue or type: rego'
    )
  const data = str(p, 'data')
  const remote = obj(p, 'remote')
  const configMapRef = obj(p, 'configMapRef')
  const n = [data, remote, configMapRef].filter(x => x !== undefined).length
  if (n === 0)
    c.error(path, 'missing field(s): data, configMapRef, remote', 'data: |')
  if (n > 1)
    c.error(path, 'expected exactly one, got more: data, configMapRef, remote')
  if (remote) {
    c.shape(remote, 'remote', `${path}.remote`)
    let u: URL | undefined
    try {
      u = new URL(str(remote, 'url') ?? '')
    } catch {
      u = undefined
    }
    if (!u || u.protocol !== 'https:' || !u.host)
      c.error(
        `${path}.remote.url`,
        'url valid is invalid. host and https scheme are expected'
      )
    if (!str(remote, 'sha256sum'))
      c.error(`${path}.remote.sha256sum`, 'missing field(s)')
  }
  if (configMapRef) {
    c.shape(configMapRef, 'configMapRef', `${path}.configMapRef`)
    if (!str(configMapRef, 'name'))
      c.error(`${path}.configMapRef.name`, 'missing field(s)')
    if (!str(configMapRef, 'key'))
      c.error(`${path}.configMapRef.key`, 'missing field(s)')
  }
  const flags = [
    'fetchConfigFile',
    'includeSpec',
    'includeObjectMeta',
    'includeTypeMeta'
  ] as const
  const out: PredicatePolicy = { type }
  for (const f of flags) {
    const v = bool(p, f)
    if (p[f] !== undefined && p[f] !== null && !withinSpec)
      c.error(
        `${path}.${f}`,
        'must not set the field(s): only spec.policy may set it',
        `remove ${f}`
      )
    if (v !== undefined) out[f] = v
  }
  if (data) out.data = data
  if (remote)
    out.remote = {
      ...(str(remote, 'url') ? { url: str(remote, 'url') } : {}),
      ...(str(remote, 'sha256sum')
        ? { sha256sum: str(remote, 'sha256sum') }
        : {})
    }
  if (configMapRef)
    out.configMapRef = Object.fromEntries(
      ['name', 'namespace', 'key']
        .filter(k => str(configMapRef, k))
        .map(k => [k, str(configMapRef, k)])
    )
  return out
}

function validateOci(oci: string): string | undefined {
  // go-containerregistry StrictValidation: registry[/repository].
  const [first = '', rest] = ((): [string, string | undefined] => {
    const i = oci.indexOf('/')
    return i < 0 ? [oci, undefined] : [oci.slice(0, i), oci.slice(i + 1)]
  })()
  if (
    !/^[a-zA-Z0-9.-]+(?::\d+)?$/.test(first) &&
    !/^\[[0-9a-f:]+\](?::\d+)?$/i.test(first)
  )
    return `registry ${JSON.stringify(first)} is not a valid host[:port]`
  if (rest === undefined) return undefined
  if (!(first.includes('.') || first.includes(':')))
    return 'the first component must be a registry host (with a dot or a port)'
  for (const part of rest.split('/')) {
    if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(part))
      return `repository component ${JSON.stringify(part)} must be lower-case letters and digits, separated by ".", "_", "__" or "-"`
  }
  return undefined
}

function validateAuthority(
  c: Checker,
  a: Json,
  path: string,
  index: number,
  deps: CheckDeps
): Authority {
  c.shape(a, 'authority', path)
  const key = obj(a, 'key')
  const keyless = obj(a, 'keyless')
  const stat = obj(a, 'static')
  const out: Authority = {
    name: str(a, 'name') ?? `authority-${index}`,
    attestations: []
  }
  const n = [key, keyless, stat].filter(Boolean).length
  if (n === 0) {
    c.error(
      path,
      'expected exactly one, got neither: key, keyless, static',
      'add key: {data: …}, keyless: {url: …, identities: […]} or static: {action: pass}'
    )
    return out
  }
  if (n > 1) {
    c.error(
      path,
      'expected exactly one, got both: key, keyless, static',
      'split it into one authority per key, keyless or static'
    )
    return out
  }
  if (key) out.key = validateKeyRef(c, key, `${path}.key`, deps, 'key')
  if (keyless) {
    const kp = `${path}.keyless`
    c.shape(keyless, 'keyless', kp)
    const url = str(keyless, 'url')
    const ca = obj(keyless, 'ca-cert')
    if (url === undefined && ca === undefined) {
      // policy-controller defaults the URL to https://fulcio.sigstore.dev
    } else if (url !== undefined && ca !== undefined)
      c.error(kp, 'expected exactly one, got both: url, ca-cert')
    if (url !== undefined) {
      try {
        new URL(url)
      } catch {
        c.error(`${kp}.url`, `invalid value "${url}": not a URL`)
      }
    }
    const caCert = ca
      ? validateKeyRef(c, ca, `${kp}.ca-cert`, deps, 'ca-cert')
      : undefined
    const ids = objs(keyless, 'identities')
    if (ids.length === 0)
      c.error(
        `${kp}.identities`,
        'missing field(s)',
        'identities: [{issuer: https://token.actions.githubusercontent.com, subject: …}]'
      )
    const identities = ids.map((id, i) => {
      const ip = `${kp}.identities[${i}]`
      c.shape(id, 'identity', ip)
      const r: Identity = {}
      for (const f of [
        'issuer',
        'subject',
        'issuerRegExp',
        'subjectRegExp'
      ] as const) {
        const v = str(id, f)
        if (v !== undefined) r[f] = v
      }
      if (r.issuer && r.issuerRegExp)
        c.error(ip, 'expected exactly one, got both: issuer, issuerRegExp')
      if (r.subject && r.subjectRegExp)
        c.error(ip, 'expected exactly one, got both: subject, subjectRegExp')
      if (r.issuerRegExp)
        validateRegexp(c, `${ip}.issuerRegExp`, r.issuerRegExp)
      if (r.subjectRegExp)
        validateRegexp(c, `${ip}.subjectRegExp`, r.subjectRegExp)
      if (!r.subject && !r.subjectRegExp)
        c.error(
          ip,
          'missing field(s): subject, subjectRegExp',
          'subject: https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main'
        )
      if (!r.issuer && !r.issuerRegExp)
        c.error(
          ip,
          'missing field(s): issuer, issuerRegExp',
          'issuer: https://token.actions.githubusercontent.com'
        )
      return r
    })
    out.keyless = {
      ...(url !== undefined
        ? { url }
        : ca === undefined
          ? { url: 'https://fulcio.sigstore.dev' }
          : {}),
      identities,
      ...(caCert ? { caCert } : {}),
      ...(str(keyless, 'trustRootRef')
        ? { trustRootRef: str(keyless, 'trustRootRef') }
        : {}),
      ...(bool(keyless, 'insecureIgnoreSCT') !== undefined
        ? { insecureIgnoreSCT: bool(keyless, 'insecureIgnoreSCT') }
        : {})
    }
  }
  if (stat) {
    c.shape(stat, 'static', `${path}.static`)
    const action = str(stat, 'action')
    if (!action)
      c.error(`${path}.static.action`, 'missing field(s)', 'action: pass')
    else if (action !== 'pass' && action !== 'fail')
      c.error(
        `${path}.static.action`,
        `invalid value "${action}": unsupported action`,
        'action: pass or action: fail'
      )
    else
      out.static = {
        action,
        ...(str(stat, 'message') ? { message: str(stat, 'message') } : {})
      }
    for (const f of ['attestations', 'source', 'ctlog', 'rfc3161timestamp'])
      if (a[f] !== undefined && a[f] !== null)
        c.error(
          path,
          `expected exactly one, got both: static, ${f}`,
          `remove ${f}: a static authority checks nothing`
        )
  }
  const sources = objs(a, 'source')
  if (sources.length > 1)
    c.error(
      `${path}.source`,
      'invalid value: only single source is supported',
      'keep one source entry'
    )
  out.source = sources.map((s, i) => {
    const sp = `${path}.source[${i}]`
    c.shape(s, 'source', sp)
    const oci = str(s, 'oci')
    if (oci && sources.length === 1) {
      const why = validateOci(oci)
      if (why) c.error(`${sp}.oci`, `invalid value "${oci}": ${why}`)
    }
    const secrets = objs(s, 'signaturePullSecrets')
    secrets.forEach((p, j) => {
      c.shape(p, 'pullSecret', `${sp}.signaturePullSecrets[${j}]`)
      if (!str(p, 'name'))
        c.error(`${sp}.signaturePullSecrets[${j}].name`, 'missing field(s)')
    })
    const tagPrefix =
      typeof s['tagPrefix'] === 'string' ? s['tagPrefix'] : undefined
    return {
      ...(oci ? { oci } : {}),
      ...(tagPrefix !== undefined ? { tagPrefix } : {}),
      ...(secrets.length
        ? {
            signaturePullSecrets: secrets.map(p =>
              str(p, 'name') ? { name: str(p, 'name') } : {}
            )
          }
        : {})
    }
  })
  if (out.source.length === 0) delete out.source
  const ctlog = obj(a, 'ctlog')
  if (ctlog) {
    c.shape(ctlog, 'ctlog', `${path}.ctlog`)
    out.ctlog = {
      ...(str(ctlog, 'url') ? { url: str(ctlog, 'url') } : {}),
      ...(str(ctlog, 'trustRootRef')
        ? { trustRootRef: str(ctlog, 'trustRootRef') }
        : {})
    }
  }
  const tsa = obj(a, 'rfc3161timestamp')
  if (tsa) {
    c.shape(tsa, 'rfc3161timestamp', `${path}.rfc3161timestamp`)
    out.rfc3161timestamp = str(tsa, 'trustRootRef')
      ? { trustRootRef: str(tsa, 'trustRootRef') }
      : {}
  }
  const format = str(a, 'signatureFormat')
  if (format !== undefined) {
    out.signatureFormat = format
    if (format !== 'legacy' && format !== 'bundle')
      c.warn(
        `${path}.signatureFormat`,
        `"${format}" is neither legacy nor bundle; policy-controller reads it as legacy (the .sig tag), and so does sigil`,
        'signatureFormat: bundle (bundle referrers) or legacy'
      )
  }
  out.attestations = objs(a, 'attestations').map((t, i) => {
    const tp = `${path}.attestations[${i}]`
    c.shape(t, 'attestation', tp)
    const name = str(t, 'name') ?? ''
    if (!name) c.error(`${tp}.name`, 'missing field(s)', 'name: my-attestation')
    const predicateType = str(t, 'predicateType') ?? ''
    if (!predicateType)
      c.error(
        `${tp}.predicateType`,
        'missing field(s)',
        'predicateType: https://slsa.dev/provenance/v1 (the in-toto predicate type URI)'
      )
    else if (
      SHORT_PREDICATE_TYPES.includes(predicateType) ||
      !/^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$/.test(predicateType)
    )
      c.warn(
        `${tp}.predicateType`,
        `invalid value "${predicateType}": deprecated value, please use RFC 3986 conformant values`,
        SHORT_PREDICATE_TYPES.includes(predicateType)
          ? 'use the predicate type URI, e.g. https://spdx.dev/Document for spdxjson'
          : undefined
      )
    const p = obj(t, 'policy')
    return {
      name,
      predicateType,
      ...(p ? { policy: validatePolicy(c, p, `${tp}.policy`, false) } : {})
    }
  })
  return out
}

function describeDocument(where: string, kind: unknown, name: unknown): string {
  return `${where} (${typeof kind === 'string' ? kind : 'document'}${typeof name === 'string' ? ` "${name}"` : ''})`
}

export interface CheckedDocument {
  document?: PolicyDocument
  issues: PolicyIssue[]
}

/**
 * Checks one parsed YAML document. `where` names it (`file#n`). Returns the
 * typed document when it has no errors, and every issue found either way.
 */
export function checkDocument(
  raw: unknown,
  where: string,
  deps: CheckDeps
): CheckedDocument {
  const o = isObj(raw) ? raw : undefined
  const meta = obj(o, 'metadata')
  const name = str(meta, 'name')
  const document = describeDocument(where, o?.['kind'], name)
  const c = new Checker(document)
  if (!o) {
    c.error(
      '',
      'not a mapping: a ClusterImagePolicy or TrustRoot document is expected'
    )
    return { issues: c.issues }
  }
  const apiVersion = str(o, 'apiVersion') ?? ''
  const kind = str(o, 'kind') ?? ''
  const [group, version] = apiVersion.split('/')
  if (kind !== 'ClusterImagePolicy' && kind !== 'TrustRoot') {
    c.error(
      'kind',
      `${kind ? `"${kind}" is` : 'no kind:'} not a policy-controller document`,
      'pass only ClusterImagePolicy and TrustRoot documents (kind: ClusterImagePolicy)'
    )
    return { issues: c.issues }
  }
  const versions = kind === 'TrustRoot' ? ['v1alpha1'] : CIP_VERSIONS
  if (group !== API_GROUP || !versions.includes(version ?? '')) {
    c.error(
      'apiVersion',
      `${JSON.stringify(apiVersion)} is not a ${kind} version policy-controller serves`,
      `apiVersion: ${versions.map(v => `${API_GROUP}/${v}`).join(' or ')}`
    )
  }
  if (!name)
    c.error('metadata.name', 'missing field(s)', 'metadata: {name: my-policy}')
  const spec = obj(o, 'spec')
  if (!spec) {
    c.error('spec', 'missing field(s)')
    return { issues: c.issues }
  }
  if (kind === 'TrustRoot') {
    c.shape(o, 'cip', '')
    c.shape(spec, 'trustRootSpec', 'spec')
    const n = ['remote', 'repository', 'sigstoreKeys'].filter(k =>
      obj(spec, k)
    ).length
    if (n !== 1)
      c.error(
        'spec',
        `expected exactly one, got ${n === 0 ? 'neither' : 'both'}: remote, repository, sigstoreKeys`
      )
    const errors = c.issues.some(i => i.level === 'error')
    return {
      ...(errors
        ? {}
        : { document: { kind, name: name ?? '', document, spec } }),
      issues: c.issues
    }
  }
  c.shape(o, 'cip', '')
  c.shape(spec, 'spec', 'spec')
  const images = objs(spec, 'images')
  if (images.length === 0)
    c.error(
      'spec.images',
      'missing field(s)',
      'images: [{glob: "ghcr.io/org/**"}]'
    )
  const globs = images.map((img, i) => {
    const p = `spec.images[${i}]`
    c.shape(img, 'image', p)
    const g = str(img, 'glob')
    if (!g) {
      c.error(`${p}.glob`, 'missing field(s)', 'glob: "ghcr.io/org/**"')
      return ''
    }
    const re = compileGlob(g)
    if (typeof re === 'string')
      c.error(
        `${p}.glob`,
        `invalid value "${g}": glob is invalid: ${re}`,
        'use * (within one path component) and ** (across components), e.g. ghcr.io/org/**'
      )
    return g
  })
  const authorities = objs(spec, 'authorities').map((a, i) =>
    validateAuthority(c, a, `spec.authorities[${i}]`, i, deps)
  )
  const mode = str(spec, 'mode') ?? 'enforce'
  if (mode !== 'enforce' && mode !== 'warn')
    c.error(
      'spec.mode',
      `invalid value "${mode}": unsupported mode`,
      'mode: enforce or mode: warn'
    )
  const ignored: string[] = []
  objs(spec, 'match').forEach((m, i) => {
    const mp = `spec.match[${i}]`
    c.shape(m, 'match', mp)
    if (
      obj(m, 'selector') &&
      !str(m, 'resource') &&
      !str(m, 'version') &&
      !str(m, 'group')
    )
      c.error(
        `${mp}.selector`,
        'invalid value: selector requires a resource type to match the labels'
      )
  })
  if (objs(spec, 'match').length)
    ignored.push(
      'spec.match selects Kubernetes resources; in CI the policy applies to every image its globs match'
    )
  const p = obj(spec, 'policy')
  const policy = p ? validatePolicy(c, p, 'spec.policy', true) : undefined
  for (const f of [
    'includeSpec',
    'includeObjectMeta',
    'includeTypeMeta',
    'fetchConfigFile'
  ] as const) {
    if (policy?.[f])
      ignored.push(
        f === 'fetchConfigFile'
          ? 'spec.policy.fetchConfigFile: the image config is not given to spec.policy in CI'
          : `spec.policy.${f}: there is no Kubernetes resource in CI, so nothing is included`
      )
  }
  const errors = c.issues.some(i => i.level === 'error')
  return {
    ...(errors
      ? {}
      : {
          document: {
            kind: 'ClusterImagePolicy',
            apiVersion,
            name: name ?? '',
            document,
            globs,
            authorities,
            ...(policy ? { policy } : {}),
            mode: mode as 'enforce' | 'warn',
            ignored
          }
        }),
    issues: c.issues
  }
}
