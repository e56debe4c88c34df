// Google access tokens from GOOGLE_APPLICATION_CREDENTIALS, the way Google's
// auth libraries read that file:
// - service_account: a JWT (RS256, the key in the file) for the JWT bearer
//   grant at token_uri;
// - external_account (workload identity federation, what
//   google-github-actions/auth writes): a subject token from
//   credential_source (file, or url + headers: the GitHub OIDC endpoint),
//   exchanged at STS (token_url, RFC 8693), then, when
//   service_account_impersonation_url is set, a service account token;
// - authorized_user (gcloud auth application-default login): refresh token.
// https://google.aip.dev/auth/4112  https://google.aip.dev/auth/4117
// https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
import { createSign } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { registerSecret } from '../util/index.ts'
import { KmsError } from './errors.ts'
import { bodyText, jsonOf, kmsFetch, serviceUrl } from './http.ts'
import type { KmsContext } from './types.ts'

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform'
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token'

export const GCP_CREDENTIALS_REMEDY = [
  'Give the job Google credentials:',
  '  GitHub: google-github-actions/auth with workload_identity_provider (permissions: id-token: write);',
  '          it sets GOOGLE_APPLICATION_CREDENTIALS;',
  '  GitLab: a workload identity federation config (gcloud iam workload-identity-pools create-cred-config',
  '          ... --credential-source-file=$CI_BUILDS_DIR/gcp-token) with id_tokens written to that file,',
  '          or a service account key file; point GOOGLE_APPLICATION_CREDENTIALS at it.'
].join('\n')

type Json = Record<string, unknown>
const str = (o: Json, k: string): string | undefined =>
  typeof o[k] === 'string' ? o[k] : undefined

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url')
}

async function tokenRequest(
  ctx: KmsContext,
  what: string,
  url: string,
  body: string,
  contentType: string,
  headers: Record<string, string> = {}
): Promise<Json> {
  const res = await kmsFetch(
    ctx,
    {
      what,
      method: 'POST',
      url: serviceUrl(url, what).href,
      headers: { 'content-type': contentType, ...headers },
      body,
      retrySafe: true
    },
    r => {
      let detail = bodyText(r)
      try {
        const j = r.json<Json>()
        const e = j.error
        detail =
          typeof e === 'string'
            ? `${e}${typeof j.error_description === 'string' ? `: ${j.error_description}` : ''}`
            : typeof (e as Json | undefined)?.message === 'string'
              ? String((e as Json).message)
              : detail
      } catch {
        // not JSON
      }
      if (r.status === 429) return { code: 'KMS_THROTTLED', detail }
      return {
        code: r.status === 403 ? 'KMS_PERMISSION_DENIED' : 'KMS_AUTH_FAILED',
        detail,
        remedy:
          r.status === 403
            ? 'The federated principal may not impersonate the service account: grant it roles/iam.workloadIdentityUser on the service account.'
            : 'Google refused the credentials: check the workload identity provider (its attribute condition and the token audience) or the service account key.'
      }
    }
  )
  return jsonOf(res, what)
}

