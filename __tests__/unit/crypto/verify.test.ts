import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  generateKeyPairSync,
  sign as nodeSign,
  X509Certificate
} from 'node:crypto'
import { describe, it } from 'node:test'
import {
  KeyError,
  generateEphemeralKey,
  publicKeyFromPem,
  spkiFromCertificate,
  verifySignature
} from '../../../src/crypto/index.ts'
import { utf8 } from '../../../src/util/index.ts'

const P256_N = BigInt(
  '0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'
)

/** Turns a low-S DER signature into its (equally valid) high-S twin. */
function highS(der: Uint8Array): Uint8Array {
  let o = 2
  const rLen = der[o + 1]!
  const r = der.subarray(o, o + 2 + rLen)
  o += 2 + rLen
  const sLen = der[o + 1]!
  const s = BigInt(
    `0x${Buffer.from(der.subarray(o + 2, o + 2 + sLen)).toString('hex')}`
  )
  let hex = (P256_N - s).toString(16)
  if (hex.length % 2) hex = `0${hex}`
  let sb = Buffer.from(hex, 'hex')
  if (sb[0]! & 0x80) sb = Buffer.concat([Buffer.of(0), sb])
  const body = Buffer.concat([r, Buffer.of(0x02, sb.length), sb])
  return Uint8Array.from([0x30, body.length, ...body])
}

describe('verifySignature', () => {
  const key = generateEphemeralKey()
  const data = utf8('payload')
  const sig = key.sign(data)

  it('accepts SPKI DER, PEM and KeyObject forms', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    assert.ok(verifySignature(key.publicKeySpki, data, sig))
    assert.ok(verifySignature(key.publicKeyPem, data, sig))
    assert.ok(!verifySignature(publicKey, data, sig))
  })

  it('accepts high-S ECDSA signatures (no low-S rule)', () => {
    const twin = highS(sig)
    assert.notDeepEqual(twin, sig)
    assert.ok(verifySignature(key.publicKeySpki, data, twin))
  })

  it('rejects other data, corrupt and garbage signatures without throwing', () => {
    assert.ok(!verifySignature(key.publicKeySpki, utf8('other'), sig))
    const bad = Uint8Array.from(sig)
    bad[bad.length - 1]! ^= 1
    assert.ok(!verifySignature(key.publicKeySpki, data, bad))
    assert.ok(
      !verifySignature(key.publicKeySpki, data, new Uint8Array([1, 2, 3]))
    )
    assert.ok(!verifySignature(key.publicKeySpki, data, new Uint8Array()))
  })

  it('verifies RSA PKCS#1 v1.5 and Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    assert.ok(
      verifySignature(
        rsa.publicKey,
        data,
        nodeSign('sha256', data, rsa.privateKey)
      )
    )
    const rsaPem = rsa.publicKey
      .export({ type: 'spki', format: 'pem' })
      .toString()
    assert.ok(
      verifySignature(
        rsaPem,
        data,
        nodeSign('sha512', data, rsa.privateKey),
        'sha512'
      )
    )
    const ed = generateKeyPairSync('ed25519')
    assert.ok(
      verifySignature(ed.publicKey, data, nodeSign(null, data, ed.privateKey))
    )
  })

  it('throws KEY_INVALID for an unparseable key', () => {
    assert.throws(
      () => verifySignature(new Uint8Array([1, 2]), data, sig),
      KeyError
    )
    assert.throws(() => verifySignature('nope', data, sig), {
      code: 'KEY_INVALID'
    })
  })
})

describe('key helpers', () => {
  it('publicKeyFromPem returns the SPKI', () => {
    const key = generateEphemeralKey()
    assert.deepEqual(publicKeyFromPem(key.publicKeyPem), key.publicKeySpki)
  })

  it('spkiFromCertificate extracts the subject key; garbage → KEY_INVALID', () => {
    // a self-signed certificate made by openssl
    const pem = execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        '/dev/null',
        '-subj',
        '/CN=t',
        '-days',
        '1'
      ],
      { encoding: 'utf8' }
    )
    const cert = new X509Certificate(pem)
    assert.deepEqual(
      spkiFromCertificate(cert.raw),
      new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }))
    )
    assert.throws(() => spkiFromCertificate(new Uint8Array([0x30, 0])), {
      code: 'KEY_INVALID'
    })
  })
})
