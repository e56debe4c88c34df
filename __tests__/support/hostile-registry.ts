// A loopback proxy in front of a real registry that misbehaves on purpose:
// it lies in manifest Content-Types (HEAD and GET), swaps manifest bodies
// (bytes that do not match the digest asked for), redirects to another host,
// echoes the Authorization header it received in an error body, answers with
// huge bodies (with or without a Content-Length) and trickles bodies one byte
// at a time. Every
// behaviour is off until a test sets it in `behaviour`, and can be changed
// between requests. Everything else is proxied unchanged (the registry builds
// its Location URLs from the Host header, which the proxy passes through).
import { listenLoopback, readAll } from './loopback.ts'
import { createServer, request, type Server } from 'node:http'

const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/

export interface HostileBehaviour {
  /** Content-Type for manifest HEAD answers; `null` removes the header. */
  headContentType?: string | null
  /** Content-Type for manifest GET answers; `null` removes the header. */
  getContentType?: string | null
  /** Replaces the body of a manifest GET (path → new bytes, or undefined to keep). */
  swapManifest?: (path: string, body: Buffer) => Buffer | undefined
  /** Requests whose path matches get 307 to this origin (another host). */
  redirect?: { path: RegExp; to: string }
  /**
   * Requests whose path matches (and that carry an Authorization header)
   * are answered with this status and an error body quoting the header:
   * the raw value, the credential alone, and its base64 decoded when Basic.
   */
  echoAuthorization?: { path: RegExp; status: number }
  /** GETs whose path matches get 200 and `bytes` bytes, streamed in 64 KiB
   * chunks (chunked encoding unless `contentLength`). */
  hugeBody?: { path: RegExp; bytes: number; contentLength?: boolean }
  /** GETs whose path matches get 200 and then one byte every `everyMs`,
   * without end (until the client gives up). */
  trickle?: { path: RegExp; everyMs: number }
}

export interface HostileRegistry {
  host: string
  url: string
  behaviour: HostileBehaviour
  /** Methods and paths seen, in order ("HEAD /v2/…"). */
  readonly seen: string[]
  /** Authorization headers echoed back so far. */
  readonly echoed: string[]
  /** Every Authorization header received (passed through or not). */
  readonly authorizations: string[]
  stop(): Promise<void>
}

/** `upstream` is the registry's `http://127.0.0.1:PORT` (no TLS). */
export async function startHostileRegistry(
  upstream: string,
  behaviour: HostileBehaviour = {}
): Promise<HostileRegistry> {
  const target = new URL(upstream)
  const seen: string[] = []
  const echoed: string[] = []
  const authorizations: string[] = []
  const state = { behaviour }

  const server: Server = createServer(async (req, res) => {
    const b = state.behaviour
    const path = new URL(req.url ?? '/', 'http://proxy').pathname
    seen.push(`${req.method} ${path}`)
    const authorization = req.headers.authorization
    if (authorization) authorizations.push(authorization)
    if (b.echoAuthorization?.path.test(path) && authorization) {
      echoed.push(authorization)
      const credential = authorization.replace(/^\S+\s+/, '')
      const decoded = /^basic\s/i.test(authorization)
        ? Buffer.from(credential, 'base64').toString('utf8')
        : ''
      res
        .writeHead(b.echoAuthorization.status, {
          'content-type': 'application/json'
        })
        .end(
          JSON.stringify({
            errors: [
              {
                code: 'DENIED',
                message: `bad credential ${credential} (${decoded}) from header ${authorization}`
              }
            ]
          })
        )
      return
    }
    if (req.method === 'GET' && b.hugeBody?.path.test(path)) {
      const { bytes, contentLength } = b.hugeBody
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        ...(contentLength ? { 'content-length': String(bytes) } : {})
      })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      let sent = 0
      const pump = (): void => {
        while (sent < bytes && !res.destroyed) {
          const n = Math.min(chunk.length, bytes - sent)
          sent += n
          if (!res.write(chunk.subarray(0, n))) {
            res.once('drain', pump)
            return
          }
        }
        if (!res.destroyed) res.end()
      }
      res.on('error', () => {})
      pump()
      return
    }
    if (req.method === 'GET' && b.trickle?.path.test(path)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.on('error', () => {})
      const timer = setInterval(() => {
        if (res.destroyed) clearInterval(timer)
        else res.write(' ')
      }, b.trickle.everyMs)
      res.on('close', () => clearInterval(timer))
      return
    }
    if (b.redirect?.path.test(path)) {
      res
        .writeHead(307, { location: `${b.redirect.to}${req.url ?? '/'}` })
        .end()
      return
    }
    const body = await readAll(req)
    const upstreamReq = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers
      },
      upstreamRes => {
        const headers = { ...upstreamRes.headers }
        const isManifest =
          MANIFEST.test(path) && (upstreamRes.statusCode ?? 0) === 200
        const lie = req.method === 'HEAD' ? b.headContentType : b.getContentType
        if (isManifest && lie !== undefined) {
          if (lie === null) delete headers['content-type']
          else headers['content-type'] = lie
        }
        if (isManifest && req.method === 'GET' && b.swapManifest) {
          void readAll(upstreamRes).then(original => {
            const out = b.swapManifest?.(path, original) ?? original
            headers['content-length'] = String(out.length)
            res.writeHead(200, headers).end(out)
          })
          return
        }
        res.writeHead(upstreamRes.statusCode ?? 502, headers)
        upstreamRes.pipe(res)
      }
    )
    upstreamReq.on('error', () => res.writeHead(502).end())
    upstreamReq.end(body)
  })
  const listening = await listenLoopback(server)
  return {
    ...listening,
    get behaviour() {
      return state.behaviour
    },
    set behaviour(next: HostileBehaviour) {
      state.behaviour = next
    },
    seen,
    echoed,
    authorizations
  }
}