async function subjectToken(ctx: KmsContext, cfg: Json): Promise<string> {
  const src = (cfg.credential_source ?? {}) as Json
  const format = (src.format ?? {}) as Json
  let raw: string
  if (typeof src.file === 'string') {
    try {
      raw = await readFile(src.file, 'utf8')
    } catch (e) {
      throw new KmsError(
        'KMS_CREDENTIALS_MISSING',
        `the external_account credential_source.file ${JSON.stringify(src.file)} cannot be read: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e, remedy: GCP_CREDENTIALS_REMEDY }
      )
    }
  } else if (typeof src.url === 'string') {
    const headers = (src.headers ?? {}) as Record<string, string>
    for (const v of Object.values(headers))
      registerSecret(v.replace(/^Bearer /, ''))
    const res = await kmsFetch(
      ctx,
      {
        what: 'fetching the subject token of the external_account credentials',
        method: 'GET',
        url: src.url,
        headers
      },
      r => ({
        code: 'KMS_CREDENTIALS_MISSING',
        detail: bodyText(r),
        remedy: GCP_CREDENTIALS_REMEDY
      })
    )
    raw = res.text()
  } else {
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      'the external_account credentials take their subject token from a source Sigil does not read (only credential_source.file and .url)',
      { remedy: GCP_CREDENTIALS_REMEDY }
    )
  }
  let token = raw.trim()
  if (format.type === 'json') {
    const field = str(format, 'subject_token_field_name') ?? ''
    try {
      token = String((JSON.parse(raw) as Json)[field] ?? '')
    } catch {
      token = ''
    }
  }
  if (!token)
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      'the external_account credential source gave no subject token',
      { remedy: GCP_CREDENTIALS_REMEDY }
    )
  registerSecret(token)
  return token
}

function serviceAccountAssertion(cfg: Json, tokenUri: string): string {
  const now = Math.floor(Date.now() / 1000)
  const header = {
    alg: 'RS256',
    typ: 'JWT',
    ...(str(cfg, 'private_key_id') ? { kid: str(cfg, 'private_key_id') } : {})
  }
  const claims = {
    iss: str(cfg, 'client_email'),
    scope: SCOPE,
    aud: tokenUri,
    iat: now,
    exp: now + 3600
  }
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
  let sig: Buffer
  try {
    sig = createSign('sha256')
      .update(input)
      .sign(str(cfg, 'private_key') ?? '')
  } catch (e) {
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      'the service account key in GOOGLE_APPLICATION_CREDENTIALS has no usable private_key',
      { cause: e }
    )
  }
  return `${input}.${b64url(sig)}`
}

/** A bearer token for Cloud KMS; KMS_CREDENTIALS_MISSING if none. */
export async function googleAccessToken(ctx: KmsContext): Promise<string> {
  const env = ctx.env
  const path =
    env.GOOGLE_APPLICATION_CREDENTIALS?.trim() ||
    join(
      env.HOME || homedir(),
      '.config',
      'gcloud',
      'application_default_credentials.json'
    )
  let cfg: Json
  try {
    cfg = JSON.parse(await readFile(path, 'utf8')) as Json
  } catch (e) {
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      env.GOOGLE_APPLICATION_CREDENTIALS
        ? `GOOGLE_APPLICATION_CREDENTIALS names ${JSON.stringify(path)}, which is not a readable JSON file`
        : 'no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set and there are no application default credentials',
      { cause: e, remedy: GCP_CREDENTIALS_REMEDY }
    )
  }
  let token: string | undefined
  switch (cfg.type) {
    case 'service_account': {
      const tokenUri = str(cfg, 'token_uri') ?? DEFAULT_TOKEN_URI
      registerSecret(str(cfg, 'private_key'))
      const out = await tokenRequest(
        ctx,
        `getting a token for ${str(cfg, 'client_email') ?? 'the service account'}`,
        tokenUri,
        new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: serviceAccountAssertion(cfg, tokenUri)
        }).toString(),
        'application/x-www-form-urlencoded'
      )
      token = str(out, 'access_token')
      break
    }
    case 'authorized_user': {
      registerSecret(str(cfg, 'refresh_token'))
      registerSecret(str(cfg, 'client_secret'))
      const out = await tokenRequest(
        ctx,
        'refreshing the application default credentials',
        str(cfg, 'token_uri') ?? DEFAULT_TOKEN_URI,
        new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: str(cfg, 'client_id') ?? '',
          client_secret: str(cfg, 'client_secret') ?? '',
          refresh_token: str(cfg, 'refresh_token') ?? ''
        }).toString(),
        'application/x-www-form-urlencoded'
      )
      token = str(out, 'access_token')
      break
    }
    case 'external_account': {
      const subject = await subjectToken(ctx, cfg)
      const sts = await tokenRequest(
        ctx,
        'exchanging the subject token at Google STS',
        str(cfg, 'token_url') ?? 'https://sts.googleapis.com/v1/token',
        new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          audience: str(cfg, 'audience') ?? '',
          scope: SCOPE,
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          subject_token: subject,
          subject_token_type:
            str(cfg, 'subject_token_type') ??
            'urn:ietf:params:oauth:token-type:jwt'
        }).toString(),
        'application/x-www-form-urlencoded'
      )
      token = str(sts, 'access_token')
      const impersonate = str(cfg, 'service_account_impersonation_url')
      if (token && impersonate) {
        registerSecret(token)
        const out = await tokenRequest(
          ctx,
          'impersonating the service account',
          impersonate,
          JSON.stringify({ scope: [SCOPE], lifetime: '3600s' }),
          'application/json',
          { authorization: `Bearer ${token}` }
        )
        token = str(out, 'accessToken')
      }
      break
    }
    default:
      throw new KmsError(
        'KMS_CREDENTIALS_MISSING',
        `${path} holds "${String(cfg.type)}" credentials, which Sigil does not read (service_account, external_account or authorized_user)`,
        { remedy: GCP_CREDENTIALS_REMEDY }
      )
  }
  if (!token)
    throw new KmsError(
      'KMS_RESPONSE_INVALID',
      'the Google token endpoint returned no access token'
    )
  registerSecret(token)
  return token
}
