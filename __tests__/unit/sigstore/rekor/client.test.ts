import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { generateEphemeralKey } from '../../../../src/crypto/index.ts'
import { HttpClient } from '../../../../src/http/index.ts'
import { SigstoreServiceError } from '../../../../src/sigstore/errors.ts'
import {
  RekorClient,
  buildHashedRekordEntry
} from '../../../../src/sigstore/rekor/index.ts'
import {
  fromBase64,
  sha256Hex,
  toBase64,
  utf8
} from '../../../../src/util/index.ts'
import {
  startSigstoreStack,
  type SigstoreStack
} from '../../../support/sigstore-stack.ts'

const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 0,
  timeoutMs: 5000
})

function proposal(text = `artifact ${Math.random()}`) {
  const key = generateEphemeralKey()
  const data = utf8(text)
  return buildHashedRekordEntry({
    payloadSha256Hex: sha256Hex(data),
    signature: key.sign(data),
    verifierPem: key.publicKeyPem
  })
}

async function fakeRekor(
  reply: (
    method: string,
    path: string
  ) => { status: number; body: string; headers?: Record<string, string> }
) {
  const seen: string[] = []
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      seen.push(`${req.method} ${req.url}`)
      const r = reply(req.method!, req.url!)
      res
        .writeHead(r.status, {
          'content-type': 'application/json',
          ...r.headers
        })
        .end(r.body)
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => server.close()
  }
}

describe('RekorClient against the loopback stack', () => {
  let stack: SigstoreStack
  let rekor: RekorClient
  before(async () => {
    stack = await startSigstoreStack()
    rekor = new RekorClient({ baseUrl: stack.rekorUrl, http })
  })
  after(() => stack.stop())

  it('creates a hashedrekord entry in bundle form', async () => {
    const p = proposal()
    const { uuid, entry } = await rekor.createEntryWithId(p)
    assert.match(uuid, /^[0-9a-f]{80}$/)
    assert.deepEqual(entry.kindVersion, {
      kind: 'hashedrekord',
      version: '0.0.1'
    })
    assert.match(entry.logIndex, /^\d+$/)
    assert.match(entry.integratedTime!, /^\d+$/)
    const logKey = (stack.trustedRoot.tlogs[0] as { logId: { keyId: string } })
      .logId.keyId
    assert.equal(entry.logId.keyId, logKey)
    assert.ok(entry.inclusionPromise?.signedEntryTimestamp)
    const body = JSON.parse(
      Buffer.from(fromBase64(entry.canonicalizedBody)).toString()
    )
    assert.equal(body.spec.data.hash.value, p.spec.data.hash.value)
    const proof = entry.inclusionProof!
    assert.equal(proof.treeSize, '1')
    assert.equal(proof.logIndex, '0')
    assert.deepEqual(proof.hashes, [])
    const leaf = createHash('sha256')
      .update(Buffer.of(0))
      .update(fromBase64(entry.canonicalizedBody))
      .digest()
    assert.equal(proof.rootHash, toBase64(leaf))
    assert.match(proof.checkpoint.envelope, /^127\.0\.0\.1:\d+ - \d+\n1\n/)
  })

  it('409 on a duplicate → fetches and returns the existing entry', async () => {
    const p = proposal('duplicate me')
    const first = await rekor.createEntry(p)
    const before = stack.counts.rekor
    const again = await rekor.createEntry(p)
    assert.equal(stack.counts.rekor - before, 2, 'POST (409) + GET')
    assert.deepEqual(again, first)
  })

  it('looks entries up by 64- or 80-hex UUID and by global index', async () => {
    const { uuid, entry } = await rekor.createEntryWithId(proposal())
    assert.deepEqual(await rekor.getEntryByUuid(uuid), entry)
    assert.deepEqual(
      await rekor.getEntryByUuid(uuid.slice(16).toUpperCase()),
      entry
    )
    assert.deepEqual(await rekor.getEntryByIndex(Number(entry.logIndex)), entry)
  })

  it('unknown entries → REKOR_ENTRY_LOOKUP_FAILED', async () => {
    await assert.rejects(rekor.getEntryByUuid('ab'.repeat(32)), {
      code: 'REKOR_ENTRY_LOOKUP_FAILED',
      message: /404/
    })
    await assert.rejects(rekor.getEntryByIndex(10_000_001), {
      code: 'REKOR_ENTRY_LOOKUP_FAILED'
    })
    await assert.rejects(rekor.getEntryByUuid('nope'), TypeError)
  })

  it("a rejected entry → REKOR_ENTRY_CREATE_FAILED with Rekor's message", async () => {
    stack.failNext('rekor', 400)
    await assert.rejects(
      rekor.createEntry(proposal()),
      (e: unknown) =>
        e instanceof SigstoreServiceError &&
        e.code === 'REKOR_ENTRY_CREATE_FAILED' &&
        /injected failure/.test(e.message) &&
        /nothing was pushed/.test(e.message) &&
        /invalid/.test(e.remedy ?? '')
    )
  })

  it('no answer → REKOR_UNREACHABLE saying nothing was pushed', async () => {
    // Twice: a reset on a reused keep-alive connection is resent once on a
    // fresh one by the transport (see transport.test.ts).
    stack.failNext('rekor', 'reset', 2)
    await assert.rejects(
      rekor.createEntry(proposal()),
      (e: unknown) =>
        e instanceof SigstoreServiceError &&
        e.code === 'REKOR_UNREACHABLE' &&
        /nothing was pushed/.test(e.message)
    )
    stack.failNext('rekor', 'reset', 0) // whichever reset was not used
  })

  it('retries a lost create and resolves the resulting 409', async () => {
    const retrying = new HttpClient({
      userAgent: 't',
      retries: 2,
      backoffBaseMs: 1,
      backoffMaxMs: 5
    })
    const client = new RekorClient({ baseUrl: stack.rekorUrl, http: retrying })
    const p = proposal('lost response')
    const created = await client.createEntry(p)
    stack.failNext('rekor', 503)
    assert.deepEqual(await client.createEntry(p), created)
  })
})

