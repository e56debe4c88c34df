// Keeps secrets out of messages and logs: strips userinfo and token-like query
// parameters from URLs, and replaces registered secret values anywhere in a
// string, in every encoding we know them to travel in. Adapters also hand
// secrets to their platform's masking (`onSecret`).
//
// Which text is replaced, and why (README "Security"):
// * a registered value of 16 characters or more, wherever it occurs;
// * one of 8 to 15 characters where it is a whole token (not inside a longer
//   run of letters and digits), so an identifier that happens to contain it
//   keeps its shape;
// * a shorter one (4 to 7: a password such as `wrong`) never as free text:
//   masking a short word everywhere garbles ordinary messages ("wrong
//   password") and protects little. It is removed in the forms a registry or
//   proxy would echo: `user:password`, its base64 and base64url encodings
//   (registerCredential), and any `Basic …`/`Bearer …` value.
// Derived forms are registered with the value: the payload and signature
// segments of a JWT (each one alone identifies the token), and every base64
// line of a PEM private key.

const SECRET_PARAMS =
  /^(?:token|access_token|refresh_token|password|passwd|secret|sig|signature|x-amz-signature|x-amz-credential|x-goog-signature|code|client_secret|jwt|id_token)$/i

const MIN_LENGTH = 4
const MIN_TOKEN = 8
const MIN_ANYWHERE = 16

const anywhere = new Set<string>()
const wholeToken = new Set<string>()
const listeners: ((value: string) => void)[] = []

function add(value: string): void {
  if (value.length < MIN_TOKEN) return
  const set = value.length >= MIN_ANYWHERE ? anywhere : wholeToken
  if (set.has(value)) return
  set.add(value)
  for (const l of listeners) l(value)
}

/** Remember a secret so that `redact` removes it from any later text. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_LENGTH) return
  add(value)
  const trimmed = value.trim()
  if (trimmed !== value) add(trimmed)
  const jwt = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/.exec(
    trimmed
  )
  if (jwt) {
    add(jwt[1]!)
    if (jwt[2]) add(jwt[2])
  }
  if (trimmed.includes('-----BEGIN')) {
    const body: string[] = []
    for (const line of trimmed.split(/\r?\n/)) {
      const l = line.trim()
      if (/^[A-Za-z0-9+/=]+$/.test(l)) {
        add(l)
        body.push(l)
      }
    }
    if (body.length > 0) add(body.join(''))
  }
}

/**
 * Remember a username/password pair: the password, `user:password`, and
 * `user:password` in base64 and base64url, padded or not (what a Basic
 * Authorization header carries and what a registry could echo).
 */
export function registerCredential(username: string, password: string): void {
  registerSecret(password)
  if (!password) return
  const pair = `${username}:${password}`
  registerSecret(pair)
  for (const form of encodings(pair)) add(form)
}

function encodings(text: string): string[] {
  const std = Buffer.from(text, 'utf8').toString('base64')
  const url = Buffer.from(text, 'utf8').toString('base64url')
  return [
    ...new Set([
      std,
      std.replace(/=+$/, ''),
      url,
      `${url}${'='.repeat((4 - (url.length % 4)) % 4)}`
    ])
  ]
}

/**
 * Calls `fn` with every secret form registered from now on, and with those
 * already registered (adapters hand them to the platform's log masking).
 */
export function onSecret(fn: (value: string) => void): void {
  for (const s of [...anywhere, ...wholeToken]) fn(s)
  listeners.push(fn)
}

export function redactUrl(url: string | URL): string {
  let u: URL
  try {
    u = new URL(String(url))
  } catch {
    return redact(String(url))
  }
  if (u.username || u.password) {
    u.username = u.username ? 'REDACTED' : ''
    u.password = ''
  }
  for (const k of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.test(k)) u.searchParams.set(k, 'REDACTED')
  }
  return redact(u.toString())
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/** Replace registered secrets and bearer/basic credentials in free text. */
export function redact(text: string): string {
  let out = text
  // Longest first, so a secret that contains another goes as a whole.
  for (const s of [...anywhere].sort((a, b) => b.length - a.length))
    out = out.split(s).join('***')
  for (const s of [...wholeToken].sort((a, b) => b.length - a.length)) {
    if (!out.includes(s)) continue
    out = out.replace(
      new RegExp(`(?<![A-Za-z0-9])${escape(s)}(?![A-Za-z0-9])`, 'g'),
      '***'
    )
  }
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 ***')
  // JWT-shaped strings (three base64url parts, the first an encoded JSON header)
  out = out.replace(
    /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
    '***'
  )
  return out
}
