import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  onSecret,
  redact,
  registerCredential,
  registerSecret
} from '../../../src/util/index.ts'

const b64 = (s: string): string => Buffer.from(s).toString('base64')
const b64url = (s: string): string => Buffer.from(s).toString('base64url')

test('user:password in every encoding a registry could echo', () => {
  // ? and > in the pair make the std and url alphabets differ.
  const user = 'robot?>'
  const password = 'S3cret-p4ssw0rd-for-the-registry>?'
  registerCredential(user, password)
  const pair = `${user}:${password}`
  for (const form of [
    password,
    pair,
    b64(pair),
    b64(pair).replace(/=+$/, ''),
    b64url(pair),
    `Basic ${b64(pair)}`
  ]) {
    const out = redact(`registry said: bad credential ${form} (denied)`)
    assert.ok(!out.includes(form), `${form} → ${out}`)
    assert.match(out, /registry said: bad credential .*\*\*\*/)
  }
  assert.notEqual(b64(pair).replace(/=+$/, ''), b64url(pair))
})

test('a short password does not garble ordinary words, but its credential forms go', () => {
  registerCredential('alice', 'wrong')
  assert.equal(redact('wrong password'), 'wrong password')
  assert.equal(redact('the wrongdoer'), 'the wrongdoer')
  const basic = b64('alice:wrong')
  assert.equal(redact(`echo ${basic} back`), 'echo *** back')
  assert.equal(redact(`echo ${b64url('alice:wrong')} back`), 'echo *** back')
  assert.equal(redact(`auth basic ${basic}`), 'auth basic ***')
})

test('a medium secret is redacted as a whole token only', () => {
  registerSecret('hunter22x')
  assert.equal(redact('pw=hunter22x;'), 'pw=***;')
  assert.equal(redact('"hunter22x"'), '"***"')
  assert.equal(redact('xhunter22xy'), 'xhunter22xy')
})

test('a long secret is redacted wherever it occurs', () => {
  const token = 'registry-bearer-0123456789abcdef'
  registerSecret(token)
  assert.equal(redact(`a${token}b`), 'a***b')
})

test('a JWT: whole, and its payload and signature segments alone', () => {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))
  const payload = b64url(
    JSON.stringify({ sub: 'repo:org/app', aud: 'sigstore', exp: 2e9 })
  )
  const sig = b64url('a-signature-that-is-long-enough-to-matter')
  const jwt = `${header}.${payload}.${sig}`
  registerSecret(jwt)
  assert.ok(!redact(`token ${jwt}`).includes(payload))
  assert.equal(redact(`claims ${payload}`), 'claims ***')
  assert.equal(redact(`sig ${sig}`), 'sig ***')
})

test('every base64 line of a PEM private key', () => {
  const body = ['A'.repeat(64), 'B'.repeat(64), 'C'.repeat(20)]
  const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${body.join('\n')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`
  registerSecret(pem)
  for (const line of body) assert.equal(redact(`x ${line} y`), 'x *** y')
  assert.equal(redact(body.join('')), '***')
})

test('onSecret sees forms registered before and after, none shorter than 8', () => {
  const seen: string[] = []
  registerCredential('bob', 'early-password-1')
  onSecret(v => seen.push(v))
  assert.ok(seen.includes('early-password-1'))
  assert.ok(seen.includes(b64('bob:early-password-1')))
  registerSecret('late-secret-value')
  assert.ok(seen.includes('late-secret-value'))
  registerSecret('short')
  assert.ok(seen.every(v => v.length >= 8))
})
