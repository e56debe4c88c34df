// The two documents cosign signs for an image: the simple-signing payload of
// the legacy `.sig` format (byte-exact as cosign writes it, and strict enough
// for containers/image), and the in-toto v1 statement that cosign v3 wraps in
// DSSE for bundle referrers. Spec: cosign-spec.md §1.3, §3.2.
import { AppError, isObject } from '../util/index.ts'
import { COSIGN_SIGN_PREDICATE_TYPE } from './constants.ts'

/** Defined once, in constants.ts; re-exported for the payload's users. */
export { COSIGN_SIGN_PREDICATE_TYPE }
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature'
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1'

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string }
    image: { 'docker-manifest-digest': string }
    type: string
  }
  optional: Record<string, unknown> | null
}

/**
 * Go `encoding/json` string escaping: `<`, `>`, `&` (and U+2028/9) become
 * \u escapes, so our bytes equal cosign's for the same inputs.
 */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
}

function goJsonObject(o: Record<string, string>): string {
  const keys = Object.keys(o).sort()
  return `{${keys.map(k => `${goJsonString(k)}:${goJsonString(o[k] ?? '')}`).join(',')}}`
}

/** The payload bytes cosign signs (compact, Go struct order, no newline). */
export function buildSimpleSigningPayload(
  dockerReference: string,
  digest: string,
  annotations: Record<string, string> = {}
): Uint8Array {
  const optional =
    Object.keys(annotations).length === 0 ? 'null' : goJsonObject(annotations)
  const text =
    `{"critical":{"identity":{"docker-reference":${goJsonString(dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJsonString(digest)}},` +
    `"type":${goJsonString(SIMPLE_SIGNING_TYPE)}},"optional":${optional}}`
  return new TextEncoder().encode(text)
}

export class PayloadError extends AppError {}

/** Strict parse, with the shape containers/image demands. */
export function parseSimpleSigningPayload(
  bytes: Uint8Array
): SimpleSigningPayload {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw new PayloadError('PAYLOAD_INVALID', 'signed payload is not JSON', {
      cause: e
    })
  }
  const bad = (why: string): never => {
    throw new PayloadError(
      'PAYLOAD_INVALID',
      `signed payload is not a cosign simple-signing document: ${why}`
    )
  }
  if (!isObject(v)) return bad('not an object')
  const critical = v.critical
  if (!isObject(critical)) return bad('missing "critical"')
  const image = critical.image
  const identity = critical.identity
  if (!isObject(image) || typeof image['docker-manifest-digest'] !== 'string')
    return bad('missing critical.image.docker-manifest-digest')
  if (critical.type !== SIMPLE_SIGNING_TYPE)
    return bad(`critical.type is ${JSON.stringify(critical.type)}`)
  const ref =
    isObject(identity) && typeof identity['docker-reference'] === 'string'
      ? identity['docker-reference']
      : ''
  const optional = v.optional
  if (optional !== null && optional !== undefined && !isObject(optional))
    return bad('"optional" is neither null nor an object')
  return {
    critical: {
      identity: { 'docker-reference': ref },
      image: { 'docker-manifest-digest': image['docker-manifest-digest'] },
      type: SIMPLE_SIGNING_TYPE
    },
    optional: optional ?? null
  }
}

export interface InTotoStatement {
  _type: string
  subject: {
    name?: string
    digest: Record<string, string>
    annotations?: Record<string, unknown>
  }[]
  predicateType: string
  predicate: unknown
}

/** cosign v3 `sign` statement: subject = the image digest, no name. */
export function buildSignStatement(
  digest: string,
  annotations: Record<string, string> = {}
): Uint8Array {
  const hex = digest.replace(/^sha256:/, '')
  const statement: InTotoStatement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ digest: { sha256: hex }, annotations: { ...annotations } }],
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    predicate: {}
  }
  return new TextEncoder().encode(JSON.stringify(statement))
}

export function parseInTotoStatement(bytes: Uint8Array): InTotoStatement {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw new PayloadError('PAYLOAD_INVALID', 'DSSE payload is not JSON', {
      cause: e
    })
  }
  if (
    !isObject(v) ||
    typeof v._type !== 'string' ||
    !Array.isArray(v.subject) ||
    typeof v.predicateType !== 'string'
  ) {
    throw new PayloadError(
      'PAYLOAD_INVALID',
      'DSSE payload is not an in-toto statement'
    )
  }
  const subject = v.subject.filter(isObject).map(s => ({
    ...(typeof s.name === 'string' ? { name: s.name } : {}),
    digest: isObject(s.digest)
      ? Object.fromEntries(
          Object.entries(s.digest).filter(
            (e): e is [string, string] => typeof e[1] === 'string'
          )
        )
      : {},
    ...(isObject(s.annotations) ? { annotations: s.annotations } : {})
  }))
  return {
    _type: v._type,
    subject,
    predicateType: v.predicateType,
    predicate: v.predicate
  }
}

/** Does any subject of the statement name this image digest? */
export function statementNamesDigest(
  statement: InTotoStatement,
  digest: string
): boolean {
  const [alg, hex] = digest.split(':')
  if (!alg || !hex) return false
  return statement.subject.some(s => s.digest[alg]?.toLowerCase() === hex)
}
