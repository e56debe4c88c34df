// --key as an https URL (cosign's LoadFileOrURL; luet-cosign's
// COSIGN_PUBLIC_KEY_LOCATION): fetched once, URL credentials sent to that
// origin only (a redirect to another host drops them), plain http only on
// loopback, a downgrade refused, non-keys refused. Loopback servers only.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fetchKeyUrl } from '../../../src/cosign/key-location.ts'
import { readKey } from '../../../src/cosign/inputs.ts'
import { generateKeyPair } from '../../../src/crypto/index.ts'

const PEM = generateKeyPair('x').publicKeyPem
const seen: { server: string; path: string; headers: IncomingHttpHeaders }[] =
  []
let a: string
let b: string

function serve(
  name: string,
  handle: (
    path: string,
    auth: string | undefined
  ) => [number, Record<string, string>, string]
) {
  const s = createServer((req, res) => {
    seen.push({ server: name, path: req.url!, headers: req.headers })
    const [status, headers, body] = handle(req.url!, req.headers.authorization)
    res.writeHead(status, headers).end(body)
  })
  return s
}
const sa = serve('a', (path, auth) => {
  if (path === '/cosign.pub') return [200, {}, PEM]
  if (path === '/private.pub')
    return auth === `Basic ${Buffer.from('me:s3cret').toString('base64')}`
      ? [200, {}, PEM]
      : [401, {}, 'no']
  if (path === '/moved.pub') return [302, { location: `${b}/cosign.pub` }, '']
  if (path === '/html') return [200, {}, '<html>not a key</html>']
  return [404, {}, 'nope']
})
const sb = serve('b', () => [200, {}, PEM])

before(async () => {
  for (const s of [sa, sb])
    await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  a = `http://127.0.0.1:${(sa.address() as AddressInfo).port}`
  b = `http://localhost:${(sb.address() as AddressInfo).port}`
})
after(() => {
  sa.close()
  sb.close()
})

test('a key URL is fetched (loopback http allowed), through readKey for public keys only', async () => {
  assert.equal(await fetchKeyUrl(`${a}/cosign.pub`, {}, '--key'), PEM)
  assert.equal(await readKey(`${a}/cosign.pub`, {}, '--key', true), PEM)
  await assert.rejects(readKey(`${a}/cosign.pub`, {}, '--key'), {
    code: 'INPUT_KEY_UNSUPPORTED'
  })
})

test('credentials in the URL go to that host, never to the one it redirects to', async () => {
  const url = new URL(`${a}/private.pub`)
  url.username = 'me'
  url.password = 's3cret'
  assert.equal(await fetchKeyUrl(url.toString(), {}, '--key'), PEM)
  await assert.rejects(
    fetchKeyUrl(`${a}/private.pub`, {}, '--key'),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'INPUT_KEY_UNREADABLE')
      assert.match(e.message, /HTTP 401/)
      assert.match(e.remedy ?? '', /sent to that host only/)
      return true
    }
  )
  seen.length = 0
  const moved = new URL(`${a}/moved.pub`)
  moved.username = 'me'
  moved.password = 's3cret'
  assert.equal(await fetchKeyUrl(moved.toString(), {}, '--key'), PEM)
  const atA = seen.find(s => s.server === 'a')!
  const atB = seen.find(s => s.server === 'b')!
  assert.ok(atA.headers.authorization, 'sent to the named host')
  assert.equal(atB.headers.authorization, undefined, 'not to the other host')
})

test('plain http off loopback, and answers that are no key, are refused', async () => {
  const before = seen.length
  await assert.rejects(
    fetchKeyUrl('http://keys.example.com/cosign.pub', {}, '--key'),
    { code: 'INPUT_KEY_INSECURE_URL' }
  )
  assert.equal(seen.length, before)
  await assert.rejects(
    fetchKeyUrl(`${a}/html`, {}, '--key'),
    /did not answer a PEM public key/
  )
  await assert.rejects(fetchKeyUrl(`${a}/missing`, {}, '--key'), /HTTP 404/)
})
