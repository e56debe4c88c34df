// A loopback AWS KMS + STS, from their published API references: KMS's JSON
// 1.1 protocol (GetPublicKey, Sign with MessageType DIGEST, CreateKey,
// CreateAlias; KeyId as key id, key ARN, alias name or alias ARN; the
// documented exception types) and STS AssumeRoleWithWebIdentity (query
// protocol, XML answer). Every KMS request's SigV4 signature is recomputed
// with AWS's own signer (@smithy/signature-v4) from the secret the emulator
// issued; web identity tokens are RS256-checked against a JWKS and the
// role's audience and subject. IAM: each principal has the KMS actions it
// may call. Keys live here (ECDSA P-256, node:crypto); signatures are real.
// https://docs.aws.amazon.com/kms/latest/APIReference/
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
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
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Hash } from '@smithy/hash-node'
import { SignatureV4 } from '@smithy/signature-v4'
import { p256 } from '@noble/curves/nist.js'
import { listenLoopback, readAll, type Listening } from './loopback.ts'

export const ACCOUNT = '111122223333'
export const REGION = 'us-east-2'

export type KmsAction =
  'kms:GetPublicKey' | 'kms:Sign' | 'kms:CreateKey' | 'kms:CreateAlias'

interface Principal {
  arn: string
  secret: string
  sessionToken?: string
  actions: KmsAction[]
}

interface Key {
  id: string
  arn: string
  privateKey: KeyObject
  publicKey: KeyObject
  state: 'Enabled' | 'Disabled' | 'PendingDeletion'
}

export interface WebIdentityRole {
  audience: string
  /** Required `sub` claim. */
  subject?: string
  actions: KmsAction[]
}

export interface AwsEmulator extends Listening {
  /** PEM of a self-signed certificate for 127.0.0.1 (tls only). */
  caFile?: string
  /** Long-term credentials of an IAM user allowed `actions`. */
  addUser(actions?: KmsAction[]): {
    accessKeyId: string
    secretAccessKey: string
  }
  addRole(name: string, role: WebIdentityRole): string
  createKey(alias?: string): { id: string; arn: string }
  setKeyState(idOrAlias: string, state: Key['state']): void
  publicKeyPem(idOrAlias: string): string
  /** The next `n` KMS requests get ThrottlingException. */
  throttle(n: number): void
  /** Every request: its API (`TrentService.Sign`, `AssumeRoleWithWebIdentity`) and outcome. */
  readonly calls: { api: string; status: number; type?: string }[]
}

function jwtClaims(
  jwt: string,
  jwks: { keys: object[] }
): Record<string, unknown> | undefined {
  const [h, p, s] = jwt.split('.')
  if (!h || !p || !s) return undefined
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as {
      alg?: string
      kid?: string
    }
    const jwk = jwks.keys.find(k => (k as { kid?: string }).kid === header.kid)
    if (header.alg !== 'RS256' || !jwk) return undefined
    const ok = nodeVerify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      createPublicKey({ key: jwk as never, format: 'jwk' }),
      Buffer.from(s, 'base64url')
    )
    return ok
      ? (JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<
          string,
          unknown
        >)
      : undefined
  } catch {
    return undefined
  }
}

