import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  buildSignStatement,
  buildSimpleSigningPayload,
  parseInTotoStatement,
  parseSimpleSigningPayload,
  statementNamesDigest
} from '../../../src/cosign/payload.ts'
import { preAuthEncoding } from '../../../src/cosign/dsse.ts'

const D = `sha256:${'ab'.repeat(32)}`
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

test('simple-signing payload is byte-identical to what cosign writes', () => {
  assert.equal(
    text(buildSimpleSigningPayload('ghcr.io/org/app', D)),
    `{"critical":{"identity":{"docker-reference":"ghcr.io/org/app"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"},"optional":null}`
  )
})

test('annotations go to optional, keys sorted, Go HTML escaping', () => {
  const p = text(buildSimpleSigningPayload('r/a', D, { z: '1', a: '<&>' }))
  assert.ok(p.endsWith(`"optional":{"a":"\\u003c\\u0026\\u003e","z":"1"}}`), p)
  assert.deepEqual(
    parseSimpleSigningPayload(new TextEncoder().encode(p)).optional,
    { a: '<&>', z: '1' }
  )
})

test('parse rejects what containers/image would reject', () => {
  const enc = (o: unknown): Uint8Array =>
    new TextEncoder().encode(JSON.stringify(o))
  for (const bad of [
    'not json',
    '[]',
    '{"critical":{}}',
    JSON.stringify({
      critical: {
        type: 'other',
        image: { 'docker-manifest-digest': D },
        identity: {}
      },
      optional: null
    }),
    JSON.stringify({
      critical: {
        type: 'cosign container image signature',
        image: {},
        identity: {}
      },
      optional: null
    }),
    JSON.stringify({
      critical: {
        type: 'cosign container image signature',
        image: { 'docker-manifest-digest': D },
        identity: {}
      },
      optional: 3
    })
  ]) {
    assert.throws(
      () => parseSimpleSigningPayload(new TextEncoder().encode(bad)),
      { code: 'PAYLOAD_INVALID' },
      bad
    )
  }
  assert.equal(
    parseSimpleSigningPayload(
      enc({
        critical: {
          type: 'cosign container image signature',
          image: { 'docker-manifest-digest': D },
          identity: { 'docker-reference': 'x' }
        },
        optional: null
      })
    ).critical.image['docker-manifest-digest'],
    D
  )
})

test('cosign v3 sign statement names the digest, no subject name', () => {
  const s = parseInTotoStatement(buildSignStatement(D, { env: 'prod' }))
  assert.equal(s._type, 'https://in-toto.io/Statement/v1')
  assert.equal(s.predicateType, 'https://sigstore.dev/cosign/sign/v1')
  assert.deepEqual(s.subject, [
    { digest: { sha256: 'ab'.repeat(32) }, annotations: { env: 'prod' } }
  ])
  assert.ok(statementNamesDigest(s, D))
  assert.ok(!statementNamesDigest(s, `sha256:${'cd'.repeat(32)}`))
})

test('DSSE pre-authentication encoding', () => {
  assert.equal(
    text(
      preAuthEncoding(
        'application/vnd.in-toto+json',
        new TextEncoder().encode('hello')
      )
    ),
    'DSSEv1 28 application/vnd.in-toto+json 5 hello'
  )
})
