import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateEphemeralKey } from '../../../../src/crypto/index.ts'
import {
  buildDsseEntry,
  buildHashedRekordEntry
} from '../../../../src/sigstore/rekor/index.ts'
import {
  fromBase64,
  fromUtf8,
  sha256Hex,
  toBase64,
  utf8
} from '../../../../src/util/index.ts'

const key = generateEphemeralKey()

describe('buildHashedRekordEntry', () => {
  it('builds the v0.0.1 proposed entry (base64 signature, base64 PEM)', () => {
    const data = utf8('payload')
    const sig = key.sign(data)
    const e = buildHashedRekordEntry({
      payloadSha256Hex: sha256Hex(data),
      signature: sig,
      verifierPem: key.publicKeyPem
    })
    assert.deepEqual(e, {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        signature: {
          content: toBase64(sig),
          publicKey: { content: toBase64(utf8(key.publicKeyPem)) }
        },
        data: { hash: { algorithm: 'sha256', value: sha256Hex(data) } }
      }
    })
    assert.equal(
      fromUtf8(fromBase64(e.spec.signature.publicKey.content)),
      key.publicKeyPem
    )
  })

  it('accepts sha384/sha512 digests', () => {
    const e = buildHashedRekordEntry({
      digest: { algorithm: 'sha384', hex: 'a'.repeat(96) },
      signature: new Uint8Array([1]),
      verifierPem: key.publicKeyPem
    })
    assert.equal(e.spec.data.hash.algorithm, 'sha384')
  })

  it('rejects bad input (programmer errors)', () => {
    const base = {
      signature: new Uint8Array([1]),
      verifierPem: key.publicKeyPem
    }
    for (const bad of [
      { ...base },
      { ...base, payloadSha256Hex: 'A'.repeat(64) },
      { ...base, payloadSha256Hex: 'a'.repeat(63) },
      {
        ...base,
        digest: { algorithm: 'sha512' as const, hex: 'a'.repeat(64) }
      },
      {
        ...base,
        payloadSha256Hex: 'a'.repeat(64),
        digest: { algorithm: 'sha256' as const, hex: 'a'.repeat(64) }
      },
      {
        ...base,
        payloadSha256Hex: 'a'.repeat(64),
        signature: new Uint8Array()
      },
      { ...base, payloadSha256Hex: 'a'.repeat(64), verifierPem: 'not pem' }
    ]) {
      assert.throws(() => buildHashedRekordEntry(bad), TypeError)
    }
  })
})

describe('buildDsseEntry', () => {
  const envelope = JSON.stringify({
    payloadType: 'application/vnd.in-toto+json',
    payload: toBase64(utf8('{}')),
    signatures: [{ sig: toBase64(new Uint8Array([1, 2])) }]
  })

  it('keeps the envelope string verbatim and base64s the verifier PEM', () => {
    const e = buildDsseEntry({
      envelopeJson: envelope,
      verifierPem: key.publicKeyPem
    })
    assert.deepEqual(e, {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        proposedContent: {
          envelope,
          verifiers: [toBase64(utf8(key.publicKeyPem))]
        }
      }
    })
  })

  it('rejects unsigned or non-DSSE envelopes', () => {
    for (const bad of [
      '{',
      '{}',
      JSON.stringify({ payload: 'x', payloadType: 't', signatures: [] })
    ]) {
      assert.throws(
        () =>
          buildDsseEntry({ envelopeJson: bad, verifierPem: key.publicKeyPem }),
        TypeError
      )
    }
  })
})
