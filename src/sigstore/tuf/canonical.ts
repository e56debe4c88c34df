// OLPC canonical JSON, the byte form TUF signs (securesystemslib
// `encode_canonical`): object members sorted by name, no insignificant
// whitespace, only `"` and `\` escaped in strings, integers only.

export function canonicalJson(v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new TypeError('canonical JSON has integers only')
    }
    return String(v)
  }
  if (typeof v === 'string') {
    return `"${v.replace(/[\\"]/g, c => `\\${c}`)}"`
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    const keys = Object.keys(o).sort(byCodePoint)
    return `{${keys.map(k => `${canonicalJson(k)}:${canonicalJson(o[k])}`).join(',')}}`
  }
  throw new TypeError(`canonical JSON cannot encode ${typeof v}`)
}

function byCodePoint(a: string, b: string): number {
  // Python sorts str by code point; JS < compares UTF-16 units, which
  // differs only beyond the BMP. Names in TUF metadata are ASCII anyway.
  const ca = [...a].map(c => c.codePointAt(0)!)
  const cb = [...b].map(c => c.codePointAt(0)!)
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    if (ca[i] !== cb[i]) return ca[i]! - cb[i]!
  }
  return ca.length - cb.length
}
