// Logger → GitHub workflow commands (debug lines only show with step debug on;
// warnings become annotations; groups fold in the log).
import * as core from '@actions/core'
import { closableLogger, onSecret, redact, type Logger } from '../util/index.ts'

// Every secret form registered in the run (passwords, user:password in
// base64, tokens, key lines) is masked by the runner too.
onSecret(value => core.setSecret(value))

const closable = closableLogger({
  debug: m => core.debug(redact(m)),
  info: m => core.info(redact(m)),
  warn: m => core.warning(redact(m)),
  group: (name, fn) => core.group(name, fn)
})

export const actionsLogger: Logger = closable.logger

/**
 * Called as the step fails: every warning so far is already written (they
 * are written as they happen), and anything logged later by work the failure
 * abandoned goes to debug, so no `::warning::` follows the `::error::`.
 */
export const closeActionsLogger: () => void = closable.close
