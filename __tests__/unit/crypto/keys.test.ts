import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { after, describe, it } from 'node:test'
import {
  KeyError,
  generateEphemeralKey,
  parsePrivateKey,
  verifySignature
} from '../../../src/crypto/index.ts'
import { parsePemBlocks, utf8 } from '../../../src/util/index.ts'

const P256_N = BigInt(
  '0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'
)
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/keys/${name}`, import.meta.url), 'utf8')

/** s of a DER ECDSA signature SEQUENCE { INTEGER r, INTEGER s } */
function sOf(der: Uint8Array): bigint {
  assert.equal(der[0], 0x30)
  let o = 2
  assert.equal(der[o], 0x02)
  o += 2 + der[o + 1]!
  assert.equal(der[o], 0x02)
  const len = der[o + 1]!
  return BigInt(
    `0x${Buffer.from(der.subarray(o + 2, o + 2 + len)).toString('hex')}`
  )
}

const dir = mkdtempSync(join(tmpdir(), 'sigil-keys-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function opensslVerify(
  pubPem: string,
  data: Uint8Array,
  sig: Uint8Array,
  hash = 'sha256'
): string {
  const f = (n: string, c: Uint8Array | string) => {
    const p = join(dir, n)
    writeFileSync(p, c)
    return p
  }
  const pub = f('pub.pem', pubPem)
  const d = f('data', data)
  const s = f('sig', sig)
  return execFileSync(
    'openssl',
    ['dgst', `-${hash}`, '-verify', pub, '-signature', s, d],
    {
      encoding: 'utf8'
    }
  ).trim()
}

describe('generateEphemeralKey', () => {
  it('yields a P-256 key with a matching SPKI and Go-style PEM', () => {
    const key = generateEphemeralKey()
    assert.equal(key.algorithm, 'ECDSA_P256_SHA256')
    assert.equal(key.hash, 'sha256')
    assert.equal(key.publicKeySpki.length, 91)
    const [block] = parsePemBlocks(key.publicKeyPem)
    assert.equal(block?.label, 'PUBLIC KEY')
    assert.deepEqual(block?.der, key.publicKeySpki)
    assert.match(
      key.publicKeyPem,
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/]{64}\n/
    )
    const node = createPublicKey({
      key: Buffer.from(key.publicKeySpki),
      format: 'der',
      type: 'spki'
    })
    assert.equal(node.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  })

  it('signs DER ECDSA-SHA256 that openssl accepts', () => {
    const key = generateEphemeralKey()
    const data = utf8('hello, openssl')
    const sig = key.sign(data)
    assert.equal(opensslVerify(key.publicKeyPem, data, sig), 'Verified OK')
    assert.ok(verifySignature(key.publicKeySpki, data, sig))
  })

  it('always produces low-S signatures', () => {
    const key = generateEphemeralKey()
    for (let i = 0; i < 64; i++) {
      assert.ok(sOf(key.sign(utf8(`message ${i}`))) <= P256_N / 2n)
    }
  })

  it('is deterministic (RFC 6979) and distinct per key', () => {
    const a = generateEphemeralKey()
    const b = generateEphemeralKey()
    const m = utf8('same message')
    assert.deepEqual(a.sign(m), a.sign(m))
    assert.notDeepEqual(a.sign(m), b.sign(m))
    assert.notDeepEqual(a.publicKeySpki, b.publicKeySpki)
  })

  it('never exposes the private key through inspection or JSON', () => {
    const key = generateEphemeralKey()
    const text =
      inspect(key, { showHidden: true, depth: 5 }) + JSON.stringify(key)
    assert.doesNotMatch(text, /secret/i)
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(key))).sort(), [
      'algorithm',
      'publicKeyPem'
    ])
  })
})

describe('parsePrivateKey (plain PEM)', () => {
  it('loads SEC1 and PKCS#8 P-256 keys onto the noble path', () => {
    for (const name of ['ec-p256.key', 'pkcs8-p256.key']) {
      const key = parsePrivateKey(fixture(name))
      assert.equal(key.algorithm, 'ECDSA_P256_SHA256')
      const data = utf8(name)
      const sig = key.sign(data)
      assert.deepEqual(sig, key.sign(data), 'deterministic')
      assert.ok(sOf(sig) <= P256_N / 2n)
      assert.equal(opensslVerify(key.publicKeyPem, data, sig), 'Verified OK')
    }
  })

  it('loads P-384 (SHA-384) through node:crypto', () => {
    const key = parsePrivateKey(fixture('ec-p384.key'))
    assert.equal(key.algorithm, 'ECDSA_P384_SHA384')
    assert.equal(key.hash, 'sha384')
    const data = utf8('p384')
    const sig = key.sign(data)
    assert.equal(
      opensslVerify(key.publicKeyPem, data, sig, 'sha384'),
      'Verified OK'
    )
  })

  it('rejects curves and types cosign refuses', () => {
    assert.throws(() => parsePrivateKey(fixture('ec-p224.key')), {
      name: 'KeyError',
      code: 'KEY_UNSUPPORTED'
    })
    const ed =
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIALEbo1EFnWFqBK/wC+hhypG/8hXEerwdNetAoFoFVdv\n-----END PRIVATE KEY-----\n'
    assert.throws(() => parsePrivateKey(ed), { code: 'KEY_UNSUPPORTED' })
  })

  it('rejects malformed input with KEY_INVALID', () => {
    const cases = [
      '',
      'not a key',
      '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      fixture('ec-p256.key') + fixture('pkcs8-p256.key')
    ]
    for (const pem of cases) {
      assert.throws(
        () => parsePrivateKey(pem),
        (e: unknown) => e instanceof KeyError && e.code === 'KEY_INVALID',
        JSON.stringify(pem.slice(0, 40))
      )
    }
  })
})
