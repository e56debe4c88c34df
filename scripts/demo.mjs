// `npm run demo`: the whole sign → verify flow on an embedded local stack.
// Plain JS so that it can start on any Node; bootstrap installs what is
// missing and re-runs it on Node 24, which then runs scripts/demo.ts.
import { ensureReady } from './bootstrap.mjs'

ensureReady()
await import('./demo.ts')
