// A loopback HashiCorp Vault, from its published API reference: the transit
// secrets engine (keys read/create, sign with prehashed input) and the JWT
// auth method (login with a role; the JWT's RS256 signature is checked
// against a JWKS, its exp and aud against the role), ACL policies as
// path → capabilities, namespaces (X-Vault-Namespace), and rate-limit 429s.
// Keys live here (node:crypto ECDSA P-256); signatures are real.
// API: https://developer.hashicorp.com/vault/api-docs/secret/transit
//      https://developer.hashicorp.com/vault/api-docs/auth/jwt
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
import { p256, p384 } from '@noble/curves/nist.js'
import { listenLoopback, readAll, type Listening } from './loopback.ts'

export type Capability = 'read' | 'create' | 'update'
/** path glob (trailing `*` = prefix) → capabilities, as in an ACL policy. */
export type Policy = Record<string, Capability[]>

export interface VaultRole {
  boundAudiences: string[]
  /** Claims that must match exactly. */
  boundClaims?: Record<string, string>
  policy: Policy
}

export interface VaultEmulatorOptions {
  /** Requests must carry this X-Vault-Namespace. */
  namespace?: string
  /** Where the transit engine is mounted (default "transit"). */
  transitMount?: string
  /** Where the JWT auth method is mounted (default "jwt"). */
  jwtMount?: string
  /** JWKS the JWT auth method trusts. */
  jwks?: { keys: object[] }
}

interface TransitKey {
  type: 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519'
  versions: { privateKey: KeyObject; publicKey: KeyObject; created: string }[]
}

export interface VaultEmulator extends Listening {
  /** Root-like token with `policy` (default: everything). */
  addToken(policy?: Policy): string
  addRole(name: string, role: VaultRole): void
  createKey(name: string, type?: TransitKey['type']): void
  deleteKey(name: string): void
  /** The next `n` requests get 429 (Vault rate limit quota). */
  throttle(n: number): void
  /** Every request seen: method, path, whether it carried a token. */
  readonly requests: { method: string; path: string; token: boolean }[]
  publicKeyPem(name: string): string
}

const now = (): string => new Date().toISOString()

function jwtVerify(
  jwt: string,
  jwks: { keys: object[] }
): Record<string, unknown> | undefined {
  const parts = jwt.split('.')
  if (parts.length !== 3) return undefined
  const [h, p, s] = parts as [string, string, string]
  let header: { alg?: string; kid?: string }
  let claims: Record<string, unknown>
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString()) as typeof header
    claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as typeof claims
  } catch {
    return undefined
  }
  if (header.alg !== 'RS256') return undefined
  const jwk = jwks.keys.find(k => (k as { kid?: string }).kid === header.kid)
  if (!jwk) return undefined
  const key = createPublicKey({ key: jwk as never, format: 'jwk' })
  const ok = nodeVerify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    key,
    Buffer.from(s, 'base64url')
  )
  return ok ? claims : undefined
}

function allowed(policy: Policy, path: string, cap: Capability): boolean {
  return Object.entries(policy).some(
    ([glob, caps]) =>
      caps.includes(cap) &&
      (glob.endsWith('*') ? path.startsWith(glob.slice(0, -1)) : path === glob)
  )
}

