// Our P-256 signer (noble's RFC 6979 nonce and field arithmetic, OpenSSL's
// k·G) must produce exactly noble's deterministic low-S signatures, and
// verify with node:crypto.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, verify } from 'node:crypto'
import { p256 } from '@noble/curves/nist.js'
import {
  generateEphemeralKey,
  signingKeyFromPkcs8
} from '../../../src/crypto/index.ts'
import { createPrivateKey } from 'node:crypto'

test('signatures are byte-identical to noble p256.sign (RFC 6979, low-S, DER)', () => {
  for (let i = 0; i < 200; i++) {
    const secret = p256.utils.randomSecretKey()
    const jwkD = Buffer.from(secret).toString('base64url')
    const pub = p256.getPublicKey(secret, false)
    const key = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: jwkD,
        x: Buffer.from(pub.subarray(1, 33)).toString('base64url'),
        y: Buffer.from(pub.subarray(33)).toString('base64url')
      }
    })
    const ours = signingKeyFromPkcs8(
      new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }))
    )
    const msg = randomBytes(1 + (i % 97))
    const expected = p256.sign(msg, secret, { format: 'der' })
    assert.deepEqual(
      Buffer.from(ours.sign(msg)).toString('hex'),
      Buffer.from(expected).toString('hex')
    )
  }
})

test('ephemeral keys sign verifiably, deterministically, with low S', () => {
  const key = generateEphemeralKey()
  const pub = Buffer.from(key.publicKeySpki)
  const msg = Buffer.from('payload')
  const a = key.sign(msg)
  assert.deepEqual(a, key.sign(msg))
  assert.ok(verify('sha256', msg, { key: pub, format: 'der', type: 'spki' }, a))
  assert.ok(p256.verify(a, msg, pub.subarray(26), { format: 'der' }))
})
