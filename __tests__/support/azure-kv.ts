// A loopback Azure Key Vault (keys REST API 7.4) and Microsoft Entra token
// endpoint, from the published references, over TLS (the azurekms:// URI
// names an https host; the CA goes in SSL_CERT_FILE). Tokens: client
// credentials with a secret, or a federated client assertion (an RS256 JWT
// checked against a JWKS, audience api://AzureADTokenExchange and the
// app's subject). Key Vault calls need a bearer token issued here; each app
// has the key operations it was granted. Keys: ECDSA P-256 (node:crypto);
// sign answers r‖s, as Key Vault does.
// https://learn.microsoft.com/rest/api/keyvault/keys
import { execFileSync } from 'node:child_process'
import {
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  verify as nodeVerify,
  type KeyObject
} from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { p256 } from '@noble/curves/nist.js'
import { listenLoopback, readAll, type Listening } from './loopback.ts'

export type KeyOperation = 'get' | 'sign' | 'create'

interface App {
  secret?: string
  subject?: string
  operations: KeyOperation[]
}
interface Key {
  versions: { id: string; privateKey: KeyObject; publicKey: KeyObject }[]
  enabled: boolean
}

export interface AzureEmulator extends Listening {
  caFile: string
  /** host:port, what goes in azurekms://HOST/KEY */
  host: string
  addApp(o: {
    secret?: string
    subject?: string
    operations?: KeyOperation[]
  }): { clientId: string; tenantId: string }
  createKey(name: string): void
  setEnabled(name: string, enabled: boolean): void
  publicKeyPem(name: string): string
  throttle(n: number): void
}

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'

