import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { HttpClient } from '../../../../src/http/index.ts'
import { SigstoreServiceError } from '../../../../src/sigstore/errors.ts'
import {
  TsaClient,
  buildTimeStampReq
} from '../../../../src/sigstore/tsa/index.ts'
import { sha256, toHex } from '../../../../src/util/index.ts'
import {
  startSigstoreStack,
  type SigstoreStack
} from '../../../support/sigstore-stack.ts'

const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 0,
  timeoutMs: 5000
})
const dir = mkdtempSync(join(tmpdir(), 'sigil-tsa-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function openssl(args: string[], input: Uint8Array, name: string): string {
  const path = join(dir, name)
  writeFileSync(path, input)
  return execFileSync('openssl', [...args.map(a => (a === '@' ? path : a))], {
    encoding: 'utf8'
  })
}

/** A server that answers every POST with fixed bytes (or a function of the body). */
async function fakeTsa(
  reply: (body: Buffer) => { status: number; body: Uint8Array | string }
) {
  const bodies: Buffer[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => {
        const body = Buffer.concat(chunks)
        bodies.push(body)
        const r = reply(body)
        res
          .writeHead(r.status, {
            'content-type': 'application/timestamp-reply'
          })
          .end(r.body)
      })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/timestamp`,
    bodies,
    close: () => server.close()
  }
}

describe('buildTimeStampReq', () => {
  it('encodes an RFC 3161 request openssl can read', () => {
    const imprint = sha256(new Uint8Array([1, 2, 3]))
    const der = buildTimeStampReq(
      imprint,
      Uint8Array.from([0x7f, 1, 2, 3, 4, 5, 6, 7])
    )
    const text = openssl(['ts', '-query', '-in', '@', '-text'], der, 'req.tsq')
    assert.match(text, /Version: 1/)
    assert.match(text, /Hash Algorithm: sha256/)
    assert.match(text, /Nonce: 0x7F01020304050607/i)
    assert.match(text, /Certificate required: yes/)
    const dumped = text
      .split('\n')
      .filter(l => /^\s+[0-9a-f]{4} - /.test(l))
      .map(l =>
        l
          .replace(/^\s+[0-9a-f]{4} - /, '')
          .slice(0, 47)
          .replace(/[-\s]/g, '')
      )
      .join('')
    assert.equal(dumped, toHex(imprint))
  })

  it('keeps the nonce a positive INTEGER', () => {
    const der = buildTimeStampReq(
      new Uint8Array(32),
      Uint8Array.from([0x80, 0, 0, 0, 0, 0, 0, 1])
    )
    assert.match(
      openssl(['ts', '-query', '-in', '@', '-text'], der, 'req2.tsq'),
      /Nonce: 0x8000000000000001/i
    )
  })
})

describe('TsaClient', () => {
  let stack: SigstoreStack
  before(async () => {
    stack = await startSigstoreStack()
  })
  after(() => stack.stop())

  it('gets a granted DER TimeStampResp for SHA-256(signature)', async () => {
    const signature = new Uint8Array([9, 8, 7, 6])
    const tsr = await new TsaClient({
      url: stack.tsaTimestampUrl,
      http
    }).timestamp(signature)
    const text = openssl(['ts', '-reply', '-in', '@', '-text'], tsr, 'resp.tsr')
    assert.match(text, /Status: Granted/)
    assert.match(text, /Policy OID: 1\.3\.6\.1\.4\.1\.57264\.2/)
    assert.match(text, /Nonce: 0x[0-9A-F]+/i)
    assert.equal(stack.counts.tsa, 1)
  })

  it('rejects a reply to another request (nonce or imprint mismatch)', async () => {
    const sig = new Uint8Array([1])
    const canned = await new TsaClient({
      url: stack.tsaTimestampUrl,
      http
    }).timestamp(sig)
    const f = await fakeTsa(() => ({ status: 201, body: canned }))
    try {
      const client = new TsaClient({ url: f.url, http })
      await assert.rejects(client.timestamp(sig), {
        code: 'TSA_REQUEST_FAILED',
        message: /nonce/
      })
      await assert.rejects(client.timestamp(new Uint8Array([2])), {
        code: 'TSA_REQUEST_FAILED',
        message: /imprint/
      })
    } finally {
      f.close()
    }
  })

  it('reports a refused request with its status text', async () => {
    // TimeStampResp { PKIStatusInfo { status 2 (rejection), statusString { "bad alg" } } }
    const refused = Uint8Array.from([
      0x30,
      0x10,
      0x30,
      0x0e,
      0x02,
      0x01,
      0x02,
      0x30,
      0x09,
      0x0c,
      0x07,
      ...Buffer.from('bad alg')
    ])
    const f = await fakeTsa(() => ({ status: 200, body: refused }))
    try {
      await assert.rejects(
        new TsaClient({ url: f.url, http }).timestamp(new Uint8Array([1])),
        (e: unknown) =>
          e instanceof SigstoreServiceError &&
          e.code === 'TSA_REQUEST_FAILED' &&
          /status 2 \(rejection\): bad alg/.test(e.message)
      )
    } finally {
      f.close()
    }
  })

  it('garbage, HTTP errors → TSA_REQUEST_FAILED; no answer → TSA_UNREACHABLE', async () => {
    for (const r of [
      { status: 200, body: 'not der' },
      { status: 200, body: Uint8Array.from([0x30, 0x03, 0x30, 0x01]) },
      { status: 400, body: 'invalid request' }
    ]) {
      const f = await fakeTsa(() => r)
      try {
        await assert.rejects(
          new TsaClient({ url: f.url, http }).timestamp(new Uint8Array([1])),
          {
            code: 'TSA_REQUEST_FAILED'
          }
        )
      } finally {
        f.close()
      }
    }
    // Twice: a reset on a reused keep-alive connection is resent once on a
    // fresh one by the transport (see transport.test.ts).
    stack.failNext('tsa', 'reset', 2)
    await assert.rejects(
      new TsaClient({ url: stack.tsaTimestampUrl, http }).timestamp(
        new Uint8Array([1])
      ),
      {
        code: 'TSA_UNREACHABLE',
        message: /nothing was pushed/
      }
    )
    stack.failNext('tsa', 'reset', 0) // whichever reset was not used
  })

  it('sends application/timestamp-query', async () => {
    const f = await fakeTsa(() => ({ status: 500, body: 'x' }))
    try {
      await assert.rejects(
        new TsaClient({ url: f.url, http }).timestamp(new Uint8Array([1])),
        { name: 'SigstoreServiceError', code: 'TSA_REQUEST_FAILED' }
      )
      const text = openssl(
        ['ts', '-query', '-in', '@', '-text'],
        f.bodies[0]!,
        'sent.tsq'
      )
      assert.match(text, /Certificate required: yes/)
    } finally {
      f.close()
    }
  })
})
