// A loopback Sigstore stack for tests: real HTTP servers on 127.0.0.1 (free
// ports) around @sigstore/mock's handlers — Fulcio (real certificates with an
// embedded SCT), Rekor v1 (SET, proof, checkpoint) and an RFC 3161 TSA — with
// fresh keys per start and a matching trusted_root.json. On top of the mock:
//  * Rekor stores entries: a duplicate canonical body answers 409 with a
//    Location header, and GET /api/v1/log/entries/<id> and ?logIndex=N work,
//    and so does search by content (POST /api/v1/log/entries/retrieve);
//    entry UUIDs are the RFC 6962 leaf hash, as in real Rekor;
//  * Rekor canonicalizes dsse v0.0.1 entries like real Rekor (the mock stores
//    the proposed entry, which verifiers reject);
//  * the TSA accepts a DER TimeStampReq (application/timestamp-query, what
//    timestamp.sigstore.dev takes) by translating it into the mock's JSON
//    request, echoing the request's exact nonce; JSON requests (sigstore-js)
//    pass through unchanged;
//  * a Rekor v2 (tile) log of our own on its own port (rekor-v2.ts: Ed25519
//    checkpoints, RFC 6962 inclusion proofs), in the trusted root beside v1;
//  * a signing_config.v0.2.json naming Fulcio, the Rekor v2 log, and the
//    TSA (signingConfigPath), as public good's Rekor v2 config does;
//  * per-service request counts and injected failures (status or reset).
// See ../../../shared/docs/test-stack.md §3-§4.

import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler
} from '@sigstore/mock'
import { canonicalJson, createRekorV2Log, type RekorV2Log } from './rekor-v2.ts'

export type StackService = 'fulcio' | 'rekor' | 'tsa' | 'rekor2'

export interface SigstoreStack {
  fulcioUrl: string
  rekorUrl: string
  /** A Rekor v2 log (POST /api/v2/log/entries), listed in the trusted root. */
  rekorV2Url: string
  rekorV2: RekorV2Log
  /** signing_config.v0.2.json: Fulcio v1, Rekor v2 (this log), the TSA. */
  signingConfig: object
  signingConfigPath: string
  /** base URL; the timestamp endpoint is `${tsaUrl}/api/v1/timestamp` */
  tsaUrl: string
  /** full timestamp endpoint URL (what TsaClient takes) */
  tsaTimestampUrl: string
  trustedRoot: TrustedRootJson
  trustedRootPath: string
  /** requests received per service (including failed/injected ones) */
  counts: Record<StackService, number>
  /** The next `times` requests to `service` get `status` (or a reset socket); 0 clears the queue. */
  failNext(
    service: StackService,
    status: number | 'reset',
    times?: number
  ): void
  /** Raw Rekor v1 entries stored so far, by UUID (64 hex). */
  rekorEntries: Map<string, Record<string, unknown>>
  stop(): Promise<void>
}

export interface StartSigstoreStackOptions {
  /** JWT claim the fake Fulcio copies into the URI SAN (default `sub`). */
  subjectClaim?: string
}

export type TrustedRootJson = {
  mediaType: string
  tlogs: object[]
  certificateAuthorities: object[]
  ctlogs: object[]
  timestampAuthorities: object[]
}

type HandlerResult = {
  statusCode: number
  response: string | ArrayBufferView
  contentType?: string
  headers?: Record<string, string>
}

const b64 = (b: ArrayBufferView | Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
const sha256 = (b: Uint8Array | string): Buffer =>
  createHash('sha256').update(b).digest()
const ecKeyPair = (): { publicKey: KeyObject; privateKey: KeyObject } =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
const spki = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'spki' })

