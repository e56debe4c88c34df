// Read-merge-write of a mutable tag that several writers append to (cosign's
// `sha256-<hex>.sig`, the referrers fallback index), on registries that have
// no compare-and-swap. The protocol (docs/write-protocol.md):
//
//  * every item any read of this run returned is kept, and written back if a
//    later read lacks it: a merge never drops what it has seen;
//  * once the tag was seen present (read, or written by us), a 404 means
//    "not visible yet" (eventually consistent registries), never "empty":
//    we wait and read again, and never write on a 404;
//  * a write goes out within a few round trips of the read it merges (a
//    stale read is re-validated with a HEAD first), and is never repeated
//    blindly: a failed PUT is followed by a new read and merge;
//  * after writing, the writer waits a jittered delay longer than another
//    writer's read-to-write gap, reads again, and merges again until its own
//    items and everything it has seen stay present: once when no other
//    writer showed up, twice in a row when one did. Only then does it
//    report the write; when the budget runs out first, it fails and says why.
//
// Knows nothing of what the items are: TagMergeSpec does.
import { sleep, type Logger, nullLogger } from '../util/index.ts'
import { RegistryError } from './errors.ts'
import type { ManifestResult, RegistryClient } from './registry.ts'

export interface TagMergeSpec<T> {
  repository: string
  tag: string
  /** The items of a manifest found at the tag; throws (coded) when the
   * manifest is not something that can be merged into. */
  itemsOf(found: ManifestResult): T[]
  /** Identity of an item: equal keys are the same item. */
  key(item: T): string
  /** What this writer adds. */
  ours: T[]
  /** An item already in `current` stands for `our` (e.g. cosign's rule for
   * an identical signature); default: the same key. */
  stands?(current: T[], our: T): boolean
  /** The manifest holding `items`, after uploading whatever it references;
   * `found` is the manifest merged into (its media types are kept). */
  build(
    items: T[],
    found: ManifestResult | undefined
  ): Promise<{ bytes: Uint8Array; mediaType: string }>
  /** Most items the manifest may hold. */
  maxItems?: number
  /** For messages, e.g. "signature". */
  noun?: string
}

export interface TagMergeOptions {
  /** Date.now() after which the writer gives up (the run's retry budget). */
  deadline: number
  logger?: Logger
  random?: () => number
  wait?: (ms: number) => Promise<void>
  /** The longest time (ms) this process was kept from running lately: how
   * long a writer on this machine can be frozen between its read and its
   * write. Default: measured (eventLoopStalls). */
  stalls?: () => number
  /** Default Date.now. */
  clock?: () => number
}

/** Sampling period of the stall monitor. */
const STALL_RESOLUTION_MS = 10
/** Stalls older than one to two of these are forgotten. */
const STALL_WINDOW_MS = 1000
let stallMonitor:
  { windowStart: number; max: number; previousMax: number } | undefined

/**
 * The longest time (ms) of the last one to two seconds that this process
 * was ready to run but not running: a starved machine (CPU quota, more
 * runnable processes than cores) freezes every process on it, racing
 * writers included, for about as long as it freezes ours. A timer ticks
 * every 10 ms (unreferenced: it never keeps the process alive); a tick that
 * comes late by more than the CPU time we used meanwhile was held back by
 * the machine, not by our own work. Older stalls (a long-lived process's
 * start-up, earlier work) are forgotten. The first call starts it.
 */
export function eventLoopStalls(now = Date.now()): number {
  if (!stallMonitor) {
    const m = { windowStart: now, max: 0, previousMax: 0 }
    stallMonitor = m
    // hrtime, not the global `performance` (whose getter loads perf_hooks).
    const ms = (): number => Number(process.hrtime.bigint()) / 1e6
    let last = ms()
    let cpu = process.cpuUsage()
    setInterval(() => {
      const t = ms()
      const used = process.cpuUsage(cpu)
      const held =
        t - last - STALL_RESOLUTION_MS - (used.user + used.system) / 1000
      if (held > m.max) m.max = held
      last = t
      cpu = process.cpuUsage()
    }, STALL_RESOLUTION_MS).unref()
    return 0
  }
  const m = stallMonitor
  if (now - m.windowStart >= STALL_WINDOW_MS) {
    // Only the last full window is kept; a longer gap means the one before
    // it was quiet enough to be forgotten as well.
    m.previousMax = now - m.windowStart < 2 * STALL_WINDOW_MS ? m.max : 0
    m.max = 0
    m.windowStart = now
  }
  return Math.max(m.previousMax, m.max)
}

