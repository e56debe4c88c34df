import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { before } from 'node:test'
import {
  loadDigestVerifier,
  verifyDigestSignature
} from '../../../src/crypto/index.ts'

before(() => loadDigestVerifier())

const data = Buffer.from('artifact bytes')

for (const [name, opts, hash] of [
  ['P-256', { namedCurve: 'P-256' }, 'sha256'],
  ['P-384', { namedCurve: 'P-384' }, 'sha384'],
  ['P-521', { namedCurve: 'P-521' }, 'sha512']
] as const) {
  test(`ECDSA ${name} over a precomputed ${hash} digest`, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', opts)
    const sig = sign(hash, data, privateKey)
    const digest = createHash(hash).update(data).digest()
    assert.equal(verifyDigestSignature(publicKey, digest, sig, hash), true)
    digest[0]! ^= 1
    assert.equal(verifyDigestSignature(publicKey, digest, sig, hash), false)
  })
}

test('RSA PKCS#1 v1.5 over a precomputed digest compares the DigestInfo', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048
  })
  const sig = sign('sha256', data, privateKey)
  const digest = createHash('sha256').update(data).digest()
  assert.equal(verifyDigestSignature(publicKey, digest, sig, 'sha256'), true)
  assert.equal(verifyDigestSignature(publicKey, digest, sig, 'sha384'), false)
  const other = createHash('sha256').update('other').digest()
  assert.equal(verifyDigestSignature(publicKey, other, sig, 'sha256'), false)
})

test('Ed25519 cannot be checked from a digest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const sig = sign(null, data, privateKey)
  assert.equal(
    verifyDigestSignature(
      publicKey,
      createHash('sha256').update(data).digest(),
      sig,
      'sha256'
    ),
    false
  )
})
