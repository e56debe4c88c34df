// AWS Signature Version 4 for the JSON/query requests of KMS and STS: the
// canonical request, string to sign and signing-key derivation of
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
// Written here (node:crypto, ~80 lines) instead of bundling
// @smithy/signature-v4, which brings @smithy/core and tslib for the same
// arithmetic; the test emulator checks every request with @smithy's signer.
import { createHash, createHmac } from 'node:crypto'

export interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** When temporary credentials stop working. */
  expiration?: Date
}

export interface SigV4Request {
  method: 'GET' | 'POST'
  url: URL
  headers: Record<string, string>
  body: string
}

const hex = (b: Buffer): string => b.toString('hex')
const sha256Hex = (s: string): string =>
  hex(createHash('sha256').update(s, 'utf8').digest())
const hmac = (key: Buffer | string, s: string): Buffer =>
  createHmac('sha256', key).update(s, 'utf8').digest()

/** RFC 3986 percent-encoding, as SigV4 wants it (unreserved kept). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`
  )
}

/** `20260101T000000Z` */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

/**
 * Returns the headers to send: the request's own plus host, x-amz-date,
 * x-amz-security-token (temporary credentials), x-amz-content-sha256 is not
 * needed for KMS/STS, and authorization.
 */
export function signRequest(
  req: SigV4Request,
  creds: AwsCredentials,
  scope: { region: string; service: string },
  now: Date = new Date()
): Record<string, string> {
  const date = amzDate(now)
  const day = date.slice(0, 8)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v
  headers.host = req.url.host
  headers['x-amz-date'] = date
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken
  const names = Object.keys(headers).sort()
  const canonicalHeaders = names
    .map(n => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const signedHeaders = names.join(';')
  const query = [...req.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  // Each path segment encoded once (non-S3 services encode twice; the
  // paths we send, "/", need neither).
  const path = req.url.pathname
    .split('/')
    .map(s => uriEncode(decodeURIComponent(s)))
    .join('/')
  const canonical = [
    req.method,
    path || '/',
    query,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(req.body)
  ].join('\n')
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`
  const toSign = [
    'AWS4-HMAC-SHA256',
    date,
    credentialScope,
    sha256Hex(canonical)
  ].join('\n')
  const kDate = hmac(`AWS4${creds.secretAccessKey}`, day)
  const kRegion = hmac(kDate, scope.region)
  const kService = hmac(kRegion, scope.service)
  const kSigning = hmac(kService, 'aws4_request')
  const signature = hex(hmac(kSigning, toSign))
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return headers
}