export interface TagMergeResult {
  /** Digest of the manifest in which our items were confirmed. */
  digest: string
  /** Items in that manifest. */
  items: number
  /** Per item of `ours`: it was there before we wrote anything. */
  alreadyPresent: boolean[]
  reads: number
  writes: number
  /** Writes by others seen while we watched. */
  foreignChanges: number
}

/** Reads (after a write) that must agree in a row once others were seen. */
const CONTENDED_READS = 2
/** Manifest PUTs answered "blob unknown" that are tried again. */
const BLOB_RETRIES = 5
/** Longest wait between reads of a tag that is not visible yet. */
const MAX_INVISIBLE_WAIT_MS = 500

interface Observed {
  /** undefined: the tag answered 404. */
  found: ManifestResult | undefined
  at: number
}

export async function mergeIntoTag<T>(
  client: RegistryClient,
  spec: TagMergeSpec<T>,
  options: TagMergeOptions
): Promise<TagMergeResult> {
  const logger = options.logger ?? nullLogger
  const random = options.random ?? Math.random
  const wait = options.wait ?? sleep
  const stalls = options.stalls ?? eventLoopStalls
  const clock = options.clock ?? Date.now
  stalls() // starts measuring
  const where = `${client.registry}/${spec.repository}:${spec.tag}`
  const noun = spec.noun ?? 'item'
  const stands =
    spec.stands ??
    ((current: T[], our: T): boolean =>
      current.some(c => spec.key(c) === spec.key(our)))

  const known = new Map<string, T>()
  let seenPresent = false
  let reads = 0
  let writes = 0
  let foreignChanges = 0
  let invisibleReads = 0
  let stableReads = 0
  let alreadyPresent: boolean[] | undefined
  let lastWritten: string | undefined
  let lastSeen: string | undefined
  let blobRetries = 0

  // A PUT leaves within staleMs of the response to the read it merges (or
  // the read is re-validated first). Another writer whose read preceded our
  // PUT therefore lands its PUT less than staleMs (plus one trip) after ours,
  // and our read, sent settleMs after our PUT's answer plus one trip, comes
  // later: settleMs > staleMs is enough when both see the same trips
  // (docs/write-protocol.md). The rtt/2 terms are the margin for a racer
  // whose trips are longer than ours; both use the round trip measured on
  // this tag's own reads and writes (a busy machine or registry shows up
  // there), not earlier, busier phases.
  const trips: number[] = []
  const timed = async <R>(op: Promise<R>): Promise<R> => {
    const started = clock()
    const r = await op
    trips.push(clock() - started)
    return r
  }
  // Every wait follows at least one timed read.
  const rtt = (): number => Math.max(0, ...trips.slice(-2))
  const staleMs = (): number => Math.max(10, rtt() / 2)
  // A racer frozen between its read and its PUT lands that much later: the
  // stalls seen here (twice, for a racer frozen longer than we were) are
  // added. On a machine with cores to spare they are a few ms.
  const settleMs = (): number => {
    const base = staleMs() + rtt() / 2
    const frozen = 2 * stalls()
    return Math.round(
      foreignChanges > 0
        ? (Math.max(50, 5 * base) + frozen) * (1 + random() * 0.5)
        : (base + frozen) * (1.2 + random() * 0.5)
    )
  }
  const read = async (): Promise<Observed> => {
    reads++
    const found = await timed(client.findManifest(spec.repository, spec.tag))
    return { found, at: clock() }
  }
  const fail = (why: string): RegistryError =>
    new RegistryError(
      'REGISTRY_WRITE_NOT_CONFIRMED',
      `could not confirm that our ${noun}${spec.ours.length === 1 ? ' is' : 's are'} in ${where}: ${why}`,
      {
        remedy:
          'Nothing already there was removed by this run. Run the same command again: it adds only what is missing. If the registry is slow to show new manifests, raise the retry budget (retry-budget / --retry-budget).'
      }
    )

  let now = await read()
  for (;;) {
    if (clock() > options.deadline) {
      throw fail(
        now.found === undefined && seenPresent
          ? `the tag was not visible for ${invisibleReads} reads after it was written`
          : writes === 0
            ? 'the retry budget was spent before it could be written'
            : `other writers kept replacing it (${foreignChanges} changes by others seen, ${writes} writes of ours)`
      )
    }
    if (now.found === undefined && seenPresent) {
      // Present before, 404 now: not visible yet, never "empty".
      invisibleReads++
      stableReads = 0
      const ms = Math.min(
        MAX_INVISIBLE_WAIT_MS,
        50 * 1.5 ** Math.min(invisibleReads - 1, 10)
      )
      logger.debug(
        `${where} is not visible (read ${invisibleReads} after it was seen); reading again in ${ms} ms`
      )
      await wait(Math.round(ms * (1 + random() * 0.5)))
      now = await read()
      continue
    }
    if (now.found) seenPresent = true
    const digest = now.found?.descriptor.digest
    if (writes > 0 && digest !== lastWritten && digest !== lastSeen)
      foreignChanges++ // another writer replaced the tag since we wrote it
    lastSeen = digest
    const current = now.found ? spec.itemsOf(now.found) : []
    const currentKeys = new Set(current.map(i => spec.key(i)))
    for (const item of current) {
      const k = spec.key(item)
      if (!known.has(k)) known.set(k, item)
    }
    alreadyPresent ??= spec.ours.map(o => stands(current, o))
    for (const o of spec.ours) {
      if (!known.has(spec.key(o)) && !stands(current, o))
        known.set(spec.key(o), o)
    }
    const missing = [...known.keys()].filter(k => !currentKeys.has(k))
    const oursThere = spec.ours.every(o => stands(current, o))
    if (missing.length === 0 && oursThere) {
      stableReads++
      const needed = writes === 0 ? 1 : foreignChanges > 0 ? CONTENDED_READS : 1
      if (stableReads >= needed) {
        return {
          digest: now.found?.descriptor.digest ?? lastWritten ?? '',
          items: current.length,
          alreadyPresent,
          reads,
          writes,
          foreignChanges
        }
      }
      await wait(settleMs())
      now = await read()
      continue
    }
    // Something we know of is missing: merge and write.
    stableReads = 0
    const merged = [...current, ...missing.map(k => known.get(k) as T)]
    if (spec.maxItems !== undefined && merged.length > spec.maxItems) {
      throw new RegistryError(
        'REGISTRY_TAG_FULL',
        `${where} would hold ${merged.length} ${noun}s, more than the ${spec.maxItems} that readers accept`
      )
    }
    const { bytes, mediaType } = await spec.build(merged, now.found)
    if (clock() - now.at > staleMs()) {
      // Building took a while (uploads): check nobody wrote meanwhile.
      reads++
      const digest = await client.headManifest(spec.repository, spec.tag)
      if (digest !== now.found?.descriptor.digest) {
        logger.debug(
          `${where} changed while we prepared our write; merging again`
        )
        now = await read()
        continue
      }
      now = { found: now.found, at: clock() }
    }
    try {
      const put = await timed(
        client.putManifest(spec.repository, spec.tag, bytes, mediaType, {
          retry: false,
          ...(now.found?.etag ? { ifMatch: now.found.etag } : {})
        })
      )
      writes++
      lastWritten = put.digest
      seenPresent = true
    } catch (e) {
      // distribution's filesystem store rewrites a blob's link file when the
      // same blob is uploaded again (concurrent signers upload the same
      // payload): a manifest PUT that reads it meanwhile finds the blob
      // "unknown". Upload again and retry, a few times.
      const blobRace = isBlobUnknown(e) && ++blobRetries <= BLOB_RETRIES
      if (blobRace) client.forgetUploads(spec.repository)
      else if (!isRetryableWriteError(e)) throw e
      logger.debug(
        `writing ${where} failed (${(e as Error).message}); reading it again`
      )
      await wait(Math.round(settleMs() * 2))
      now = await read()
      continue
    }
    const settle = settleMs()
    logger.debug(
      `${where} written; reading it again in ${settle} ms (round trip ${rtt()} ms, longest stall ${Math.round(stalls())} ms)`
    )
    await wait(settle)
    now = await read()
  }
}

function isBlobUnknown(e: unknown): boolean {
  return (
    e instanceof RegistryError &&
    e.status === 400 &&
    /MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN/.test(e.message)
  )
}

/** A PUT whose effect is unknown or refused for a change: read and merge
 * again. Permission and validation errors are final. */
function isRetryableWriteError(e: unknown): boolean {
  if (!(e instanceof RegistryError)) return false
  if (e.code === 'REGISTRY_PRECONDITION_FAILED') return true
  if (e.code === 'REGISTRY_UNREACHABLE') return true
  const status = e.status
  return (
    status === 408 ||
    status === 429 ||
    (status !== undefined && status >= 500 && status !== 501 && status !== 505)
  )
}
