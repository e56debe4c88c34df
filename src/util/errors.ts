// Base error type for everything Sigil raises on purpose. A code for machines,
// a message for people (what failed, for which subject, why), an optional
// remedy (what to do), and the native `cause` chain for debugging.
// Programmer errors (impossible states) stay plain `Error`/`TypeError`.

export interface AppErrorOptions {
  cause?: unknown
  /** What the user can do about it, e.g. the YAML to add. */
  remedy?: string
}

export class AppError extends Error {
  readonly code: string
  readonly remedy: string | undefined

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause }
    )
    this.name = new.target.name
    this.code = code
    this.remedy = options.remedy
  }
}

/** Bad user configuration, raised at the edge before any network call. */
export class InputError extends AppError {}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError
}

/** Message plus remedy, the way entry points print a failure. */
export function describeError(e: unknown): string {
  if (e instanceof AppError) {
    return e.remedy ? `${e.message}\n${e.remedy}` : e.message
  }
  if (e instanceof Error) return e.message
  return String(e)
}

/** Walks the `cause` chain, outermost first (for debug output). */
export function causeChain(e: unknown): unknown[] {
  const out: unknown[] = []
  let cur: unknown = e
  while (cur !== undefined && out.length < 16) {
    out.push(cur)
    cur = cur instanceof Error ? cur.cause : undefined
  }
  return out
}
