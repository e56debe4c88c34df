// Where AWS credentials come from, in the order the AWS SDKs look:
// 1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]
//    (what aws-actions/configure-aws-credentials exports);
// 2. the shared files' profile (AWS_PROFILE, default "default"):
//    static keys in ~/.aws/credentials or ~/.aws/config, or role_arn +
//    web_identity_token_file;
// 3. AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (EKS, GitLab OIDC recipes),
//    or, on GitHub Actions without a token file, the job's OIDC token
//    requested for the audience sts.amazonaws.com;
//    exchanged with STS AssumeRoleWithWebIdentity (an unsigned call).
// https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { AppError, registerSecret } from '../util/index.ts'
import { KmsError } from './errors.ts'
import { bodyText, kmsFetch, serviceUrl } from './http.ts'
import type { AwsCredentials } from './sigv4.ts'
import type { KmsContext } from './types.ts'

type Ini = Record<string, Record<string, string>>

export function parseIni(text: string): Ini {
  const out: Ini = {}
  let section: Record<string, string> | undefined
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+|\s+$/g, '')
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const head = /^\[\s*(.+?)\s*\]$/.exec(line)
    if (head?.[1]) {
      section = out[head[1]] ??= {}
      continue
    }
    const eq = line.indexOf('=')
    if (section && eq > 0)
      section[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return out
}

async function readIni(path: string): Promise<Ini> {
  try {
    return parseIni(await readFile(path, 'utf8'))
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return {}
    throw new KmsError(
      'KMS_CONFIG_INVALID',
      `cannot read the AWS shared file ${path}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
}

export interface AwsProfile {
  name: string
  /** Merged: config's `[profile NAME]` (or `[default]`), then credentials'. */
  settings: Record<string, string>
}

/** The selected profile of the shared config and credentials files. */
export async function readAwsProfile(
  env: NodeJS.ProcessEnv
): Promise<AwsProfile> {
  const home = env.HOME || homedir()
  const name =
    env.AWS_PROFILE?.trim() || env.AWS_DEFAULT_PROFILE?.trim() || 'default'
  const [config, credentials] = await Promise.all([
    readIni(env.AWS_CONFIG_FILE || join(home, '.aws', 'config')),
    readIni(
      env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials')
    )
  ])
  const fromConfig =
    name === 'default'
      ? (config.default ?? config['profile default'])
      : config[`profile ${name}`]
  return { name, settings: { ...fromConfig, ...credentials[name] } }
}

/** Region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's. */
export function awsRegion(
  env: NodeJS.ProcessEnv,
  profile: AwsProfile
): string | undefined {
  return (
    env.AWS_REGION?.trim() ||
    env.AWS_DEFAULT_REGION?.trim() ||
    profile.settings.region ||
    undefined
  )
}

/** The endpoint of `service`: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL,
 * else the regional one. */
export function awsEndpoint(
  env: NodeJS.ProcessEnv,
  service: 'kms' | 'sts',
  region: string
): URL {
  const specific = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`]?.trim()
  const general = env.AWS_ENDPOINT_URL?.trim()
  if (specific)
    return serviceUrl(specific, `AWS_ENDPOINT_URL_${service.toUpperCase()}`)
  if (general) return serviceUrl(general, 'AWS_ENDPOINT_URL')
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'
  return new URL(`https://${service}.${region}.${suffix}/`)
}

function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

async function assumeRoleWithWebIdentity(
  ctx: KmsContext,
  o: {
    roleArn: string
    token: string
    sessionName: string
    region: string | undefined
    source: string
  }
): Promise<AwsCredentials> {
  registerSecret(o.token)
  const url = o.region
    ? awsEndpoint(ctx.env, 'sts', o.region)
    : ctx.env.AWS_ENDPOINT_URL_STS || ctx.env.AWS_ENDPOINT_URL
      ? awsEndpoint(ctx.env, 'sts', 'us-east-1')
      : new URL('https://sts.amazonaws.com/')
  const body = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: o.roleArn,
    RoleSessionName: o.sessionName,
    WebIdentityToken: o.token
  }).toString()
  const res = await kmsFetch(
    ctx,
    {
      what: `assuming ${o.roleArn} with the web identity token (${o.source})`,
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8'
      },
      body,
      retrySafe: true
    },
    r => {
      const text = r.text()
      const code = xmlField(text, 'Code') ?? ''
      const message = xmlField(text, 'Message') ?? bodyText(r)
      const detail = `${code}${code ? ': ' : ''}${message}`
      if (/Throttl/i.test(code) || r.status === 429)
        return { code: 'KMS_THROTTLED', detail }
      return {
        code: 'KMS_AUTH_FAILED',
        detail,
        remedy: `STS refused the web identity token for ${o.roleArn}: the role's trust policy must allow sts:AssumeRoleWithWebIdentity for this OIDC provider, with conditions matching the token's aud (sts.amazonaws.com) and sub claims.`
      }
    }
  )
  const xml = res.text()
  const accessKeyId = xmlField(xml, 'AccessKeyId')
  const secretAccessKey = xmlField(xml, 'SecretAccessKey')
  const sessionToken = xmlField(xml, 'SessionToken')
  const expiration = xmlField(xml, 'Expiration')
  if (!accessKeyId || !secretAccessKey || !sessionToken)
    throw new KmsError(
      'KMS_RESPONSE_INVALID',
      `STS answered AssumeRoleWithWebIdentity for ${o.roleArn} without credentials`
    )
  registerSecret(secretAccessKey)
  registerSecret(sessionToken)
  ctx.logger.debug(`assumed ${o.roleArn} (${o.source})`)
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken,
    ...(expiration ? { expiration: new Date(expiration) } : {})
  }
}

