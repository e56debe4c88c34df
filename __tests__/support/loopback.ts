// What every loopback test server of the support code shares: listening on
// 127.0.0.1 on a free port, its address, a stop that drops open
// connections, and reading a request or response body whole.
import type { Server } from 'node:http'
import type { Readable } from 'node:stream'

export interface Listening {
  /** `127.0.0.1:PORT` */
  host: string
  /** `http://127.0.0.1:PORT` */
  url: string
  stop(): Promise<void>
}

export async function listenLoopback(server: Server): Promise<Listening> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}
