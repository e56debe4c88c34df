// `npm ci` on a Node the dev tools accept (see npmCi in bootstrap.mjs): no
// EBADENGINE warnings when the machine's Node is 20. Used by .ci/run.
import { npmCi } from './bootstrap.mjs'

process.exit(npmCi())