export async function startSigstoreStack(
  options: StartSigstoreStackOptions = {}
): Promise<SigstoreStack> {
  const counts: Record<StackService, number> = {
    fulcio: 0,
    rekor: 0,
    tsa: 0,
    rekor2: 0
  }
  const failures: Record<StackService, (number | 'reset')[]> = {
    fulcio: [],
    rekor: [],
    tsa: [],
    rekor2: []
  }
  const routes: Record<
    StackService,
    (req: IncomingMessage, body: Buffer) => Promise<HandlerResult>
  > = {
    fulcio: async () => notFound(),
    rekor: async () => notFound(),
    tsa: async () => notFound(),
    rekor2: async () => notFound()
  }

  // Servers first: the Rekor checkpoint origin is the host:port of its URL.
  const servers = {} as Record<StackService, Server>
  const urls = {} as Record<StackService, string>
  for (const service of ['fulcio', 'rekor', 'tsa', 'rekor2'] as const) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        counts[service]++
        const injected = failures[service].shift()
        if (injected === 'reset') {
          req.socket.destroy()
          return
        }
        if (injected !== undefined) {
          send(res, {
            statusCode: injected,
            response: JSON.stringify({
              code: injected,
              message: 'injected failure'
            }),
            contentType: 'application/json'
          })
          return
        }
        routes[service](req, Buffer.concat(chunks)).then(
          r => send(res, r),
          (e: unknown) =>
            send(res, {
              statusCode: 500,
              response: String(e),
              contentType: 'text/plain'
            })
        )
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    servers[service] = server
    urls[service] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  const [caKey, ctKey, tlKey, tsaKey] = [
    ecKeyPair(),
    ecKeyPair(),
    ecKeyPair(),
    ecKeyPair()
  ]
  const ctlog = await initializeCTLog(ctKey)
  const ca = await initializeCA(caKey, ctlog)
  const tlog = await initializeTLog(urls.rekor, tlKey)
  const tsa = await initializeTSA(tsaKey)

  // Fulcio: the mock handler as-is.
  const fulcio = fulcioHandler(ca, {
    strict: true,
    ...(options.subjectClaim ? { subjectClaim: options.subjectClaim } : {})
  })
  routes.fulcio = async (req, body) =>
    req.method === 'POST' && pathOf(req) === fulcio.path
      ? fulcio.fn(body.toString())
      : notFound()

  // Rekor: dsse canonicalization, storage, 409 and GET.
  const rekorEntries = new Map<string, Record<string, unknown>>()
  const treeId = '0000000000000001'.padStart(16, '0')
  const canonTlog = {
    ...tlog,
    log: (e: object) => tlog.log(canonicalizeDsse(e))
  }
  const rekor = rekorHandler(canonTlog, { strict: true })
  routes.rekor = async (req, body) => {
    const path = pathOf(req)
    if (req.method === 'POST' && path === rekor.path) {
      const r = await rekor.fn(body.toString())
      if (r.statusCode !== 201) return r
      const created = JSON.parse(String(r.response)) as Record<
        string,
        Record<string, unknown>
      >
      const entry = Object.values(created)[0]!
      // Real Rekor: UUID = leaf hash of the canonical body.
      const uuid = sha256(
        Buffer.concat([
          Buffer.of(0),
          Buffer.from(String(entry['body']), 'base64')
        ])
      ).toString('hex')
      const entryId = treeId + uuid
      if (rekorEntries.has(uuid)) {
        return {
          statusCode: 409,
          response: JSON.stringify({
            code: 409,
            message: `an equivalent entry already exists in the transparency log with UUID ${entryId}`
          }),
          contentType: 'application/json',
          headers: { location: `${rekor.path}/${entryId}`, etag: entryId }
        }
      }
      rekorEntries.set(uuid, entry)
      return {
        statusCode: 201,
        response: JSON.stringify({ [entryId]: entry }),
        contentType: 'application/json',
        headers: { location: `${rekor.path}/${entryId}`, etag: entryId }
      }
    }
    if (req.method === 'POST' && path === `${rekor.path}/retrieve`) {
      // Search by content: the proposed entry's canonical body names its
      // leaf, as in real Rekor; one object per entry, {} when not logged.
      let entries: unknown
      try {
        entries = (JSON.parse(body.toString()) as { entries?: unknown }).entries
      } catch {
        return json(400, { code: 400, message: 'bad JSON' })
      }
      if (!Array.isArray(entries))
        return json(422, { code: 422, message: 'entries is required' })
      return json(
        200,
        entries.map(e => {
          const canonical = Buffer.from(
            canonicalJson(canonicalizeDsse(e as object))
          )
          const uuid = sha256(
            Buffer.concat([Buffer.of(0), canonical])
          ).toString('hex')
          const entry = rekorEntries.get(uuid)
          return entry ? { [treeId + uuid]: entry } : {}
        })
      )
    }
    if (req.method === 'GET' && path.startsWith(`${rekor.path}/`)) {
      const id = path.slice(rekor.path.length + 1).toLowerCase()
      const entry = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/.test(id)
        ? rekorEntries.get(id.slice(-64))
        : undefined
      return entry
        ? json(200, { [treeId + id.slice(-64)]: entry })
        : json(404, { code: 404, message: 'entry not found' })
    }
    if (req.method === 'GET' && path === rekor.path) {
      const index = Number(
        new URL(req.url!, 'http://x').searchParams.get('logIndex')
      )
      for (const [uuid, entry] of rekorEntries) {
        if (entry['logIndex'] === index)
          return json(200, { [treeId + uuid]: entry })
      }
      return json(404, { code: 404, message: 'entry not found' })
    }
    return notFound()
  }

  // Rekor v2: our own tile log; the checkpoint origin is host:port.
  const rekorV2 = createRekorV2Log(urls.rekor2.replace(/^http:\/\//, ''))
  routes.rekor2 = async (req, body) => {
    if (req.method !== 'POST' || pathOf(req) !== '/api/v2/log/entries')
      return notFound()
    const r = rekorV2.create(body)
    return json(r.status, r.json)
  }

  // TSA: DER requests translated to the mock's JSON; the reply carries the
  // request's exact nonce (the mock would take a JS number, losing bits).
  const tsaImpl = tsa as unknown as {
    tstInfo: (r: { nonce: number }) => { nonce: unknown }
    getCurrentTime: () => Date
  }
  // pkijs writes fractional seconds into genTime, which @sigstore/core's
  // parser rejects ("invalid time") whenever the millisecond part is non-zero.
  tsaImpl.getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000)
  const origTstInfo = tsaImpl.tstInfo.bind(tsa)
  let pendingNonce: bigint | undefined
  tsaImpl.tstInfo = r => {
    const info = origTstInfo(r)
    if (pendingNonce !== undefined) {
      const Int = (
        info.nonce as { constructor: { fromBigInt(v: bigint): unknown } }
      ).constructor
      info.nonce = Int.fromBigInt(pendingNonce)
    }
    return info
  }
  const tsaH = tsaHandler(tsa, { strict: true })
  routes.tsa = async (req, body) => {
    if (req.method !== 'POST' || pathOf(req) !== tsaH.path) return notFound()
    const type = String(req.headers['content-type'] ?? '')
    if (!type.startsWith('application/timestamp-query')) {
      pendingNonce = undefined
      return tsaH.fn(body.toString())
    }
    let parsed: ParsedTimeStampReq
    try {
      parsed = parseTimeStampReq(body)
    } catch (e) {
      return { statusCode: 400, response: `bad TimeStampReq: ${String(e)}` }
    }
    // tstInfo runs synchronously inside fn(), before its first await.
    pendingNonce = parsed.nonce
    const reply = tsaH.fn(
      JSON.stringify({
        artifactHash: b64(parsed.imprint),
        hashAlgorithm:
          parsed.hashOid === '2.16.840.1.101.3.4.2.1'
            ? 'sha256'
            : parsed.hashOid,
        certificates: parsed.certReq,
        nonce: 1
      })
    )
    pendingNonce = undefined
    return reply
  }

  const start = new Date(Date.now() - 60 * 60 * 1000).toISOString()
  const pub = (k: KeyObject) => ({
    rawBytes: b64(spki(k)),
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFor: { start }
  })
  const logId = (k: KeyObject) => ({ keyId: b64(sha256(spki(k))) })
  const trustedRoot: TrustedRootJson = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: urls.rekor,
        hashAlgorithm: 'SHA2_256',
        publicKey: pub(tlKey.publicKey),
        logId: logId(tlKey.publicKey)
      },
      {
        baseUrl: urls.rekor2,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(spki(rekorV2.publicKey)),
          keyDetails: 'PKIX_ED25519',
          validFor: { start }
        },
        logId: { keyId: rekorV2.logId }
      }
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: urls.fulcio,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start }
      }
    ],
    ctlogs: [
      {
        baseUrl: urls.fulcio,
        hashAlgorithm: 'SHA2_256',
        publicKey: pub(ctKey.publicKey),
        logId: logId(ctKey.publicKey)
      }
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: urls.tsa,
        certChain: {
          certificates: [
            { rawBytes: b64(tsa.intCertificate) },
            { rawBytes: b64(tsa.rootCertificate) }
          ]
        },
        validFor: { start }
      }
    ]
  }
  const dir = await mkdtemp(join(tmpdir(), 'sigil-sigstore-'))
  const trustedRootPath = join(dir, 'trusted_root.json')
  await writeFile(trustedRootPath, JSON.stringify(trustedRoot, null, 2))
  const service = (url: string, majorApiVersion: number) => ({
    url,
    majorApiVersion,
    validFor: { start },
    operator: 'loopback'
  })
  const signingConfig = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service(urls.fulcio, 1)],
    oidcUrls: [],
    rekorTlogUrls: [service(urls.rekor2, 2)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: [service(`${urls.tsa}${tsaH.path}`, 1)],
    tsaConfig: { selector: 'ANY' }
  }
  const signingConfigPath = join(dir, 'signing_config.json')
  await writeFile(signingConfigPath, JSON.stringify(signingConfig, null, 2))

  return {
    fulcioUrl: urls.fulcio,
    rekorUrl: urls.rekor,
    rekorV2Url: urls.rekor2,
    rekorV2,
    signingConfig,
    signingConfigPath,
    tsaUrl: urls.tsa,
    tsaTimestampUrl: `${urls.tsa}${tsaH.path}`,
    trustedRoot,
    trustedRootPath,
    counts,
    rekorEntries,
    failNext(service, status, times = 1) {
      // times = 0 clears what is still queued for the service.
      if (times === 0) failures[service].length = 0
      for (let i = 0; i < times; i++) failures[service].push(status)
    },
    async stop() {
      await Promise.all(
        Object.values(servers).map(
          s =>
            new Promise<void>(resolve => {
              s.closeAllConnections()
              s.close(() => resolve())
            })
        )
      )
      await rm(dir, { recursive: true, force: true })
    }
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://x').pathname
}

