// The TUF client's two edges: the mirror over HTTP and the cache on disk.
// Cache layout is sigstore-go's (what cosign v3 uses):
// `<cache root>/<mirror without https://, "/" → "-">/` holding root.json,
// timestamp.json, snapshot.json, targets.json and `targets/<name>`.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { HttpError, type HttpClient } from '../../http/index.ts'
import { redactUrl } from '../../util/index.ts'
import { TufError } from './errors.ts'
import type { TufRemote, TufStore } from './updater.ts'

/** sigstore-go's URLToPath: the cache folder name of a mirror. */
export function cacheDirName(mirror: string): string {
  const m = mirror.replace(/\/+$/, '')
  return (m.startsWith('https://') ? m.slice(8) : m).replaceAll('/', '-')
}

export function httpRemote(
  http: Pick<HttpClient, 'request'>,
  mirror: string,
  timeoutMs?: number
): TufRemote {
  const base = mirror.replace(/\/+$/, '')
  return {
    async fetch(path, maxBytes) {
      const url = `${base}/${path}`
      let res
      try {
        res = await http.request({
          method: 'GET',
          url,
          // A little slack, so that a wrong length is reported as such.
          maxBodyBytes: maxBytes + 1024,
          ...(timeoutMs ? { timeoutMs } : {})
        })
      } catch (e) {
        throw new TufError(
          'TUF_FETCH_FAILED',
          `cannot fetch ${redactUrl(url)} from the TUF mirror: ${e instanceof HttpError || e instanceof Error ? e.message : String(e)}`,
          { cause: e }
        )
      }
      if (res.status === 404 || res.status === 403) return undefined
      if (res.status !== 200) {
        throw new TufError(
          'TUF_FETCH_FAILED',
          `the TUF mirror answered ${res.status} for ${redactUrl(url)}`
        )
      }
      return res.body
    }
  }
}

/** A cache folder; writes go through a temporary file and a rename. */
export function fileStore(dir: string): TufStore {
  const file = (name: string): string => {
    if (name.split('/').some(p => p === '..' || p === '')) {
      throw new TufError(
        'TUF_METADATA_INVALID',
        `refusing cache path ${JSON.stringify(name)}`
      )
    }
    return join(dir, name)
  }
  return {
    async read(name) {
      try {
        return new Uint8Array(await readFile(file(name)))
      } catch {
        return undefined
      }
    },
    async write(name, bytes) {
      const p = file(name)
      await mkdir(dirname(p), { recursive: true })
      const tmp = `${p}.${process.pid}.tmp`
      await writeFile(tmp, bytes)
      await rename(tmp, p)
    },
    async remove(name) {
      await rm(file(name), { force: true })
    }
  }
}
