// A loopback "release host" laid out like GitHub's release downloads
// (<base>/<tag>/<asset>): the files of each release are whatever a test puts
// there, and every request is recorded, so a test can tell that a second
// install downloaded nothing. Unknown files are 404, as on GitHub.
import { createServer } from 'node:http'
import { listenLoopback, type Listening } from './loopback.ts'

export interface ReleaseHost extends Listening {
  /** `${url}/releases/download`: what install-cosign takes as base URL. */
  baseUrl: string
  /** Puts `files` (name → bytes) in release `tag`. */
  publish(tag: string, files: Record<string, Uint8Array | string>): void
  /** Paths requested so far (`/releases/download/<tag>/<file>`). */
  requests: string[]
}

export async function startReleaseHost(): Promise<ReleaseHost> {
  const files = new Map<string, Buffer>()
  const requests: string[] = []
  const server = createServer((req, res) => {
    const path = decodeURIComponent(
      new URL(req.url ?? '/', 'http://x').pathname
    )
    requests.push(path)
    const body = req.method === 'GET' ? files.get(path) : undefined
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
      return
    }
    res
      .writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length)
      })
      .end(body)
  })
  const l = await listenLoopback(server)
  return {
    ...l,
    baseUrl: `${l.url}/releases/download`,
    requests,
    publish(tag, named) {
      for (const [name, bytes] of Object.entries(named))
        files.set(
          `/releases/download/${tag}/${name}`,
          typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes)
        )
    }
  }
}