function notFound(): HandlerResult {
  return { statusCode: 404, response: 'not found', contentType: 'text/plain' }
}

function json(statusCode: number, body: unknown): HandlerResult {
  return {
    statusCode,
    response: JSON.stringify(body),
    contentType: 'application/json'
  }
}

function send(res: ServerResponse, r: HandlerResult): void {
  const body =
    typeof r.response === 'string'
      ? r.response
      : Buffer.from(
          r.response.buffer,
          r.response.byteOffset,
          r.response.byteLength
        )
  res.writeHead(r.statusCode, {
    'content-type': r.contentType ?? 'text/plain',
    ...(r.headers ?? {})
  })
  res.end(body)
}

/** What real Rekor stores for a proposed dsse v0.0.1 entry. */
function canonicalizeDsse(e: object): object {
  const entry = e as {
    kind?: string
    spec?: { proposedContent?: { envelope: string; verifiers: string[] } }
  }
  const pc = entry.kind === 'dsse' ? entry.spec?.proposedContent : undefined
  if (!pc) return e
  const env = JSON.parse(pc.envelope) as {
    payload: string
    signatures: { sig: string }[]
  }
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: {
        algorithm: 'sha256',
        value: sha256(pc.envelope).toString('hex')
      },
      payloadHash: {
        algorithm: 'sha256',
        value: sha256(Buffer.from(env.payload, 'base64')).toString('hex')
      },
      signatures: env.signatures.map((s, i) => ({
        signature: s.sig,
        verifier: pc.verifiers[i]
      }))
    }
  }
}