describe('RekorClient edge cases (fake server)', () => {
  const uuid = 'c'.repeat(80)

  it('409 without Location: takes the ID from the message', async () => {
    const stack = await startSigstoreStack()
    try {
      const real = new RekorClient({ baseUrl: stack.rekorUrl, http })
      const { uuid: id, entry } = await real.createEntryWithId(proposal())
      const f = await fakeRekor((method, path) => {
        if (method === 'POST') {
          return {
            status: 409,
            body: JSON.stringify({
              code: 409,
              message: `an equivalent entry already exists in the transparency log with UUID ${id}`
            })
          }
        }
        assert.equal(path, `/api/v1/log/entries/${id}`)
        const raw = stack.rekorEntries.get(id.slice(-64))!
        return { status: 200, body: JSON.stringify({ [id]: raw }) }
      })
      try {
        assert.deepEqual(
          await new RekorClient({ baseUrl: f.url, http }).createEntry(
            proposal()
          ),
          entry
        )
      } finally {
        f.close()
      }
    } finally {
      await stack.stop()
    }
  })

  it('409 with no usable ID → REKOR_ENTRY_CREATE_FAILED', async () => {
    const f = await fakeRekor(() => ({
      status: 409,
      body: '{"message":"conflict"}'
    }))
    try {
      await assert.rejects(
        new RekorClient({ baseUrl: f.url, http }).createEntry(proposal()),
        {
          code: 'REKOR_ENTRY_CREATE_FAILED',
          message: /409/
        }
      )
    } finally {
      f.close()
    }
  })

  it('malformed 201 bodies → REKOR_ENTRY_CREATE_FAILED', async () => {
    const good = {
      body: toBase64(
        utf8('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}')
      ),
      integratedTime: 1,
      logID: 'a'.repeat(64),
      logIndex: 5
    }
    for (const body of [
      'nope',
      '{}',
      JSON.stringify({ [uuid]: good, [uuid.replace('c', 'd')]: good }),
      JSON.stringify({ 'not-a-uuid': good }),
      JSON.stringify({ [uuid]: { ...good, logID: 'xyz' } }),
      JSON.stringify({ [uuid]: { ...good, logIndex: '5' } }),
      JSON.stringify({ [uuid]: { ...good, body: toBase64(utf8('{}')) } }),
      JSON.stringify({
        [uuid]: {
          ...good,
          verification: { inclusionProof: { hashes: ['zz'] } }
        }
      })
    ]) {
      const f = await fakeRekor(() => ({ status: 201, body }))
      try {
        await assert.rejects(
          new RekorClient({ baseUrl: f.url, http }).createEntry(proposal()),
          {
            code: 'REKOR_ENTRY_CREATE_FAILED'
          },
          body
        )
      } finally {
        f.close()
      }
    }
  })
})

describe('RekorClient.findEntries (search by content, as cosign looks up a .sig)', () => {
  let stack: SigstoreStack
  let rekor: RekorClient
  before(async () => {
    stack = await startSigstoreStack()
    rekor = new RekorClient({ baseUrl: stack.rekorUrl, http })
  })
  after(() => stack.stop())

  it('finds a logged entry by its proposed form, and nothing for one never logged', async () => {
    const p = proposal()
    const { uuid } = await rekor.createEntryWithId(p)
    const [found, more] = await rekor.findEntries(p)
    assert.ok(found)
    assert.equal(found.uuid, uuid)
    assert.equal(more, undefined)
    assert.ok(found.entry.inclusionPromise && found.entry.inclusionProof)
    assert.deepEqual(await rekor.findEntries(proposal()), [])
  })

  it('skips an entry whose body is not the leaf its ID names; refuses non-arrays', async () => {
    const p = proposal()
    const { uuid } = await rekor.createEntryWithId(p)
    const stored = stack.rekorEntries.get(uuid.slice(-64))!
    const body = stored['body']
    try {
      stored['body'] = Buffer.from('{"other":1}').toString('base64')
      assert.deepEqual(await rekor.findEntries(p), [])
    } finally {
      stored['body'] = body
    }
    const fake = await fakeRekor(() => ({ status: 200, body: '{"a":1}' }))
    try {
      await assert.rejects(
        new RekorClient({ baseUrl: fake.url, http }).findEntries(p),
        { code: 'REKOR_ENTRY_LOOKUP_FAILED' }
      )
    } finally {
      fake.close()
    }
  })
})
