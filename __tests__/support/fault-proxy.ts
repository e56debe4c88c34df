// A fault-injecting reverse proxy on 127.0.0.1 for the durability tests:
// put it in front of the real registry or a Sigstore service and it
// forwards every request unchanged (the Host header too, so the registry's
// upload Locations point back at the proxy), except where a rule says to
// answer with a status (5xx, 429 + Retry-After), reset the connection
// before the request reaches the service or while the answer streams back,
// cut the answer's body short (Content-Length shortened to match, so only
// a client that checks the content notices), delay it, or answer 401 as if
// the bearer token had expired. `lagReads` makes a manifest tag answer
// MANIFEST_UNKNOWN for the next K reads after each write, as eventually
// consistent registries do.
import { listenLoopback } from './loopback.ts'
import {
  createServer,
  request,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse
} from 'node:http'

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number }
  | { kind: 'reset-before' }
  | { kind: 'reset-during' }
  | { kind: 'truncate' }
  | { kind: 'delay'; ms: number }
  | { kind: 'expired-token' }

export interface FaultRule {
  method?: string
  path?: RegExp
  /** Share of matching requests that get a fault (default 1). */
  rate?: number
  /** Only the next N matching requests (default: all). */
  times?: number
  /** Only until this Date.now() value (an outage). */
  until?: number
  /** One is picked at random per faulted request. */
  faults: Fault[]
}

/** The faults a flaky service produces, for `rate`-based rules. */
export const FLAKY: Fault[] = [
  { kind: 'status', status: 503 },
  { kind: 'status', status: 502 },
  { kind: 'status', status: 429, retryAfter: 1 },
  { kind: 'reset-before' },
  { kind: 'reset-during' },
  { kind: 'truncate' },
  { kind: 'delay', ms: 150 }
]

export interface FaultProxy {
  /** `127.0.0.1:PORT` */
  host: string
  /** `http://127.0.0.1:PORT` */
  url: string
  rules: FaultRule[]
  /** MANIFEST_UNKNOWN for this many reads of a tag after each write to it. */
  lagReads: number
  /** Requests seen, as `METHOD path` (query dropped; ` (authorized)` when
   * it carried credentials), in order. */
  readonly log: string[]
  readonly faulted: number
  stop(): Promise<void>
}

const MANIFEST_TAG = /^\/v2\/(.+)\/manifests\/([^/:]+)$/

export async function startFaultProxy(
  upstream: string,
  o: { rules?: FaultRule[]; lagReads?: number; random?: () => number } = {}
): Promise<FaultProxy> {
  const target = new URL(upstream)
  const random = o.random ?? Math.random
  const log: string[] = []
  const lagging = new Map<string, number>()
  const state = {
    rules: o.rules ?? [],
    lagReads: o.lagReads ?? 0,
    faulted: 0
  }

  const pick = (req: IncomingMessage, path: string): Fault | undefined => {
    const now = Date.now()
    for (const rule of state.rules) {
      if (rule.method && rule.method !== req.method) continue
      if (rule.path && !rule.path.test(path)) continue
      if (rule.until !== undefined && now > rule.until) continue
      if (rule.times !== undefined && rule.times <= 0) continue
      if (random() >= (rule.rate ?? 1)) continue
      if (rule.times !== undefined) rule.times--
      return rule.faults[Math.floor(random() * rule.faults.length)]
    }
    return undefined
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      log.push(
        `${req.method} ${path}${req.headers.authorization ? ' (authorized)' : ''}`
      )
      // A write to a tag starts its lag; reads during the lag see nothing.
      const tag = MANIFEST_TAG.exec(path)
      if (tag && state.lagReads > 0) {
        if (req.method === 'PUT') lagging.set(path, state.lagReads)
        else if (req.method === 'GET' || req.method === 'HEAD') {
          const left = lagging.get(path) ?? 0
          if (left > 0) {
            lagging.set(path, left - 1)
            const unknown = JSON.stringify({
              errors: [
                {
                  code: 'MANIFEST_UNKNOWN',
                  message: 'manifest unknown',
                  detail: { Tag: tag[2] }
                }
              ]
            })
            res
              .writeHead(404, {
                'content-type': 'application/json; charset=utf-8',
                'content-length': Buffer.byteLength(unknown)
              })
              .end(req.method === 'HEAD' ? undefined : unknown)
            return
          }
        }
      }
      const fault = pick(req, path)
      if (fault) state.faulted++
      void handle(req, res, body, fault)
    })
  })

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    fault: Fault | undefined
  ): Promise<void> {
    switch (fault?.kind) {
      case 'status': {
        const headers: OutgoingHttpHeaders = {
          'content-type': 'application/json'
        }
        if (fault.retryAfter !== undefined)
          headers['retry-after'] = String(fault.retryAfter)
        res
          .writeHead(fault.status, headers)
          .end(JSON.stringify({ message: 'injected fault' }))
        return
      }
      case 'reset-before':
        req.socket.destroy()
        return
      case 'delay':
        await new Promise(r => setTimeout(r, fault.ms))
        break
    }
    const headers = { ...req.headers }
    if (fault?.kind === 'expired-token') delete headers.authorization
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers
      },
      upRes => {
        const out: Buffer[] = []
        upRes.on('data', (c: Buffer) => out.push(c))
        upRes.on('end', () => {
          const whole = Buffer.concat(out)
          const h = { ...upRes.headers }
          const status = upRes.statusCode ?? 502
          if (fault?.kind === 'reset-during' && whole.length > 1) {
            h['content-length'] = String(whole.length)
            delete h['transfer-encoding']
            res.writeHead(status, h)
            res.write(whole.subarray(0, Math.floor(whole.length / 2)), () =>
              res.socket?.destroy()
            )
            return
          }
          if (fault?.kind === 'reset-during') {
            req.socket.destroy()
            return
          }
          const sent =
            fault?.kind === 'truncate' && whole.length > 1
              ? whole.subarray(0, Math.floor(whole.length / 2))
              : whole
          if (req.method !== 'HEAD') {
            h['content-length'] = String(sent.length)
            delete h['transfer-encoding']
          }
          res.writeHead(status, h)
          res.end(req.method === 'HEAD' ? undefined : sent)
        })
      }
    )
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end()
    })
    up.end(body)
  }

  const listening = await listenLoopback(server)
  return {
    ...listening,
    get rules() {
      return state.rules
    },
    set rules(r: FaultRule[]) {
      state.rules = r
    },
    get lagReads() {
      return state.lagReads
    },
    set lagReads(k: number) {
      state.lagReads = k
    },
    log,
    get faulted() {
      return state.faulted
    }
  }
}
