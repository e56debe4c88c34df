// src/actions/lazy/: the stand-ins that tsconfig.json "paths" puts in place of
// @actions/http-client and @actions/exec when ncc bundles @actions/core. They
// must behave as the real packages do, loading them on first use.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { BearerCredentialHandler } from '@actions/http-client/lib/auth'
import { HttpClient } from '../../../src/actions/lazy/http-client.ts'
import { getExecOutput } from '../../../src/actions/lazy/exec.ts'

test('HttpClient stand-in: getJson reaches the server through the real client, with its handlers', async () => {
  const seen: { auth?: string; ua?: string }[] = []
  const server = createServer((req, res) => {
    seen.push({
      auth: req.headers.authorization,
      ua: req.headers['user-agent']
    })
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ value: 'id-token' }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const { port } = server.address() as AddressInfo
    const client = new HttpClient('actions/oidc-client', [
      new BearerCredentialHandler('request-token')
    ])
    const res = await (
      client as unknown as {
        getJson(url: string): Promise<{ statusCode: number; result: unknown }>
      }
    ).getJson(`http://127.0.0.1:${port}/token?audience=sigstore`)
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.result, { value: 'id-token' })
    assert.deepEqual(seen, [
      { auth: 'Bearer request-token', ua: 'actions/oidc-client' }
    ])
  } finally {
    server.close()
  }
})

test('HttpClient stand-in: a method the real client lacks is a TypeError, not a silent no-op', async () => {
  const client = new HttpClient('ua') as unknown as {
    noSuchMethod(): Promise<unknown>
  }
  await assert.rejects(client.noSuchMethod(), TypeError)
})

test('exec stand-in: getExecOutput runs the command through the real @actions/exec', async () => {
  const out = await getExecOutput(
    process.execPath,
    ['-e', 'process.stdout.write("ran")'],
    { silent: true }
  )
  assert.equal(out.exitCode, 0)
  assert.equal(out.stdout, 'ran')
})