export async function startVault(
  o: VaultEmulatorOptions = {}
): Promise<VaultEmulator> {
  const transit = o.transitMount ?? 'transit'
  const jwtMount = o.jwtMount ?? 'jwt'
  const tokens = new Map<string, Policy>()
  const roles = new Map<string, VaultRole>()
  const keys = new Map<string, TransitKey>()
  const requests: VaultEmulator['requests'] = []
  let throttled = 0

  const send = (res: ServerResponse, status: number, body?: object): void => {
    const text = body ? JSON.stringify(body) : ''
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text)
    })
    res.end(text)
  }
  const errors = (res: ServerResponse, status: number, ...e: string[]): void =>
    send(res, status, { errors: e })
  const denied = (res: ServerResponse): void =>
    errors(res, 403, '1 error occurred:\n\t* permission denied\n\n')

  const newVersion = (type: TransitKey['type']): TransitKey['versions'][0] => {
    const kp =
      type === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', {
            namedCurve: type === 'ecdsa-p384' ? 'P-384' : 'P-256'
          })
    return { ...kp, created: now() }
  }

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> => {
    const body = await readAll(req)
    const url = new URL(req.url ?? '/', 'http://vault')
    const method = req.method ?? 'GET'
    const token = req.headers['x-vault-token']
    requests.push({ method, path: url.pathname, token: !!token })
    if (throttled > 0) {
      throttled--
      return errors(res, 429, 'request path "x": rate limit quota exceeded')
    }
    if (!url.pathname.startsWith('/v1/')) return errors(res, 404)
    let path = url.pathname.slice('/v1/'.length)
    if (o.namespace !== undefined) {
      // The namespace comes in the header or as a path prefix.
      const ns = req.headers['x-vault-namespace']
      if (ns === o.namespace) {
        // ok
      } else if (path.startsWith(`${o.namespace}/`)) {
        path = path.slice(o.namespace.length + 1)
      } else {
        // Another namespace has no such mount.
        return errors(
          res,
          404,
          `no handler for route "${path}". route entry not found.`
        )
      }
    }
    let json: Record<string, unknown> = {}
    if (body.length) {
      try {
        json = JSON.parse(body.toString()) as Record<string, unknown>
      } catch {
        return errors(res, 400, 'failed to parse JSON input')
      }
    }

    // JWT auth: POST auth/<mount>/login {role, jwt}
    if (path === `auth/${jwtMount}/login` && method === 'POST') {
      const role =
        typeof json.role === 'string' ? roles.get(json.role) : undefined
      if (!role)
        return errors(
          res,
          400,
          `role "${String(json.role)}" could not be found`
        )
      const claims =
        typeof json.jwt === 'string' && o.jwks
          ? jwtVerify(json.jwt, o.jwks)
          : undefined
      if (!claims)
        return errors(
          res,
          400,
          'error validating token: failed to verify id token signature'
        )
      const exp = typeof claims.exp === 'number' ? claims.exp : 0
      if (exp * 1000 < Date.now())
        return errors(res, 400, 'error validating token: token is expired')
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      if (!aud.some(a => role.boundAudiences.includes(String(a))))
        return errors(
          res,
          400,
          'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience'
        )
      for (const [k, v] of Object.entries(role.boundClaims ?? {}))
        if (claims[k] !== v)
          return errors(
            res,
            400,
            'error validating claims: claim "' +
              k +
              '" does not match any associated bound claim values'
          )
      const t = `hvs.${randomBytes(18).toString('base64url')}`
      tokens.set(t, role.policy)
      return send(res, 200, {
        auth: {
          client_token: t,
          policies: ['signer'],
          lease_duration: 3600,
          renewable: true
        }
      })
    }

    // Everything else needs a token.
    const policy = typeof token === 'string' ? tokens.get(token) : undefined
    if (!policy)
      return errors(
        res,
        403,
        '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'
      )

    const keyMatch = new RegExp(`^${transit}/keys/([\\w.-]+)$`).exec(path)
    if (keyMatch) {
      const name = keyMatch[1] ?? ''
      if (method === 'GET') {
        if (!allowed(policy, path, 'read')) return denied(res)
        const k = keys.get(name)
        if (!k) return errors(res, 404)
        return send(res, 200, {
          data: {
            name,
            type: k.type,
            latest_version: k.versions.length,
            min_available_version: 0,
            keys: Object.fromEntries(
              k.versions.map((v, i) => [
                String(i + 1),
                {
                  creation_time: v.created,
                  name:
                    k.type === 'ed25519'
                      ? 'ed25519'
                      : k.type === 'ecdsa-p384'
                        ? 'P-384'
                        : 'P-256',
                  public_key:
                    k.type === 'ed25519'
                      ? v.publicKey
                          .export({ format: 'der', type: 'spki' })
                          .subarray(12)
                          .toString('base64')
                      : v.publicKey.export({ format: 'pem', type: 'spki' })
                }
              ])
            )
          }
        })
      }
      if (method === 'POST') {
        if (!allowed(policy, path, keys.has(name) ? 'update' : 'create'))
          return denied(res)
        const type = (json.type ?? 'aes256-gcm96') as string
        if (!keys.has(name)) {
          if (
            type !== 'ecdsa-p256' &&
            type !== 'ecdsa-p384' &&
            type !== 'ed25519'
          )
            return errors(res, 400, `unknown key type: ${type}`)
          keys.set(name, { type, versions: [newVersion(type)] })
        }
        return send(res, 204)
      }
    }

    const signMatch = new RegExp(
      `^${transit}/sign/([\\w.-]+)(?:/(sha2-256|sha2-384|sha2-512))?$`
    ).exec(path)
    if (signMatch && method === 'POST') {
      if (!allowed(policy, path, 'update')) return denied(res)
      const k = keys.get(signMatch[1] ?? '')
      if (!k) return errors(res, 400, 'signing key not found')
      const hashName = signMatch[2] ?? 'sha2-256'
      const size =
        { 'sha2-256': 32, 'sha2-384': 48, 'sha2-512': 64 }[hashName] ?? 32
      if (json.prehashed !== true)
        return errors(
          res,
          400,
          'this emulator expects prehashed input, as cosign sends'
        )
      const input = Buffer.from(String(json.input ?? ''), 'base64')
      if (input.length !== size)
        return errors(
          res,
          400,
          `input must be a ${hashName} digest when prehashed`
        )
      const wanted = Number(json.key_version ?? 0)
      const version = wanted === 0 ? k.versions.length : wanted
      const v = k.versions[version - 1]
      if (!v)
        return errors(res, 400, `requested version for signing does not exist`)
      if (k.type === 'ed25519')
        return errors(
          res,
          400,
          'prehashed input is not supported for ed25519 keys'
        )
      const jwk = v.privateKey.export({ format: 'jwk' })
      const d = Buffer.from(jwk.d ?? '', 'base64url')
      const curve = k.type === 'ecdsa-p384' ? p384 : p256
      const sig = curve.sign(input, d, { prehash: false, format: 'der' })
      return send(res, 200, {
        data: {
          signature: `vault:v${version}:${Buffer.from(sig).toString('base64')}`,
          key_version: version
        }
      })
    }
    return errors(res, 404, `no handler for route "${path}"`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(e => {
      errors(res, 500, String(e))
    })
  })
  const listening = await listenLoopback(server)
  return {
    ...listening,
    requests,
    addToken(policy = { '*': ['read', 'create', 'update'] }) {
      const t = `hvs.${randomBytes(18).toString('base64url')}`
      tokens.set(t, policy)
      return t
    },
    addRole(name, role) {
      roles.set(name, role)
    },
    createKey(name, type = 'ecdsa-p256') {
      keys.set(name, { type, versions: [newVersion(type)] })
    },
    deleteKey(name) {
      keys.delete(name)
    },
    throttle(n) {
      throttled = n
    },
    publicKeyPem(name) {
      const k = keys.get(name)
      const v = k?.versions[k.versions.length - 1]
      if (!v) throw new Error(`no key ${name}`)
      return v.publicKey.export({ format: 'pem', type: 'spki' }).toString()
    }
  }
}

/** The policy cosign needs to sign with `key` (transit at `mount`). */
export function signerPolicy(key: string, mount = 'transit'): Policy {
  return {
    [`${mount}/keys/${key}`]: ['read'],
    [`${mount}/sign/${key}/*`]: ['update']
  }
}
