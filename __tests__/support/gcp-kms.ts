// A loopback Google Cloud KMS (REST v1) with its token services, from the
// published references: OAuth 2.0 JWT bearer grant for service accounts
// (the RS256 assertion is checked against the service account's key, its
// aud and scope), STS token exchange for workload identity federation (the
// subject JWT checked against a JWKS and the pool provider's audience), and
// IAM Credentials generateAccessToken for impersonation. KMS calls need a
// bearer token this emulator issued, and each principal has the Cloud KMS
// permissions it was given. Key versions (ECDSA P-256, node:crypto) and
// their states live here; AsymmetricSign checks and returns CRC32C.
// https://cloud.google.com/kms/docs/reference/rest
// https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token
import {
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify as nodeVerify,
  type KeyObject
} from 'node:crypto'
import {
  createServer,
  type IncomingMessage,
  type ServerResponse
} from 'node:http'
import { p256 } from '@noble/curves/nist.js'
import { crc32c } from '../../src/kms/gcpkms.ts'
import { listenLoopback, readAll, type Listening } from './loopback.ts'

export type GcpPermission =
  | 'cloudkms.cryptoKeyVersions.list'
  | 'cloudkms.cryptoKeyVersions.get'
  | 'cloudkms.cryptoKeyVersions.viewPublicKey'
  | 'cloudkms.cryptoKeyVersions.useToSign'
  | 'cloudkms.keyRings.create'
  | 'cloudkms.cryptoKeys.create'

export const SIGNER: GcpPermission[] = [
  'cloudkms.cryptoKeyVersions.list',
  'cloudkms.cryptoKeyVersions.get',
  'cloudkms.cryptoKeyVersions.viewPublicKey',
  'cloudkms.cryptoKeyVersions.useToSign'
]

interface Version {
  name: string
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED'
  privateKey: KeyObject
  publicKey: KeyObject
}

export interface GcpEmulator extends Listening {
  /** A service account key file's JSON (type service_account). */
  serviceAccount(permissions?: GcpPermission[]): object
  /** An external_account config for a pool provider trusting `audience`
   * tokens (JWKS-checked), impersonating a service account with
   * `permissions`; credential_source as given. */
  externalAccount(
    credentialSource: object,
    permissions?: GcpPermission[],
    options?: { impersonate?: boolean; expectedAudience?: string }
  ): object
  /** Creates `key` (…/cryptoKeys/K) with one ENABLED version. */
  createKey(key: string): string
  addVersion(key: string): string
  setState(version: string, state: Version['state']): void
  publicKeyPem(version: string): string
  throttle(n: number): void
  readonly calls: string[]
}

function jwtParts(jwt: string):
  | {
      header: Record<string, unknown>
      claims: Record<string, unknown>
      input: string
      sig: Buffer
    }
  | undefined {
  const [h, p, s] = jwt.split('.')
  if (!h || !p || !s) return undefined
  try {
    return {
      header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<
        string,
        unknown
      >,
      claims: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<
        string,
        unknown
      >,
      input: `${h}.${p}`,
      sig: Buffer.from(s, 'base64url')
    }
  } catch {
    return undefined
  }
}

