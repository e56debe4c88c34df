// The fault suite (issue: durability): the real registry and the loopback
// Sigstore stack behind fault-injecting proxies. What is checked is what a
// user relies on: a run that exits 0 has its signatures in the registry
// (counted by @sigstore/verify, not by our code), nothing seen is ever
// dropped, outages within the retry budget are ridden out, and a run that
// cannot finish says which images were signed and which were not.
import { spawn } from 'node:child_process'
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { runCliWith } from '../../src/cli/main.ts'
import { execNode } from '../support/exec.ts'
import { FLAKY } from '../support/fault-proxy.ts'
import {
  CLI,
  danglingReferences,
  signerSan,
  signerToken,
  signersOf,
  stackFlags,
  startProxies,
  type Proxies
} from '../support/durability.ts'
import {
  freshImage,
  startWorld,
  writeKeyPair,
  registryFlags,
  type World
} from '../support/world.ts'

let w: World
let p: Proxies

before(async () => {
  w = await startWorld({ mode: 'token' })
  p = await startProxies(w)
})
after(async () => {
  await p?.stop()
  await w?.stop()
})

const regFlags = (): string[] => registryFlags(w)

/** A fresh image, named through the registry proxy. */
async function image(repo = 'durable/app'): Promise<{
  ref: string
  digest: string
  repo: string
}> {
  const img = await freshImage(w, repo)
  return { ...img, ref: `${p.registry.host}/${repo}@${img.digest}` }
}

/** `sigil sign` in this process (real HTTP through the proxies). */
async function sign(
  args: string[],
  env: Record<string, string> = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runCliWith(['sign', ...regFlags(), ...args], {
    stdout: s => {
      stdout += s
    },
    stderr: s => {
      stderr += s
    },
    env: { HOME: w.tmp, ...env }
  })
  return { code, stdout, stderr }
}

const clearFaults = (): void => {
  for (const x of p.all) {
    x.rules = []
    x.lagReads = 0
  }
}