interface ParsedTimeStampReq {
  hashOid: string
  imprint: Buffer
  nonce: bigint | undefined
  certReq: boolean
}

/**
 * TimeStampReq ::= SEQUENCE { version, messageImprint SEQUENCE { AlgId,
 * OCTET STRING }, reqPolicy OID?, nonce INTEGER?, certReq BOOLEAN?, [0]? }.
 * An independent little parser (the product's encoder must not grade itself).
 */
function parseTimeStampReq(der: Buffer): ParsedTimeStampReq {
  const read = (buf: Buffer, off: number) => {
    const tag = buf[off]!
    let len = buf[off + 1]!
    let hdr = 2
    if (len & 0x80) {
      const n = len & 0x7f
      len = buf.readUIntBE(off + 2, n)
      hdr += n
    }
    if (off + hdr + len > buf.length) throw new Error('truncated')
    return {
      tag,
      value: buf.subarray(off + hdr, off + hdr + len),
      end: off + hdr + len
    }
  }
  const items = (buf: Buffer) => {
    const out: { tag: number; value: Buffer }[] = []
    for (let o = 0; o < buf.length;) {
      const t = read(buf, o)
      out.push(t)
      o = t.end
    }
    return out
  }
  const top = read(der, 0)
  if (top.tag !== 0x30 || top.end !== der.length)
    throw new Error('not a SEQUENCE')
  const [version, imprint, ...rest] = items(top.value)
  if (version?.tag !== 0x02 || version.value[0] !== 1)
    throw new Error('version')
  if (imprint?.tag !== 0x30) throw new Error('messageImprint')
  const [algId, hashed] = items(imprint.value)
  const oidBytes = items(algId!.value)[0]!.value
  const arcs: number[] = [Math.floor(oidBytes[0]! / 40), oidBytes[0]! % 40]
  let v = 0
  for (const b of oidBytes.subarray(1)) {
    v = v * 128 + (b & 0x7f)
    if (!(b & 0x80)) {
      arcs.push(v)
      v = 0
    }
  }
  const nonce = rest.find(t => t.tag === 0x02)
  const certReq = rest.find(t => t.tag === 0x01)
  return {
    hashOid: arcs.join('.'),
    imprint: hashed!.value,
    nonce: nonce
      ? BigInt(`0x${nonce.value.toString('hex') || '0'}`)
      : undefined,
    certReq: certReq ? certReq.value[0] !== 0 : false
  }
}
