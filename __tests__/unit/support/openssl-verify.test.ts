// The openssl judge of the integration tests: "invalid" only when openssl
// itself says so; a missing openssl is an error, never a silent false.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { opensslVerify } from '../../support/world.ts'

test('opensslVerify: true, false from openssl, and an error without openssl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-openssl-'))
  const path = process.env.PATH
  try {
    const { publicKey, privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256'
    })
    const pub = join(dir, 'k.pub')
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }))
    const data = Buffer.from('payload')
    const sig = sign('sha256', data, privateKey)
    assert.equal(opensslVerify(pub, data, sig, dir), true)
    assert.equal(opensslVerify(pub, Buffer.from('other'), sig, dir), false)
    process.env.PATH = dir // no openssl here
    assert.throws(() => opensslVerify(pub, Buffer.from('other'), sig, dir), {
      message: /openssl could not judge the signature \(ENOENT\)/
    })
  } finally {
    process.env.PATH = path
    rmSync(dir, { recursive: true, force: true })
  }
})