async function readTokenFile(path: string, name: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (e) {
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      `${name} names ${JSON.stringify(path)}, which cannot be read: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  }
}

export const AWS_CREDENTIALS_REMEDY = [
  'Give the job AWS credentials, for example:',
  '  GitHub: aws-actions/configure-aws-credentials with role-to-assume (permissions: id-token: write),',
  '          or env AWS_ROLE_ARN with permissions: id-token: write;',
  '  GitLab: id_tokens: { AWS_ID_TOKEN: { aud: sts.amazonaws.com } }, then',
  '          echo "$AWS_ID_TOKEN" > "$CI_BUILDS_DIR/web-identity" with AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE set;',
  '  or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws (AWS_PROFILE).'
].join('\n')

/** The first credentials of the chain; KMS_CREDENTIALS_MISSING if none. */
export async function resolveAwsCredentials(
  ctx: KmsContext,
  profile: AwsProfile,
  region: string | undefined
): Promise<AwsCredentials> {
  const env = ctx.env
  const sessionName = env.AWS_ROLE_SESSION_NAME?.trim() || `sigil-${Date.now()}`
  // 1. Environment.
  const id = env.AWS_ACCESS_KEY_ID?.trim()
  const secret = env.AWS_SECRET_ACCESS_KEY?.trim()
  if (id && secret) {
    registerSecret(secret)
    const token = env.AWS_SESSION_TOKEN?.trim()
    registerSecret(token)
    return {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token ? { sessionToken: token } : {})
    }
  }
  // 2. The shared files' profile (only when it says something: an empty
  // default profile falls through, as in the SDKs).
  const p = profile.settings
  if (p.aws_access_key_id && p.aws_secret_access_key) {
    registerSecret(p.aws_secret_access_key)
    registerSecret(p.aws_session_token)
    return {
      accessKeyId: p.aws_access_key_id,
      secretAccessKey: p.aws_secret_access_key,
      ...(p.aws_session_token ? { sessionToken: p.aws_session_token } : {})
    }
  }
  if (p.role_arn && p.web_identity_token_file)
    return assumeRoleWithWebIdentity(ctx, {
      roleArn: p.role_arn,
      token: await readTokenFile(
        p.web_identity_token_file,
        `profile ${profile.name}'s web_identity_token_file`
      ),
      sessionName: p.role_session_name || sessionName,
      region,
      source: `profile ${profile.name}`
    })
  if (p.role_arn)
    throw new KmsError(
      'KMS_CREDENTIALS_MISSING',
      `the AWS profile "${profile.name}" assumes ${p.role_arn} from ${p.source_profile ? `source_profile ${p.source_profile}` : p.credential_source ? `credential_source ${p.credential_source}` : 'another source'}, which Sigil does not chain`,
      {
        remedy:
          'Export the assumed credentials (aws configure export-credentials --format env), or use a web identity role.'
      }
    )
  // 3. Web identity from the environment.
  const roleArn = env.AWS_ROLE_ARN?.trim()
  if (roleArn) {
    const file = env.AWS_WEB_IDENTITY_TOKEN_FILE?.trim()
    let token: string | undefined
    let source: string
    if (file) {
      token = await readTokenFile(file, 'AWS_WEB_IDENTITY_TOKEN_FILE')
      source = 'AWS_WEB_IDENTITY_TOKEN_FILE'
    } else if (ctx.jobToken) {
      try {
        token = await ctx.jobToken('sts.amazonaws.com')
      } catch (e) {
        if (!(e instanceof AppError)) throw e
        throw new KmsError(
          'KMS_CREDENTIALS_MISSING',
          `AWS_ROLE_ARN is set, but the job's OIDC token could not be obtained: ${e.message}`,
          { cause: e, ...(e.remedy ? { remedy: e.remedy } : {}) }
        )
      }
      source = "the job's OIDC token"
    } else {
      throw new KmsError(
        'KMS_CREDENTIALS_MISSING',
        'AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not, and this job cannot request an OIDC token',
        { remedy: AWS_CREDENTIALS_REMEDY }
      )
    }
    return assumeRoleWithWebIdentity(ctx, {
      roleArn,
      token,
      sessionName,
      region,
      source
    })
  }
  throw new KmsError(
    'KMS_CREDENTIALS_MISSING',
    `no AWS credentials: none in the environment, in the profile "${profile.name}" of the shared files, or as a web identity (AWS_ROLE_ARN)`,
    { remedy: AWS_CREDENTIALS_REMEDY }
  )
}