export async function startAwsKms(
  o: { tls?: boolean; jwks?: { keys: object[] } } = {}
): Promise<AwsEmulator> {
  const principals = new Map<string, Principal>()
  const roles = new Map<string, WebIdentityRole>()
  const keys = new Map<string, Key>()
  const aliases = new Map<string, string>()
  const calls: AwsEmulator['calls'] = []
  let throttled = 0

  const findKey = (keyId: string): Key | undefined => {
    const alias = /^(?:arn:aws:kms:[a-z0-9-]+:\d{12}:)?(alias\/.+)$/.exec(keyId)
    if (alias?.[1]) {
      const id = aliases.get(alias[1])
      return id ? keys.get(id) : undefined
    }
    const id = /^(?:arn:aws:kms:[a-z0-9-]+:\d{12}:key\/)?([0-9a-f-]{36})$/.exec(
      keyId
    )?.[1]
    return id ? keys.get(id) : undefined
  }
  const newKey = (): Key => {
    const id = randomUUID()
    const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const key: Key = {
      id,
      arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`,
      ...kp,
      state: 'Enabled'
    }
    keys.set(id, key)
    return key
  }

  const reply = (
    res: ServerResponse,
    api: string,
    status: number,
    body: string,
    type?: string,
    contentType = 'application/x-amz-json-1.1'
  ): void => {
    calls.push({ api, status, ...(type ? { type } : {}) })
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': randomUUID()
    })
    res.end(body)
  }
  const kmsError = (
    res: ServerResponse,
    api: string,
    type: string,
    message: string,
    status = 400
  ): void =>
    reply(res, api, status, JSON.stringify({ __type: type, message }), type)

  /** The SigV4 check: recomputed with @smithy/signature-v4. */
  const authenticate = async (
    req: IncomingMessage,
    body: Buffer,
    url: URL
  ): Promise<Principal | string> => {
    const auth = req.headers.authorization ?? ''
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        auth
      )
    if (!m) return 'MissingAuthenticationTokenException'
    const [
      ,
      akid = '',
      day = '',
      region = '',
      service = '',
      signed = '',
      signature = ''
    ] = m
    const principal = principals.get(akid)
    if (!principal) return 'UnrecognizedClientException'
    if (
      principal.sessionToken &&
      req.headers['x-amz-security-token'] !== principal.sessionToken
    )
      return 'UnrecognizedClientException'
    const date = String(req.headers['x-amz-date'] ?? '')
    const when = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`
    )
    if (
      !(Math.abs(when.getTime() - Date.now()) < 5 * 60_000) ||
      date.slice(0, 8) !== day
    )
      return 'InvalidSignatureException'
    if (region !== REGION || service !== 'kms')
      return 'InvalidSignatureException'
    const names = signed.split(';')
    if (!names.includes('host') || !names.includes('x-amz-date'))
      return 'InvalidSignatureException'
    const headers: Record<string, string> = {}
    for (const n of names) headers[n] = String(req.headers[n] ?? '')
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: akid,
        secretAccessKey: principal.secret,
        ...(principal.sessionToken
          ? { sessionToken: principal.sessionToken }
          : {})
      },
      region,
      service,
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: true,
      applyChecksum: false
    })
    const [hostname = '', port] = (req.headers.host ?? '').split(':')
    const expected = await signer.sign(
      {
        method: req.method ?? 'POST',
        protocol: url.protocol,
        hostname,
        ...(port ? { port: Number(port) } : {}),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        headers,
        body: body.toString('utf8')
      },
      { signingDate: when }
    )
    const got = /Signature=([0-9a-f]{64})/.exec(
      String(expected.headers.authorization ?? '')
    )?.[1]
    return got === signature ? principal : 'InvalidSignatureException'
  }

  const sts = (res: ServerResponse, form: URLSearchParams): void => {
    const api = 'AssumeRoleWithWebIdentity'
    const fail = (code: string, message: string, status = 400): void =>
      reply(
        res,
        api,
        status,
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        code,
        'text/xml'
      )
    if (form.get('Version') !== '2011-06-15')
      return fail('InvalidParameterValue', 'Version')
    const roleArn = form.get('RoleArn') ?? ''
    const role = roles.get(roleArn)
    const claims = o.jwks
      ? jwtClaims(form.get('WebIdentityToken') ?? '', o.jwks)
      : undefined
    if (!claims)
      return fail(
        'InvalidIdentityToken',
        "Couldn't verify the signature of the web identity token"
      )
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now())
      return fail('ExpiredTokenException', 'Token is expired')
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (
      !role ||
      !aud.includes(role.audience) ||
      (role.subject && claims.sub !== role.subject)
    )
      return fail(
        'AccessDenied',
        'Not authorized to perform sts:AssumeRoleWithWebIdentity',
        403
      )
    if (!form.get('RoleSessionName'))
      return fail('ValidationError', 'RoleSessionName is required')
    const akid = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`
    const secret = randomBytes(30).toString('base64')
    const session = randomBytes(60).toString('base64')
    principals.set(akid, {
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleArn.split('/').pop()}/${form.get('RoleSessionName')}`,
      secret,
      sessionToken: session,
      actions: role.actions
    })
    const exp = new Date(Date.now() + 3600_000).toISOString()
    reply(
      res,
      api,
      200,
      `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>${String(claims.sub)}</SubjectFromWebIdentityToken><Credentials><SessionToken>${session}</SessionToken><SecretAccessKey>${secret}</SecretAccessKey><Expiration>${exp}</Expiration><AccessKeyId>${akid}</AccessKeyId></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/x/y</Arn><AssumedRoleId>AROA:y</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
      undefined,
      'text/xml'
    )
  }

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    scheme: string
  ): Promise<void> => {
    const body = await readAll(req)
    const url = new URL(
      req.url ?? '/',
      `${scheme}://${req.headers.host ?? 'x'}`
    )
    const target = String(req.headers['x-amz-target'] ?? '')
    if (!target) {
      const form = new URLSearchParams(body.toString())
      if (form.get('Action') === 'AssumeRoleWithWebIdentity')
        return sts(res, form)
      return reply(res, 'unknown', 400, '{}')
    }
    const api = target
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
      return kmsError(res, api, 'SerializationException', 'content-type')
    if (throttled > 0) {
      throttled--
      return kmsError(res, api, 'ThrottlingException', 'Rate exceeded')
    }
    const who = await authenticate(req, body, url)
    if (typeof who === 'string')
      return kmsError(
        res,
        api,
        who,
        who === 'UnrecognizedClientException'
          ? 'The security token included in the request is invalid.'
          : 'The request signature we calculated does not match the signature you provided.',
        who === 'UnrecognizedClientException' ? 400 : 400
      )
    const input = JSON.parse(body.toString() || '{}') as Record<string, string>
    const op = target.replace(/^TrentService\./, '')
    const action = `kms:${op}` as KmsAction
    const key = input.KeyId ? findKey(input.KeyId) : undefined
    if (!who.actions.includes(action))
      return kmsError(
        res,
        api,
        'AccessDeniedException',
        `User: ${who.arn} is not authorized to perform: ${action} on resource: ${key?.arn ?? '*'} because no identity-based policy allows the ${action} action`
      )
    switch (op) {
      case 'GetPublicKey':
      case 'Sign': {
        if (!key)
          return kmsError(
            res,
            api,
            'NotFoundException',
            `Key '${input.KeyId}' does not exist`
          )
        if (key.state === 'Disabled')
          return kmsError(
            res,
            api,
            'DisabledException',
            `${key.arn} is disabled.`
          )
        if (key.state === 'PendingDeletion')
          return kmsError(
            res,
            api,
            'KMSInvalidStateException',
            `${key.arn} is pending deletion.`
          )
        if (op === 'GetPublicKey')
          return reply(
            res,
            api,
            200,
            JSON.stringify({
              KeyId: key.arn,
              PublicKey: key.publicKey
                .export({ format: 'der', type: 'spki' })
                .toString('base64'),
              KeySpec: 'ECC_NIST_P256',
              CustomerMasterKeySpec: 'ECC_NIST_P256',
              KeyUsage: 'SIGN_VERIFY',
              SigningAlgorithms: ['ECDSA_SHA_256']
            })
          )
        if (input.SigningAlgorithm !== 'ECDSA_SHA_256')
          return kmsError(
            res,
            api,
            'InvalidKeyUsageException',
            `${input.SigningAlgorithm} is not supported by ${key.arn}`
          )
        const digest = Buffer.from(input.Message ?? '', 'base64')
        if (input.MessageType !== 'DIGEST' || digest.length !== 32)
          return kmsError(
            res,
            api,
            'ValidationException',
            'Message must be a 32-byte SHA-256 digest with MessageType DIGEST'
          )
        const d = Buffer.from(
          key.privateKey.export({ format: 'jwk' }).d ?? '',
          'base64url'
        )
        const sig = p256.sign(digest, d, { prehash: false, format: 'der' })
        return reply(
          res,
          api,
          200,
          JSON.stringify({
            KeyId: key.arn,
            Signature: Buffer.from(sig).toString('base64'),
            SigningAlgorithm: 'ECDSA_SHA_256'
          })
        )
      }
      case 'CreateKey': {
        if (
          input.KeySpec !== 'ECC_NIST_P256' ||
          input.KeyUsage !== 'SIGN_VERIFY'
        )
          return kmsError(
            res,
            api,
            'ValidationException',
            'this emulator creates ECC_NIST_P256 SIGN_VERIFY keys'
          )
        const k = newKey()
        return reply(
          res,
          api,
          200,
          JSON.stringify({
            KeyMetadata: {
              KeyId: k.id,
              Arn: k.arn,
              KeySpec: 'ECC_NIST_P256',
              KeyUsage: 'SIGN_VERIFY',
              KeyState: 'Enabled',
              Description: input.Description
            }
          })
        )
      }
      case 'CreateAlias': {
        const alias = input.AliasName ?? ''
        if (!alias.startsWith('alias/'))
          return kmsError(
            res,
            api,
            'ValidationException',
            'AliasName must begin with alias/'
          )
        if (aliases.has(alias))
          return kmsError(
            res,
            api,
            'AlreadyExistsException',
            `An alias with the name ${alias} already exists`
          )
        const t = findKey(input.TargetKeyId ?? '')
        if (!t)
          return kmsError(
            res,
            api,
            'NotFoundException',
            'target key does not exist'
          )
        aliases.set(alias, t.id)
        return reply(res, api, 200, '')
      }
    }
    return kmsError(res, api, 'UnknownOperationException', op)
  }

  let caFile: string | undefined
  let server: Server
  const listener =
    (scheme: string) => (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res, scheme).catch(e => {
        if (!res.headersSent)
          kmsError(res, 'error', 'InternalFailure', String(e), 500)
      })
    }
  let dir: string | undefined
  if (o.tls) {
    dir = mkdtempSync(join(tmpdir(), 'aws-kms-tls-'))
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
        join(dir, 'tls.key'),
        '-out',
        join(dir, 'tls.crt'),
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1'
      ],
      { stdio: 'ignore' }
    )
    caFile = join(dir, 'tls.crt')
    server = createHttpsServer(
      { key: readFileSync(join(dir, 'tls.key')), cert: readFileSync(caFile) },
      listener('https')
    )
  } else server = createHttpServer(listener('http'))
  const listening = await listenLoopback(server)
  return {
    ...listening,
    ...(o.tls ? { url: listening.url.replace('http:', 'https:') } : {}),
    ...(caFile ? { caFile } : {}),
    stop: async () => {
      await listening.stop()
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
    calls,
    addUser(
      actions = [
        'kms:GetPublicKey',
        'kms:Sign',
        'kms:CreateKey',
        'kms:CreateAlias'
      ]
    ) {
      const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`
      const secretAccessKey = randomBytes(30).toString('base64')
      principals.set(accessKeyId, {
        arn: `arn:aws:iam::${ACCOUNT}:user/ci`,
        secret: secretAccessKey,
        actions
      })
      return { accessKeyId, secretAccessKey }
    },
    addRole(name, role) {
      const arn = `arn:aws:iam::${ACCOUNT}:role/${name}`
      roles.set(arn, role)
      return arn
    },
    createKey(alias) {
      const k = newKey()
      if (alias) aliases.set(alias, k.id)
      return { id: k.id, arn: k.arn }
    },
    setKeyState(idOrAlias, state) {
      const k = findKey(idOrAlias)
      if (!k) throw new Error(`no key ${idOrAlias}`)
      k.state = state
    },
    publicKeyPem(idOrAlias) {
      const k = findKey(idOrAlias)
      if (!k) throw new Error(`no key ${idOrAlias}`)
      return k.publicKey.export({ format: 'pem', type: 'spki' }).toString()
    },
    throttle(n) {
      throttled = n
    }
  }
}