describe('durability', () => {
  test('30 % of requests to every service fail: every run exits 0, every signature verifies', async () => {
    const images = [await image(), await image(), await image()]
    for (const x of p.all)
      x.rules = [
        // Fulcio sees one request per run: make sure each service sees a fault.
        { times: 1, faults: [{ kind: 'reset-during' }] },
        {
          rate: 0.3,
          faults: [
            ...FLAKY,
            ...(x === p.registry ? [{ kind: 'expired-token' as const }] : [])
          ]
        }
      ]
    try {
      for (let run = 0; run < 3; run++) {
        const r = await sign([
          ...stackFlags(w, p, true),
          '--identity-token',
          signerToken(`flaky-${run}`),
          '--format',
          'both',
          ...images.map(i => i.ref)
        ])
        assert.equal(r.code, 0, `run ${run}: ${r.stderr}`)
      }
      assert.ok(
        p.all.every(x => x.faulted > 0),
        'every service had faults injected'
      )
    } finally {
      clearFaults()
    }
    const expected = [0, 1, 2].map(i => signerSan(`flaky-${i}`)).sort()
    for (const i of images) {
      const s = await signersOf(w, i.repo, i.digest)
      assert.deepEqual(s.legacy.sort(), expected, `${i.digest} legacy`)
      assert.deepEqual(s.bundle.sort(), expected, `${i.digest} bundles`)
    }
  })

  for (const format of ['legacy', 'bundle'] as const) {
    test(`16 concurrent signers of one digest (${format}): every run that exits 0 is in the registry`, async () => {
      const rounds = format === 'legacy' ? 3 : 2
      let succeeded = 0
      for (let round = 0; round < rounds; round++) {
        const img = await image(`race/${format}`)
        const runs = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            execNode(
              CLI,
              [
                'sign',
                ...regFlags(),
                ...stackFlags(w),
                '--format',
                format,
                '--identity-token',
                signerToken(`${format}-${round}-${i}`),
                `${w.registry.host}/${img.repo}@${img.digest}`
              ],
              { env: { PATH: process.env.PATH ?? '', HOME: w.tmp } }
            )
          )
        )
        const found = new Set(
          (await signersOf(w, img.repo, img.digest))[format]
        )
        runs.forEach((r, i) => {
          if (r.code !== 0) {
            // A run may fail, but only saying it could not confirm.
            assert.match(r.stderr, /REGISTRY_WRITE_NOT_CONFIRMED/, r.stderr)
            return
          }
          succeeded++
          assert.ok(
            found.has(signerSan(`${format}-${round}-${i}`)),
            `round ${round}: signer ${i} exited 0 but its signature is gone`
          )
        })
      }
      assert.ok(succeeded >= rounds * 14, `${succeeded} runs succeeded`)
    })
  }

  test('a registry that hides a tag for 12 reads after each write loses nothing', async () => {
    const img = await image('lag/app')
    p.registry.lagReads = 12
    try {
      for (let i = 0; i < 3; i++) {
        const r = await sign([
          ...stackFlags(w, p),
          '--identity-token',
          signerToken(`lag-${i}`),
          img.ref
        ])
        assert.equal(r.code, 0, r.stderr)
      }
      // Two at once, while the tag is still lagging from the last write.
      const both = await Promise.all(
        [3, 4].map(i =>
          sign([
            ...stackFlags(w, p),
            '--identity-token',
            signerToken(`lag-${i}`),
            img.ref
          ])
        )
      )
      for (const r of both) assert.equal(r.code, 0, r.stderr)
    } finally {
      clearFaults()
    }
    const s = await signersOf(w, img.repo, img.digest)
    assert.deepEqual(
      s.legacy.sort(),
      [0, 1, 2, 3, 4].map(i => signerSan(`lag-${i}`)).sort()
    )
  })

  test('a Rekor outage shorter than the budget is ridden out; a longer one fails in about the budget, nothing written', async () => {
    const img = await image('outage/app')
    p.rekor.rules = [
      { until: Date.now() + 3000, faults: [{ kind: 'status', status: 503 }] }
    ]
    let r = await sign([
      ...stackFlags(w, p),
      '--retry-budget',
      '15',
      '--identity-token',
      signerToken('outage-ok'),
      img.ref
    ])
    assert.equal(r.code, 0, r.stderr)

    const other = await image('outage/app')
    p.rekor.rules = [
      { until: Date.now() + 60_000, faults: [{ kind: 'status', status: 503 }] }
    ]
    const started = Date.now()
    r = await sign([
      ...stackFlags(w, p),
      '--retry-budget',
      '2',
      '--identity-token',
      signerToken('outage-fail'),
      other.ref
    ])
    const took = Date.now() - started
    clearFaults()
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /Rekor/)
    assert.match(r.stderr, /attempts over \d+\.\d s/)
    assert.ok(took < 6000, `gave up after ${took} ms`)
    const s = await signersOf(w, other.repo, other.digest)
    assert.deepEqual(s, { legacy: [], bundle: [] })
  })

  test('a Rekor answer cut short is fetched through the 409, not logged twice', async () => {
    const img = await image('truncated/app')
    p.rekor.rules = [
      {
        method: 'POST',
        times: 1,
        faults: [{ kind: 'truncate' }]
      }
    ]
    const before = w.stack.rekorEntries.size
    const r = await sign([
      ...stackFlags(w, p),
      '--identity-token',
      signerToken('truncated'),
      img.ref
    ])
    clearFaults()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(w.stack.rekorEntries.size, before + 1)
    const s = await signersOf(w, img.repo, img.digest)
    assert.deepEqual(s.legacy, [signerSan('truncated')])
  })

  test('one image refused, the other signed: both reported, exit 4; the rerun adds only what is missing', async () => {
    const good = await image('partial/good')
    const bad = await image('partial/bad')
    const { keyPath } = writeKeyPair(w.tmp, 'pw', 'partial')
    const args = [
      '--key',
      keyPath,
      '--tlog-upload=false',
      '--output',
      'json',
      good.ref,
      bad.ref
    ]
    p.registry.rules = [
      {
        method: 'PUT',
        path: /\/partial\/bad\/manifests\/sha256-/,
        faults: [{ kind: 'status', status: 400 }]
      }
    ]
    let r = await sign(args, { COSIGN_PASSWORD: 'pw' })
    clearFaults()
    assert.equal(r.code, 4, r.stderr)
    const result = JSON.parse(r.stdout) as {
      images: { digest: string; status: string; error?: { code: string } }[]
    }
    const byDigest = new Map(result.images.map(i => [i.digest, i]))
    assert.equal(byDigest.get(good.digest)?.status, 'signed')
    assert.equal(byDigest.get(bad.digest)?.status, 'failed')
    assert.equal(byDigest.get(bad.digest)?.error?.code, 'REGISTRY_ERROR')
    assert.match(r.stderr, /1 of 2 images could not be signed \(1 signed/)
    assert.match(r.stderr, new RegExp(`partial/bad@${bad.digest}`))

    r = await sign(args, { COSIGN_PASSWORD: 'pw' })
    assert.equal(r.code, 0, r.stderr)
    const again = JSON.parse(r.stdout) as {
      images: { digest: string; signatures: { duplicate?: boolean }[] }[]
    }
    const goodAgain = again.images.find(i => i.digest === good.digest)
    assert.equal(goodAgain?.signatures[0]?.duplicate, true)
    for (const i of [good, bad]) {
      const m = await w.client.findManifest(
        i.repo,
        `${i.digest.replace(':', '-')}.sig`
      )
      assert.equal(
        (m?.manifest as { layers: unknown[] }).layers.length,
        1,
        `${i.repo}: one signature`
      )
    }
  })

  test('1000 copies of one reference: resolved once, one warning', async () => {
    const img = await image('dupes/app')
    const tagged = `${p.registry.host}/${img.repo}:${await tagOf(img)}`
    const from = p.registry.log.length
    const r = await sign([
      ...stackFlags(w, p),
      '--identity-token',
      signerToken('dupes'),
      ...Array.from({ length: 1000 }, () => tagged)
    ])
    assert.equal(r.code, 0, r.stderr)
    // The run's first request goes out without credentials to learn the
    // registry's challenge (401); count the authorized ones.
    const heads = p.registry.log
      .slice(from)
      .filter(
        l =>
          l.startsWith('GET ') &&
          l.includes('/manifests/t') &&
          l.endsWith('(authorized)')
      )
    assert.equal(heads.length, 1)
    assert.equal(r.stderr.match(/is given 1000 times/g)?.length, 1)
    assert.equal(r.stderr.match(/is a tag/g)?.length, 1)
  })

  test('kill -9 at random points: no dangling reference, no earlier signature lost', async () => {
    const img = await image('killed/app')
    for (const i of [0, 1]) {
      const r = await sign([
        ...stackFlags(w),
        '--format',
        'both',
        '--identity-token',
        signerToken(`kept-${i}`),
        `${w.registry.host}/${img.repo}@${img.digest}`
      ])
      assert.equal(r.code, 0, r.stderr)
    }
    const kept = [0, 1].map(i => signerSan(`kept-${i}`)).sort()
    for (let trial = 0; trial < 8; trial++) {
      const child = spawn(
        process.execPath,
        [
          CLI,
          'sign',
          ...regFlags(),
          ...stackFlags(w),
          '--format',
          'both',
          '--identity-token',
          signerToken(`killed-${trial}`),
          `${w.registry.host}/${img.repo}@${img.digest}`
        ],
        { env: { PATH: process.env.PATH ?? '', HOME: w.tmp }, stdio: 'ignore' }
      )
      let code: number | null | undefined
      const exited = new Promise<void>(resolve =>
        child.on('exit', c => {
          code = c
          resolve()
        })
      )
      await new Promise(r => setTimeout(r, 40 + Math.random() * 400))
      child.kill('SIGKILL')
      await exited
      // Killed, or finished its work: never failed on its own.
      assert.ok(code === null || code === 0, `trial ${trial} exited ${code}`)
      assert.deepEqual(await danglingReferences(w, img.repo, img.digest), [])
      const s = await signersOf(w, img.repo, img.digest)
      for (const san of kept) {
        assert.ok(s.legacy.includes(san), `trial ${trial}: legacy ${san}`)
        assert.ok(s.bundle.includes(san), `trial ${trial}: bundle ${san}`)
      }
    }
  })
})

/** The tag freshImage pushed (the image's only tag). */
async function tagOf(img: { repo: string; digest: string }): Promise<string> {
  for (const t of await w.client.listTags(img.repo)) {
    if (t.startsWith('sha256-')) continue
    const d = await w.client.resolve(img.repo, t)
    if (d.digest === img.digest) return t
  }
  throw new Error('no tag')
}