export async function startGcpKms(
  o: { jwks?: { keys: object[] } } = {}
): Promise<GcpEmulator> {
  const serviceAccounts = new Map<
    string,
    { key: KeyObject; permissions: GcpPermission[] }
  >()
  const providers = new Map<
    string,
    {
      expectedAudience: string
      permissions: GcpPermission[]
      impersonate: boolean
      sa: string
    }
  >()
  const tokens = new Map<
    string,
    { permissions: GcpPermission[]; federatedFor?: string }
  >()
  const keys = new Map<string, Version[]>()
  const rings = new Set<string>()
  const calls: string[] = []
  let throttled = 0
  let url = ''

  const send = (res: ServerResponse, status: number, body: object): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text)
    })
    res.end(text)
  }
  const gerr = (
    res: ServerResponse,
    code: number,
    status: string,
    message: string
  ): void => send(res, code, { error: { code, status, message } })
  const issue = (
    permissions: GcpPermission[],
    federatedFor?: string
  ): string => {
    const t = `ya29.${randomBytes(24).toString('base64url')}`
    tokens.set(t, { permissions, ...(federatedFor ? { federatedFor } : {}) })
    return t
  }
  const findVersion = (name: string): Version | undefined => {
    const key = name.replace(/\/cryptoKeyVersions\/[^/]+$/, '')
    return keys.get(key)?.find(v => v.name === name)
  }
  const newVersion = (key: string): Version => {
    const list = keys.get(key) ?? []
    const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const v: Version = {
      name: `${key}/cryptoKeyVersions/${list.length + 1}`,
      state: 'ENABLED',
      ...kp
    }
    list.push(v)
    keys.set(key, list)
    return v
  }
  const versionJson = (v: Version): object => ({
    name: v.name,
    state: v.state,
    algorithm: 'EC_SIGN_P256_SHA256',
    protectionLevel: 'SOFTWARE'
  })

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> => {
    const body = (await readAll(req)).toString()
    const u = new URL(req.url ?? '/', 'http://x')
    calls.push(`${req.method ?? ''} ${u.pathname}`)
    // OAuth 2.0 token endpoint (service accounts).
    if (u.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body)
      if (
        form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer'
      )
        return send(res, 400, { error: 'unsupported_grant_type' })
      const jwt = jwtParts(form.get('assertion') ?? '')
      const sa = jwt ? serviceAccounts.get(String(jwt.claims.iss)) : undefined
      const ok =
        jwt &&
        sa &&
        jwt.header.alg === 'RS256' &&
        nodeVerify('sha256', Buffer.from(jwt.input), sa.key, jwt.sig)
      if (!ok || !jwt || !sa)
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'Invalid JWT Signature.'
        })
      if (
        jwt.claims.aud !== `${url}/token` ||
        !String(jwt.claims.scope).includes('cloud-platform')
      )
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'Invalid JWT: aud or scope'
        })
      if (Number(jwt.claims.exp) * 1000 < Date.now())
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'Invalid JWT: Token must be a short-lived token'
        })
      return send(res, 200, {
        access_token: issue(sa.permissions),
        expires_in: 3599,
        token_type: 'Bearer'
      })
    }
    // STS token exchange (workload identity federation).
    if (u.pathname === '/v1/token' && req.method === 'POST') {
      const form = new URLSearchParams(body)
      const provider = providers.get(form.get('audience') ?? '')
      if (
        form.get('grant_type') !==
          'urn:ietf:params:oauth:grant-type:token-exchange' ||
        !provider
      )
        return send(res, 400, {
          error: 'invalid_request',
          error_description: 'Invalid audience or grant type'
        })
      const jwt = jwtParts(form.get('subject_token') ?? '')
      const jwk = o.jwks?.keys.find(
        k => (k as { kid?: string }).kid === jwt?.header.kid
      )
      const ok =
        jwt &&
        jwk &&
        nodeVerify(
          'sha256',
          Buffer.from(jwt.input),
          createPublicKey({ key: jwk as never, format: 'jwk' }),
          jwt.sig
        )
      if (!ok || !jwt)
        return send(res, 400, {
          error: 'invalid_grant',
          error_description: 'The subject token signature could not be verified'
        })
      const aud = Array.isArray(jwt.claims.aud)
        ? jwt.claims.aud
        : [jwt.claims.aud]
      if (!aud.includes(provider.expectedAudience))
        return send(res, 400, {
          error: 'invalid_grant',
          error_description:
            'The audience in the subject token does not match the provider'
        })
      return send(res, 200, {
        access_token: issue(
          provider.impersonate ? [] : provider.permissions,
          provider.impersonate ? provider.sa : undefined
        ),
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 3600
      })
    }
    // IAM Credentials: impersonation.
    const imp =
      /^\/v1\/projects\/-\/serviceAccounts\/([^:]+):generateAccessToken$/.exec(
        u.pathname
      )
    if (imp && req.method === 'POST') {
      const t = tokens.get(
        String(req.headers.authorization ?? '').replace(/^Bearer /, '')
      )
      if (!t)
        return gerr(
          res,
          401,
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials.'
        )
      if (t.federatedFor !== imp[1])
        return gerr(
          res,
          403,
          'PERMISSION_DENIED',
          "Permission 'iam.serviceAccounts.getAccessToken' denied"
        )
      const sa = [...providers.values()].find(p => p.sa === imp[1])
      return send(res, 200, {
        accessToken: issue(sa?.permissions ?? []),
        expireTime: new Date(Date.now() + 3600_000).toISOString()
      })
    }
    // Cloud KMS.
    if (!u.pathname.startsWith('/v1/projects/'))
      return gerr(res, 404, 'NOT_FOUND', 'no such API')
    if (throttled > 0) {
      throttled--
      return gerr(
        res,
        429,
        'RESOURCE_EXHAUSTED',
        "Quota exceeded for quota metric 'Cryptographic requests'"
      )
    }
    const who = tokens.get(
      String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    )
    if (!who)
      return gerr(
        res,
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token.'
      )
    const need = (p: GcpPermission, resource: string): boolean => {
      if (who.permissions.includes(p)) return true
      gerr(
        res,
        403,
        'PERMISSION_DENIED',
        `Permission '${p}' denied on resource '${resource}' (or it may not exist).`
      )
      return false
    }
    const path = decodeURIComponent(u.pathname.slice('/v1/'.length))
    let m: RegExpExecArray | null
    if (
      (m = /^(.+\/cryptoKeyVersions\/[^/:]+):asymmetricSign$/.exec(path)) &&
      req.method === 'POST'
    ) {
      const name = m[1] ?? ''
      if (!need('cloudkms.cryptoKeyVersions.useToSign', name)) return
      const v = findVersion(name)
      if (!v) return gerr(res, 404, 'NOT_FOUND', `${name} not found.`)
      if (v.state !== 'ENABLED')
        return gerr(
          res,
          400,
          'FAILED_PRECONDITION',
          `${name} is not enabled, current state is: ${v.state}.`
        )
      const input = JSON.parse(body) as {
        digest?: { sha256?: string }
        digestCrc32c?: string
      }
      const digest = Buffer.from(input.digest?.sha256 ?? '', 'base64')
      if (digest.length !== 32)
        return gerr(
          res,
          400,
          'INVALID_ARGUMENT',
          'The digest must be SHA-256 for EC_SIGN_P256_SHA256'
        )
      const verified = input.digestCrc32c !== undefined
      if (verified && Number(input.digestCrc32c) !== crc32c(digest))
        return gerr(
          res,
          400,
          'INVALID_ARGUMENT',
          'The checksum in field digest_crc32c did not match the data in field digest.'
        )
      const d = Buffer.from(
        v.privateKey.export({ format: 'jwk' }).d ?? '',
        'base64url'
      )
      const sig = Buffer.from(
        p256.sign(digest, d, { prehash: false, format: 'der' })
      )
      return send(res, 200, {
        signature: sig.toString('base64'),
        signatureCrc32c: String(crc32c(sig)),
        verifiedDigestCrc32c: verified,
        name,
        protectionLevel: 'SOFTWARE'
      })
    }
    if (
      (m = /^(.+\/cryptoKeyVersions\/[^/:]+)\/publicKey$/.exec(path)) &&
      req.method === 'GET'
    ) {
      const name = m[1] ?? ''
      if (!need('cloudkms.cryptoKeyVersions.viewPublicKey', name)) return
      const v = findVersion(name)
      if (!v) return gerr(res, 404, 'NOT_FOUND', `${name} not found.`)
      if (v.state === 'DESTROYED')
        return gerr(
          res,
          400,
          'FAILED_PRECONDITION',
          `${name} is not enabled, current state is: DESTROYED.`
        )
      const pem = v.publicKey.export({ format: 'pem', type: 'spki' }).toString()
      return send(res, 200, {
        pem,
        algorithm: 'EC_SIGN_P256_SHA256',
        pemCrc32c: String(crc32c(Buffer.from(pem))),
        name,
        protectionLevel: 'SOFTWARE'
      })
    }
    if (
      (m = /^(.+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions$/.exec(path)) &&
      req.method === 'GET'
    ) {
      const key = m[1] ?? ''
      if (!need('cloudkms.cryptoKeyVersions.list', key)) return
      const list = keys.get(key)
      if (!list) return gerr(res, 404, 'NOT_FOUND', `${key} not found.`)
      if (
        u.searchParams.get('filter') !== 'state=ENABLED' ||
        u.searchParams.get('orderBy') !== 'name desc'
      )
        return gerr(
          res,
          400,
          'INVALID_ARGUMENT',
          'this emulator serves the listing cosign asks for'
        )
      const out = list
        .filter(v => v.state === 'ENABLED')
        .sort((a, b) => (a.name < b.name ? 1 : -1))
      return send(res, 200, {
        cryptoKeyVersions: out.map(versionJson),
        totalSize: out.length
      })
    }
    if (
      (m = /^(.+\/cryptoKeyVersions\/[^/:]+)$/.exec(path)) &&
      req.method === 'GET'
    ) {
      const name = m[1] ?? ''
      if (!need('cloudkms.cryptoKeyVersions.get', name)) return
      const v = findVersion(name)
      return v
        ? send(res, 200, versionJson(v))
        : gerr(res, 404, 'NOT_FOUND', `${name} not found.`)
    }
    if (
      (m = /^(projects\/[^/]+\/locations\/[^/]+)\/keyRings$/.exec(path)) &&
      req.method === 'POST'
    ) {
      const ring = `${m[1]}/keyRings/${u.searchParams.get('keyRingId') ?? ''}`
      if (!need('cloudkms.keyRings.create', ring)) return
      if (rings.has(ring))
        return gerr(
          res,
          409,
          'ALREADY_EXISTS',
          `KeyRing ${ring} already exists.`
        )
      rings.add(ring)
      return send(res, 200, {
        name: ring,
        createTime: new Date().toISOString()
      })
    }
    if (
      (m = /^(.+\/keyRings\/[^/]+)\/cryptoKeys$/.exec(path)) &&
      req.method === 'POST'
    ) {
      const key = `${m[1]}/cryptoKeys/${u.searchParams.get('cryptoKeyId') ?? ''}`
      if (!need('cloudkms.cryptoKeys.create', key)) return
      if (!rings.has(m[1] ?? ''))
        return gerr(res, 404, 'NOT_FOUND', `KeyRing ${m[1]} not found.`)
      const input = JSON.parse(body) as {
        purpose?: string
        versionTemplate?: { algorithm?: string }
      }
      if (
        input.purpose !== 'ASYMMETRIC_SIGN' ||
        input.versionTemplate?.algorithm !== 'EC_SIGN_P256_SHA256'
      )
        return gerr(
          res,
          400,
          'INVALID_ARGUMENT',
          'this emulator creates EC_SIGN_P256_SHA256 signing keys'
        )
      if (keys.has(key))
        return gerr(
          res,
          409,
          'ALREADY_EXISTS',
          `CryptoKey ${key} already exists.`
        )
      newVersion(key)
      return send(res, 200, { name: key, purpose: 'ASYMMETRIC_SIGN' })
    }
    return gerr(res, 404, 'NOT_FOUND', `no route ${path}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(e => gerr(res, 500, 'INTERNAL', String(e)))
  })
  const listening = await listenLoopback(server)
  url = listening.url
  return {
    ...listening,
    calls,
    serviceAccount(permissions = SIGNER) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048
      })
      const email = `signer-${randomBytes(3).toString('hex')}@proj.iam.gserviceaccount.com`
      serviceAccounts.set(email, { key: publicKey, permissions })
      return {
        type: 'service_account',
        project_id: 'proj',
        private_key_id: randomBytes(8).toString('hex'),
        private_key: privateKey
          .export({ format: 'pem', type: 'pkcs8' })
          .toString(),
        client_email: email,
        token_uri: `${url}/token`
      }
    },
    externalAccount(credentialSource, permissions = SIGNER, options = {}) {
      const audience = `//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/p${randomBytes(3).toString('hex')}`
      const sa = `signer-${randomBytes(3).toString('hex')}@proj.iam.gserviceaccount.com`
      const impersonate = options.impersonate ?? true
      providers.set(audience, {
        expectedAudience: options.expectedAudience ?? `https:${audience}`,
        permissions,
        impersonate,
        sa
      })
      return {
        type: 'external_account',
        audience,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        token_url: `${url}/v1/token`,
        credential_source: credentialSource,
        ...(impersonate
          ? {
              service_account_impersonation_url: `${url}/v1/projects/-/serviceAccounts/${sa}:generateAccessToken`
            }
          : {})
      }
    },
    createKey(key) {
      rings.add(key.replace(/\/cryptoKeys\/[^/]+$/, ''))
      return newVersion(key).name
    },
    addVersion(key) {
      return newVersion(key).name
    },
    setState(version, state) {
      const v = findVersion(version)
      if (!v) throw new Error(`no version ${version}`)
      v.state = state
    },
    publicKeyPem(version) {
      const v = findVersion(version)
      if (!v) throw new Error(`no version ${version}`)
      return v.publicKey.export({ format: 'pem', type: 'spki' }).toString()
    },
    throttle(n) {
      throttled = n
    }
  }
}
