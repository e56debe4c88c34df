// The logging role every layer receives as a dependency. Nothing below the
// adapters writes to the console or calls @actions/core; adapters map this
// interface onto their platform (workflow commands, GitLab sections, stderr).

export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  /** Runs `fn` inside a collapsible group where the platform has one. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>
}

export const nullLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  group: (_name, fn) => fn()
}

/** Collects every line, for tests. */
export class MemoryLogger implements Logger {
  readonly lines: { level: 'debug' | 'info' | 'warn'; message: string }[] = []
  debug(message: string): void {
    this.lines.push({ level: 'debug', message })
  }
  info(message: string): void {
    this.lines.push({ level: 'info', message })
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message })
  }
  group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push({ level: 'info', message: `[group] ${name}` })
    return fn()
  }
  text(): string {
    return this.lines.map(l => `${l.level}: ${l.message}`).join('\n')
  }
}

/**
 * A logger that an adapter closes when it reports the run's failure: work
 * abandoned by the failure (a certificate request still in flight, a blob
 * upload) may still log, and those lines must not follow the error — the
 * error is the last thing a user reads. After `close()`, info and warnings
 * go to debug, marked as coming after the failure.
 */
export function closableLogger(inner: Logger): {
  logger: Logger
  close(): void
} {
  let closed = false
  const late = (level: string, m: string): void =>
    inner.debug(`(after the failure, ${level}) ${m}`)
  return {
    logger: {
      debug: m => inner.debug(m),
      info: m => (closed ? late('info', m) : inner.info(m)),
      warn: m => (closed ? late('warning', m) : inner.warn(m)),
      group: (name, fn) => (closed ? fn() : inner.group(name, fn))
    },
    close: () => {
      closed = true
    }
  }
}
