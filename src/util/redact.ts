// Keeps secrets out of messages and logs: strips userinfo and token-like query
// parameters from URLs, and replaces registered secret values anywhere in a
// string. Adapters also hand secrets to their platform's masking.

const SECRET_PARAMS =
  /^(?:token|access_token|refresh_token|password|passwd|secret|sig|signature|x-amz-signature|x-amz-credential|x-goog-signature|code|client_secret|jwt|id_token)$/i

const registered = new Set<string>()

/** Remember a secret so that `redact` removes it from any later text. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value)
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

/** Replace registered secrets and bearer/basic credentials in free text. */
export function redact(text: string): string {
  let out = text
  for (const s of registered) out = out.split(s).join('***')
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 ***')
  // JWT-shaped strings (three base64url parts, the first an encoded JSON header)
  out = out.replace(
    /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
    '***'
  )
  return out
}
