// The read-merge-write protocol of src/oci/tag-merge.ts on an in-memory tag
// whose clock is virtual: what it waits for, and that a racer frozen between
// its read and its PUT (a starved machine) cannot drop a confirmed item when
// the stalls the writer saw are counted.
import { spawn } from 'node:child_process'
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { eventLoopStalls } from '../../../src/oci/tag-merge.ts'
import {
  mergeIntoTag,
  type ManifestResult,
  type RegistryClient,
  type TagMergeSpec
} from '../../../src/oci/index.ts'

interface Tag {
  items: string[] | undefined
  version: number
}

/** A tag in memory; every call takes `trip` virtual ms. */
function fakeRegistry(tag: Tag, clock: { now: number }, trip = 2) {
  const result = (): ManifestResult | undefined =>
    tag.items === undefined
      ? undefined
      : ({
          descriptor: {
            digest: `sha256:${tag.version}`,
            mediaType: 'x',
            size: 1
          },
          bytes: new Uint8Array(),
          manifest: { items: [...tag.items] }
        } as unknown as ManifestResult)
  const client = {
    registry: 'reg.test',
    async findManifest() {
      await Promise.resolve()
      clock.now += trip
      return result()
    },
    async headManifest() {
      await Promise.resolve()
      clock.now += trip
      return result()?.descriptor.digest
    },
    async putManifest(_r: string, _t: string, bytes: Uint8Array) {
      await Promise.resolve()
      clock.now += trip
      tag.items = JSON.parse(new TextDecoder().decode(bytes)) as string[]
      tag.version++
      return { digest: `sha256:${tag.version}` }
    },
    forgetUploads() {}
  }
  return client as unknown as RegistryClient
}

function spec(ours: string): TagMergeSpec<string> {
  return {
    repository: 'r',
    tag: 'sha256-x.sig',
    itemsOf: f => (f.manifest as unknown as { items: string[] }).items,
    key: i => i,
    ours: [ours],
    build: async items => ({
      bytes: new TextEncoder().encode(JSON.stringify(items)),
      mediaType: 'x'
    })
  }
}

describe('tag merge', () => {
  test('the wait before the confirming read grows with the stalls seen', async () => {
    for (const stall of [0, 100, 400]) {
      const clock = { now: 0 }
      const waits: number[] = []
      const tag: Tag = { items: undefined, version: 0 }
      await mergeIntoTag(fakeRegistry(tag, clock), spec('a'), {
        deadline: Number.POSITIVE_INFINITY,
        random: () => 0,
        clock: () => clock.now,
        stalls: () => stall,
        wait: async ms => {
          waits.push(ms)
          clock.now += ms
        }
      })
      assert.deepEqual(tag.items, ['a'])
      assert.equal(waits.length, 1)
      // (stale 10 + rtt/2 1 + 2 × stall) × 1.2
      assert.equal(
        waits[0],
        Math.round((11 + 2 * stall) * 1.2),
        `stall ${stall}`
      )
    }
  })

  test('a racer frozen for less than twice the stalls seen cannot drop a confirmed item', async () => {
    // The racer read the empty tag, then froze for `frozen` ms before its
    // PUT (which holds only its own item) landed. The writer of "a" started
    // at the same time; it must still be watching when the PUT lands.
    for (const [stall, frozen, safe] of [
      [0, 40, false], // no stalls counted: a 40 ms freeze drops "a"
      [50, 90, true] // 50 ms stalls seen: a 90 ms freeze is caught
    ] as const) {
      const clock = { now: 0 }
      const tag: Tag = { items: undefined, version: 0 }
      let racerDone = false
      const racerLandsAt = 2 + frozen
      const wait = async (ms: number): Promise<void> => {
        const until = clock.now + ms
        if (!racerDone && until >= racerLandsAt) {
          tag.items = ['racer']
          tag.version++
          racerDone = true
        }
        clock.now = until
      }
      await mergeIntoTag(fakeRegistry(tag, clock), spec('a'), {
        deadline: Number.POSITIVE_INFINITY,
        random: () => 0,
        clock: () => clock.now,
        stalls: () => stall,
        wait
      })
      if (!racerDone) await wait(frozen) // the freeze ends after we exited
      assert.equal(
        tag.items?.includes('a'),
        safe,
        `stalls ${stall} ms, racer frozen ${frozen} ms: ${JSON.stringify(tag.items)}`
      )
    }
  })

  test('eventLoopStalls sees the process frozen (SIGSTOP), and forgets it after two windows', async () => {
    const t0 = Date.now()
    eventLoopStalls(t0)
    await new Promise(r => setTimeout(r, 30)) // a few ticks first
    // Frozen by the machine, not by our own work: stopped for 150 ms.
    const freezer = spawn('sh', [
      '-c',
      `kill -STOP ${process.pid}; sleep 0.15; kill -CONT ${process.pid}`
    ])
    await new Promise(r => freezer.on('exit', r))
    await new Promise(r => setTimeout(r, 30))
    const seen = eventLoopStalls(t0 + 10)
    assert.ok(seen >= 100, `saw ${seen} ms`)
    // One window later the freeze is the previous window's: still counted.
    assert.ok(eventLoopStalls(t0 + 1010) >= 100)
    // Two windows later, it is forgotten.
    assert.ok(eventLoopStalls(t0 + 3100) < 100)
  })
})
