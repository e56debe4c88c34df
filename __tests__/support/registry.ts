// Test harness: a real Debian `docker-registry` (distribution 2.8) on
// 127.0.0.1, with no auth, htpasswd (bcrypt) or token auth (an in-process
// ES256 token server), optionally behind TLS with a throwaway CA. Plus
// helpers that push tiny real images and indexes through RegistryClient.
// See /work/shared/docs/test-stack.md §1.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import {
  createPrivateKey,
  randomUUID,
  sign,
  X509Certificate
} from 'node:crypto'
import {
  accessSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { request as httpRequest } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { HttpClient } from '../../src/http/index.ts'
import {
  MEDIA_TYPES,
  RegistryClient,
  type Descriptor
} from '../../src/oci/index.ts'
import { ociDigest, sha256Hex, utf8 } from '../../src/util/index.ts'

export type RegistryMode = 'none' | 'htpasswd' | 'token'

export interface RegistryUser {
  username: string
  password: string
  /** Token mode only: the token server grants at most `pull`. */
  pullOnly?: boolean
}

export interface StartRegistryOptions {
  mode: RegistryMode
  tls?: boolean
  users?: RegistryUser | RegistryUser[]
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string
  /** `http(s)://127.0.0.1:PORT` */
  url: string
  mode: RegistryMode
  username?: string
  password?: string
  /** PEM file of the self-signed TLS certificate (tls only). */
  caFile?: string
  /** Token requests served so far (token mode). */
  readonly tokenRequests: number
  stop(): Promise<void>
}

const DEFAULT_USER: RegistryUser = {
  username: 'testuser',
  password: 'testpass'
}

export function requireTool(name: string, pkg: string): void {
  const found = (process.env.PATH ?? '').split(delimiter).some(dir => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
  if (!found)
    throw new Error(
      `${name} is not on PATH; install it: apt-get install -y ${pkg}`
    )
}

export async function startRegistry(
  options: StartRegistryOptions
): Promise<TestRegistry> {
  requireTool('docker-registry', 'docker-registry')
  const users =
    options.users === undefined ? [DEFAULT_USER] : [options.users].flat()
  if (options.mode === 'htpasswd') {
    requireTool('htpasswd', 'apache2-utils')
    if (users.some(u => u.pullOnly))
      throw new Error('pullOnly users need mode "token" (htpasswd has no ACLs)')
  }
  const dir = mkdtempSync(join(tmpdir(), 'sigil-registry-'))
  let token: TokenServer | undefined
  try {
    let auth = ''
    if (options.mode === 'htpasswd') {
      const lines = users.map(u =>
        execFileSync('htpasswd', ['-Bbn', u.username, u.password], {
          encoding: 'utf8'
        }).trim()
      )
      writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`)
      auth = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${join(dir, 'htpasswd')}\n`
    } else if (options.mode === 'token') {
      token = await startTokenServer(dir, users)
      auth =
        `auth:\n  token:\n    realm: ${token.realm}\n    service: test-registry\n` +
        `    issuer: test-issuer\n    rootcertbundle: ${token.certFile}\n`
    }
    let tls = ''
    let caFile: string | undefined
    if (options.tls) {
      caFile = join(dir, 'tls.crt')
      openssl(dir, 'tls.key', 'tls.crt', '127.0.0.1', [
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost'
      ])
      tls = `  tls:\n    certificate: ${caFile}\n    key: ${join(dir, 'tls.key')}\n`
    }
    const scheme = options.tls ? 'https' : 'http'
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const config =
        `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n` +
        `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\n` +
        `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomUUID()}\n${tls}${auth}`
      writeFileSync(join(dir, 'config.yml'), config)
      const child = spawn(
        'docker-registry',
        ['serve', join(dir, 'config.yml')],
        { stdio: ['ignore', 'ignore', 'pipe'] }
      )
      let log = ''
      child.stderr?.setEncoding('utf8').on('data', d => (log += d))
      const url = `${scheme}://127.0.0.1:${port}`
      const ready = await waitReady(url, child, caFile)
      if (!ready) {
        await kill(child)
        if (attempt < 3 && /address already in use/.test(log)) continue
        throw new Error(
          `docker-registry did not start on ${url}:\n${log.slice(-2000)}`
        )
      }
      const user = users[0] ?? DEFAULT_USER
      const t = token
      const registry: TestRegistry = {
        host: `127.0.0.1:${port}`,
        url,
        mode: options.mode,
        ...(options.mode !== 'none'
          ? { username: user.username, password: user.password }
          : {}),
        ...(caFile ? { caFile } : {}),
        get tokenRequests() {
          return t?.requests ?? 0
        },
        async stop() {
          await kill(child)
          await t?.close()
          rmSync(dir, { recursive: true, force: true })
        }
      }
      return registry
    }
  } catch (e) {
    await token?.close()
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

function openssl(
  dir: string,
  key: string,
  cert: string,
  cn: string,
  extra: string[] = []
): void {
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
      join(dir, key),
      '-out',
      join(dir, cert),
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      ...extra
    ],
    { stdio: 'ignore' }
  )
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

async function waitReady(
  url: string,
  child: ChildProcess,
  caFile: string | undefined
): Promise<boolean> {
  const ca = caFile ? readFileSync(caFile, 'utf8') : undefined
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false
    const status = await new Promise<number>(resolve => {
      const req = (url.startsWith('https') ? httpsRequest : httpRequest)(
        `${url}/v2/`,
        { ca },
        res => {
          res.resume()
          resolve(res.statusCode ?? 0)
        }
      )
      req.on('error', () => resolve(0))
      req.setTimeout(1000, () => req.destroy())
      req.end()
    })
    if (status === 200 || status === 401) return true
    await new Promise(r => setTimeout(r, 25))
  }
  return false
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve()
  return new Promise(resolve => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(force)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

interface TokenServer {
  realm: string
  certFile: string
  requests: number
  close(): Promise<void>
}

/** Docker token auth (distribution auth/token.md): ES256 JWT with x5c. */
async function startTokenServer(
  dir: string,
  users: RegistryUser[]
): Promise<TokenServer> {
  requireTool('openssl', 'openssl')
  openssl(dir, 'token.key', 'token.crt', 'token-issuer')
  const key = createPrivateKey(readFileSync(join(dir, 'token.key')))
  const certDer = new X509Certificate(readFileSync(join(dir, 'token.crt'))).raw
  const b64u = (b: Uint8Array | string): string =>
    Buffer.from(b).toString('base64url')
  const state = { requests: 0 }
  const server: Server = createHttpServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (u.pathname !== '/token' || req.method !== 'GET') {
      res.writeHead(404).end()
      return
    }
    state.requests++
    let user: RegistryUser | undefined
    const authz = req.headers.authorization
    if (authz) {
      const [name, ...rest] = Buffer.from(
        authz.replace(/^Basic /, ''),
        'base64'
      )
        .toString()
        .split(':')
      user = users.find(
        x => x.username === name && x.password === rest.join(':')
      )
      if (!user) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"details":"invalid username or password"}')
        return
      }
    }
    // Anonymous callers get a token with no access, like a private registry.
    const access = u.searchParams.getAll('scope').flatMap(s => {
      const [type, ...restParts] = s.split(':')
      const wanted = (restParts.pop() ?? '').split(',')
      const actions = !user
        ? []
        : user.pullOnly
          ? wanted.filter(a => a === 'pull')
          : wanted
      return [{ type, name: restParts.join(':'), actions }]
    })
    const now = Math.floor(Date.now() / 1000)
    const header = {
      alg: 'ES256',
      typ: 'JWT',
      x5c: [certDer.toString('base64')]
    }
    const claims = {
      iss: 'test-issuer',
      sub: user?.username ?? '',
      aud: u.searchParams.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access
    }
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`
    const sig = sign('sha256', Buffer.from(input), {
      key,
      dsaEncoding: 'ieee-p1363'
    })
    const jwt = `${input}.${b64u(sig)}`
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: jwt, access_token: jwt, expires_in: 300 }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile: join(dir, 'token.crt'),
    get requests() {
      return state.requests
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

// ---- test images ---------------------------------------------------------

/**
 * An admin client for a TLS test registry: an HttpClient that trusts its
 * self-signed certificate, and the registry's own credentials. `host`
 * defaults to the registry's; `scheme` unset lets the client find https.
 */
export function trustingClient(
  reg: TestRegistry,
  o: { host?: string; scheme?: 'https' } = {}
): { http: HttpClient; client: RegistryClient } {
  const http = new HttpClient({
    userAgent: 'sigil-test',
    caCerts: readFileSync(reg.caFile!, 'utf8'),
    retries: 1
  })
  const client = new RegistryClient(o.host ?? reg.host, {
    http,
    ...(o.scheme ? { scheme: o.scheme } : {}),
    credentials: { username: reg.username!, password: reg.password! }
  })
  return { http, client }
}

export interface PushedImage {
  digest: string
  size: number
  mediaType: string
  bytes: Uint8Array
  configDigest: string
  layerDigest: string
}

export interface PushedIndex {
  digest: string
  size: number
  mediaType: string
  children: { digest: string; platform: { os: string; architecture: string } }[]
}

/** A ustar archive holding one file; real enough for any image tool. */
export function tarOf(name: string, content: Uint8Array): Uint8Array {
  const header = new Uint8Array(512)
  const put = (s: string, off: number, len: number): void =>
    header.set(utf8(s).subarray(0, len), off)
  const octal = (n: number, len: number): string =>
    `${n.toString(8).padStart(len - 1, '0')}\0`
  put(name, 0, 100)
  put(octal(0o644, 8), 100, 8)
  put(octal(0, 8), 108, 8)
  put(octal(0, 8), 116, 8)
  put(octal(content.length, 12), 124, 12)
  put(octal(0, 12), 136, 12)
  put('        ', 148, 8)
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  const sum = header.reduce((a, b) => a + b, 0)
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8)
  const padded = Math.ceil(content.length / 512) * 512
  const out = new Uint8Array(512 + padded + 1024)
  out.set(header, 0)
  out.set(content, 512)
  return out
}

/** Single-platform OCI image: config + one uncompressed tar layer. */
export async function pushTestImage(
  client: RegistryClient,
  repository: string,
  tag: string | undefined,
  content: string,
  platform: { os: string; architecture: string } = {
    os: 'linux',
    architecture: 'amd64'
  }
): Promise<PushedImage> {
  const layer = tarOf('hello.txt', utf8(content))
  const config = utf8(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      config: {},
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256Hex(layer)}`] }
    })
  )
  await client.uploadBlob(repository, config)
  await client.uploadBlob(repository, layer)
  const manifest: {
    schemaVersion: 2
    mediaType: string
    config: Descriptor
    layers: Descriptor[]
  } = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    config: {
      mediaType: MEDIA_TYPES.OCI_CONFIG,
      size: config.length,
      digest: ociDigest(config)
    },
    layers: [
      {
        mediaType: MEDIA_TYPES.OCI_LAYER,
        size: layer.length,
        digest: ociDigest(layer)
      }
    ]
  }
  const bytes = utf8(JSON.stringify(manifest))
  const digest = ociDigest(bytes)
  await client.putManifest(
    repository,
    tag ?? digest,
    bytes,
    MEDIA_TYPES.OCI_MANIFEST
  )
  return {
    digest,
    size: bytes.length,
    mediaType: MEDIA_TYPES.OCI_MANIFEST,
    bytes,
    configDigest: ociDigest(config),
    layerDigest: ociDigest(layer)
  }
}

/** Multi-platform OCI index over linux/amd64 and linux/arm64 children. */
export async function pushTestIndex(
  client: RegistryClient,
  repository: string,
  tag: string,
  content: string
): Promise<PushedIndex> {
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' }
  ]
  const children = []
  for (const platform of platforms) {
    const img = await pushTestImage(
      client,
      repository,
      undefined,
      `${content} (${platform.architecture})`,
      platform
    )
    children.push({ image: img, platform })
  }
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.OCI_INDEX,
    manifests: children.map(c => ({
      mediaType: c.image.mediaType,
      size: c.image.size,
      digest: c.image.digest,
      platform: c.platform
    }))
  }
  const bytes = utf8(JSON.stringify(index))
  await client.putManifest(repository, tag, bytes, MEDIA_TYPES.OCI_INDEX)
  return {
    digest: ociDigest(bytes),
    size: bytes.length,
    mediaType: MEDIA_TYPES.OCI_INDEX,
    children: children.map(c => ({
      digest: c.image.digest,
      platform: c.platform
    }))
  }
}
