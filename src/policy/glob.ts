// policy-controller's image globs (pkg/apis/glob): `*` is any run of
// characters other than `/`, `**` any run at all, the glob matches the whole
// name; a bare `*` means `index.docker.io/library/*` and `*/*`
// `index.docker.io/*/*`. Names are matched in go-containerregistry's
// normalised form (`index.docker.io/library/busybox:latest`), then, when that
// differs, as written.
import { parseReference } from '../oci/index.ts'

const VALID_GLOB = /^[a-zA-Z0-9\-_:/*.@]+$/

/** The glob as an anchored RegExp, or a reason it is not a valid glob. */
export function compileGlob(glob: string): RegExp | string {
  let g = glob
  if (g === '*/*') g = 'index.docker.io/*/*'
  if (g === '*') g = 'index.docker.io/library/*'
  if (!VALID_GLOB.test(g)) {
    return 'only letters, digits and - _ : / * . @ are allowed'
  }
  // Go's filepath.Match would reject an unterminated escape or class; the
  // character set above already excludes `\` and `[`, so nothing else fails.
  const re = g
    .replaceAll('.', '\\.')
    .replaceAll('**', '#')
    .replaceAll('*', '[^/]*')
    .replaceAll('#', '.*')
  return new RegExp(`^${re}$`)
}

/** go-containerregistry's `ref.Name()` for a reference as written. */
export function normalisedName(image: string): string | undefined {
  try {
    const r = parseReference(image)
    return `${r.registry}/${r.repository}${r.digest ? `@${r.digest}` : `:${r.tag ?? 'latest'}`}`
  } catch {
    return undefined
  }
}

/**
 * Whether the glob matches any of the names an image goes by: what the user
 * wrote, and the `registry/repository@digest` it resolved to (the name the
 * cluster admits once policy-controller has resolved tags to digests).
 */
export function globMatches(glob: string, names: readonly string[]): boolean {
  const re = compileGlob(glob)
  if (typeof re === 'string') return false
  return names.some(image => {
    const n = normalisedName(image)
    if (n === undefined) return false // not a reference: never matched
    return re.test(n) || (n !== image && re.test(image))
  })
}
