// A loopback front for a real registry that adds the OCI 1.1 referrers API
// distribution 2.8 lacks: it remembers manifests PUT through it that carry a
// `subject`, answers them with `OCI-Subject`, and serves
// GET /v2/<name>/referrers/<digest>. Everything else is proxied unchanged.
import { listenLoopback, readAll } from './loopback.ts'
import { createHash } from 'node:crypto'
import { createServer, request, type Server } from 'node:http'

export interface FakeReferrersProxy {
  host: string
  url: string
  /** GET …/referrers/… requests served. */
  readonly referrersRequests: number
  stop(): Promise<void>
}

interface Recorded {
  mediaType: string
  size: number
  digest: string
  artifactType?: string
  annotations?: Record<string, string>
}

const REFERRERS = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/

/** `upstream` is the registry's `http://127.0.0.1:PORT` (no TLS). */
export async function startFakeReferrersProxy(
  upstream: string
): Promise<FakeReferrersProxy> {
  const target = new URL(upstream)
  const bySubject = new Map<string, Recorded[]>()
  const state = { referrersRequests: 0 }

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const referrers = REFERRERS.exec(url.pathname)
    if (req.method === 'GET' && referrers) {
      state.referrersRequests++
      const [, name, digest] = referrers
      const artifactType = url.searchParams.get('artifactType')
      let manifests = bySubject.get(`${name}@${digest}`) ?? []
      const headers: Record<string, string> = {
        'content-type': 'application/vnd.oci.image.index.v1+json'
      }
      if (artifactType) {
        manifests = manifests.filter(m => m.artifactType === artifactType)
        headers['oci-filters-applied'] = 'artifactType'
      }
      res.writeHead(200, headers).end(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests
        })
      )
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
        const manifest = MANIFEST.exec(url.pathname)
        if (
          req.method === 'PUT' &&
          manifest &&
          upstreamRes.statusCode === 201
        ) {
          const subject = record(
            bySubject,
            manifest[1] ?? '',
            body,
            String(req.headers['content-type'] ?? '')
          )
          if (subject) headers['oci-subject'] = subject
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
    get referrersRequests() {
      return state.referrersRequests
    }
  }
}

function record(
  bySubject: Map<string, Recorded[]>,
  name: string,
  body: Buffer,
  contentType: string
): string | undefined {
  let m: {
    subject?: { digest?: string }
    artifactType?: string
    config?: { mediaType?: string }
    annotations?: Record<string, string>
    mediaType?: string
  }
  try {
    m = JSON.parse(body.toString('utf8')) as typeof m
  } catch {
    return undefined
  }
  const subject = m.subject?.digest
  if (!subject) return undefined
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
  const key = `${name}@${subject}`
  const list = bySubject.get(key) ?? []
  if (!list.some(d => d.digest === digest)) {
    const entry: Recorded = {
      mediaType: m.mediaType ?? contentType,
      size: body.length,
      digest
    }
    const artifactType = m.artifactType ?? m.config?.mediaType
    if (artifactType) entry.artifactType = artifactType
    if (m.annotations) entry.annotations = m.annotations
    list.push(entry)
  }
  bySubject.set(key, list)
  return subject
}
