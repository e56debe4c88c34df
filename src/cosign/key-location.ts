// A public key named by URL, as cosign takes --key https://…/cosign.pub
// (sigstore/cosign pkg/blob LoadFileOrURL; luet-cosign's
// COSIGN_PUBLIC_KEY_LOCATION passes such a location as --key). https only;
// http only to a loopback host. User info in the URL (https://user:pass@host)
// becomes a Basic Authorization header that goes to that origin only: the
// HTTP client drops credentials on a redirect to another origin, and a
// redirect down to plain http off loopback is refused.

import { HttpClient } from '../http/index.ts'
import {
  InputError,
  redactUrl,
  registerSecret,
  toBase64,
  utf8
} from '../util/index.ts'

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i
/** A cosign.pub is a few hundred bytes; a chain a few kB. */
const MAX_KEY_BYTES = 64 * 1024

function insecure(u: URL): boolean {
  return u.protocol === 'http:' && !LOOPBACK.test(u.hostname)
}

export async function fetchKeyUrl(
  value: string,
  env: NodeJS.ProcessEnv,
  what: string
): Promise<string> {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InputError('INPUT_KEY_UNREADABLE', `${what}: not a URL`)
  }
  const shown = redactUrl(url)
  if (insecure(url)) {
    throw new InputError(
      'INPUT_KEY_INSECURE_URL',
      `${what}: ${shown} is plain http; a public key fetched that way can be swapped on the wire`,
      { remedy: `Serve the key over https, or pass it as a file.` }
    )
  }
  const headers: Record<string, string> = {
    accept: 'application/x-pem-file, text/plain, */*'
  }
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username)
    const pass = decodeURIComponent(url.password)
    registerSecret(pass)
    headers['authorization'] = `Basic ${toBase64(utf8(`${user}:${pass}`))}`
    url.username = ''
    url.password = ''
  }
  const http = new HttpClient({
    userAgent: 'sigil (key fetch)',
    budgetMs: 30_000,
    env
  })
  let res
  try {
    res = await http.request({
      method: 'GET',
      url: url.toString(),
      headers,
      maxBodyBytes: MAX_KEY_BYTES
    })
  } catch (e) {
    throw new InputError(
      'INPUT_KEY_UNREADABLE',
      `${what}: cannot fetch ${shown}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    )
  } finally {
    await http.close()
  }
  if (insecure(new URL(res.url))) {
    throw new InputError(
      'INPUT_KEY_INSECURE_URL',
      `${what}: ${shown} redirected to plain http (${redactUrl(res.url)}); refused`,
      { remedy: 'Serve the key over https end to end.' }
    )
  }
  if (res.status !== 200) {
    throw new InputError(
      'INPUT_KEY_UNREADABLE',
      `${what}: ${shown} answered HTTP ${res.status}`,
      res.status === 401 || res.status === 403
        ? {
            remedy:
              'If the key needs credentials, put them in the URL (https://user:token@host/cosign.pub); they are sent to that host only.'
          }
        : undefined
    )
  }
  const text = res.text()
  if (!/-----BEGIN [A-Z ]*(PUBLIC KEY|CERTIFICATE)-----/.test(text)) {
    throw new InputError(
      'INPUT_KEY_UNREADABLE',
      `${what}: ${shown} did not answer a PEM public key or certificate`
    )
  }
  return text
}
