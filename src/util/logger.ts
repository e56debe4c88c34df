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