export async function startAzureKeyVault(
  o: { jwks?: { keys: object[] } } = {}
): Promise<AzureEmulator> {
  const apps = new Map<string, App>()
  const tokens = new Map<string, KeyOperation[]>()
  const keys = new Map<string, Key>()
  let throttled = 0
  let base = ''
  const send = (res: ServerResponse, status: number, body: object): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text)
    })
    res.end(text)
  }
  const kvError = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    inner?: string
  ): void =>
    send(res, status, {
      error: {
        code,
        message,
        ...(inner ? { innererror: { code: inner } } : {})
      }
    })
  const jwk = (name: string, k: Key, v: Key['versions'][0]): object => ({
    key: {
      kid: `${base}/keys/${name}/${v.id}`,
      kty: 'EC',
      crv: 'P-256',
      key_ops: ['sign', 'verify'],
      ...(() => {
        const j = v.publicKey.export({ format: 'jwk' })
        return { x: j.x, y: j.y }
      })()
    },
    attributes: { enabled: k.enabled, recoveryLevel: 'Recoverable+Purgeable' }
  })
  const newVersion = (): Key['versions'][0] => ({
    id: randomBytes(16).toString('hex'),
    ...generateKeyPairSync('ec', { namedCurve: 'P-256' })
  })

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> => {
    const body = (await readAll(req)).toString()
    const u = new URL(req.url ?? '/', 'https://x')
    if (
      u.pathname === `/${TENANT}/oauth2/v2.0/token` &&
      req.method === 'POST'
    ) {
      const f = new URLSearchParams(body)
      const app = apps.get(f.get('client_id') ?? '')
      const bad = (desc: string): void =>
        send(res, 401, { error: 'invalid_client', error_description: desc })
      if (
        f.get('grant_type') !== 'client_credentials' ||
        f.get('scope') !== 'https://vault.azure.net/.default'
      )
        return send(res, 400, {
          error: 'invalid_request',
          error_description: 'AADSTS900144: grant_type or scope'
        })
      if (!app)
        return send(res, 400, {
          error: 'unauthorized_client',
          error_description: `AADSTS700016: Application with identifier '${f.get('client_id')}' was not found`
        })
      if (f.get('client_secret') !== null) {
        if (f.get('client_secret') !== app.secret)
          return bad('AADSTS7000215: Invalid client secret provided.')
      } else {
        if (
          f.get('client_assertion_type') !==
          'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
        )
          return bad('AADSTS7000216: client_assertion_type')
        const [h, p, s] = (f.get('client_assertion') ?? '').split('.')
        let ok = false
        let claims: Record<string, unknown> = {}
        try {
          const header = JSON.parse(
            Buffer.from(h ?? '', 'base64url').toString()
          ) as { kid?: string }
          const key = o.jwks?.keys.find(
            k => (k as { kid?: string }).kid === header.kid
          )
          claims = JSON.parse(
            Buffer.from(p ?? '', 'base64url').toString()
          ) as Record<string, unknown>
          ok =
            !!key &&
            nodeVerify(
              'sha256',
              Buffer.from(`${h}.${p}`),
              createPublicKey({ key: key as never, format: 'jwk' }),
              Buffer.from(s ?? '', 'base64url')
            )
        } catch {
          ok = false
        }
        const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
        if (!ok)
          return bad(
            'AADSTS700027: Client assertion failed signature validation.'
          )
        if (
          !aud.includes('api://AzureADTokenExchange') ||
          (app.subject && claims.sub !== app.subject)
        )
          return bad(
            'AADSTS70021: No matching federated identity record found for presented assertion.'
          )
      }
      const t = `eyJ0eXAi.${randomBytes(24).toString('base64url')}`
      tokens.set(t, app.operations)
      return send(res, 200, {
        token_type: 'Bearer',
        expires_in: 3599,
        access_token: t
      })
    }
    if (u.searchParams.get('api-version') !== '7.4')
      return kvError(res, 400, 'BadParameter', 'api-version')
    if (throttled > 0) {
      throttled--
      return kvError(
        res,
        429,
        'Throttled',
        'Request was not processed because too many requests were received.'
      )
    }
    const ops = tokens.get(
      String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    )
    if (!ops) {
      res.setHeader(
        'www-authenticate',
        `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`
      )
      return kvError(
        res,
        401,
        'Unauthorized',
        'AKV10000: Request is missing a Bearer or PoP token.'
      )
    }
    const m = /^\/keys\/([^/]+)(?:\/([^/]+))?(?:\/(sign|create))?$/.exec(
      u.pathname
    )
    if (!m) return kvError(res, 404, 'NotFound', 'no route')
    const name = m[1] ?? ''
    let version = m[2]
    let op = m[3]
    if (version === 'sign' || version === 'create') {
      op = version
      version = undefined
    }
    const operation: KeyOperation =
      op === 'sign' ? 'sign' : op === 'create' ? 'create' : 'get'
    if (!ops.includes(operation))
      return kvError(
        res,
        403,
        'Forbidden',
        `The user, group or application does not have keys ${operation} permission on key vault.`,
        'ForbiddenByPolicy'
      )
    if (operation === 'create') {
      if (!keys.has(name))
        keys.set(name, { versions: [newVersion()], enabled: true })
      const k = keys.get(name)!
      return send(res, 200, jwk(name, k, k.versions[k.versions.length - 1]!))
    }
    const k = keys.get(name)
    if (!k)
      return kvError(
        res,
        404,
        'KeyNotFound',
        `A key with (name/id) ${name} was not found in this key vault.`
      )
    const v = version
      ? k.versions.find(x => x.id === version)
      : k.versions[k.versions.length - 1]
    if (!v)
      return kvError(
        res,
        404,
        'KeyNotFound',
        `A key with (name/id) ${name}/${version} was not found in this key vault.`
      )
    if (operation === 'get') return send(res, 200, jwk(name, k, v))
    if (!k.enabled)
      return kvError(
        res,
        403,
        'Forbidden',
        'Operation sign is not allowed on a disabled key.',
        'KeyDisabled'
      )
    const input = JSON.parse(body) as { alg?: string; value?: string }
    const digest = Buffer.from(input.value ?? '', 'base64url')
    if (input.alg !== 'ES256' || digest.length !== 32)
      return kvError(res, 400, 'BadParameter', 'ES256 needs a 32-byte digest')
    const d = Buffer.from(
      v.privateKey.export({ format: 'jwk' }).d ?? '',
      'base64url'
    )
    const sig = Buffer.from(
      p256.sign(digest, d, { prehash: false, format: 'compact' })
    )
    return send(res, 200, {
      kid: `${base}/keys/${name}/${v.id}`,
      value: sig.toString('base64url')
    })
  }

  const dir = mkdtempSync(join(tmpdir(), 'azure-kv-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'k'),
      '-out',
      join(dir, 'c'),
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1'
    ],
    { stdio: 'ignore' }
  )
  const server = createServer(
    { key: readFileSync(join(dir, 'k')), cert: readFileSync(join(dir, 'c')) },
    (req, res) => {
      handle(req, res).catch(e => kvError(res, 500, 'InternalError', String(e)))
    }
  ) as unknown as Server
  const listening = await listenLoopback(server)
  base = `https://${listening.host}`
  return {
    ...listening,
    url: base,
    caFile: join(dir, 'c'),
    stop: async () => {
      await listening.stop()
      rmSync(dir, { recursive: true, force: true })
    },
    addApp(a) {
      const clientId = randomUUID()
      apps.set(clientId, {
        operations: a.operations ?? ['get', 'sign'],
        ...(a.secret ? { secret: a.secret } : {}),
        ...(a.subject ? { subject: a.subject } : {})
      })
      return { clientId, tenantId: TENANT }
    },
    createKey(name) {
      keys.set(name, { versions: [newVersion()], enabled: true })
    },
    setEnabled(name, enabled) {
      const k = keys.get(name)
      if (k) k.enabled = enabled
    },
    publicKeyPem(name) {
      const k = keys.get(name)
      const v = k?.versions[k.versions.length - 1]
      if (!v) throw new Error(`no key ${name}`)
      return v.publicKey.export({ format: 'pem', type: 'spki' }).toString()
    },
    throttle(n) {
      throttled = n
    }
  }
}
