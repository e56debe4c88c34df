import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../../../../src/sigstore/trust/public-good.generated.ts'
import {
  TrustRootError,
  parseTrustedRoot,
  publicGoodTrustMaterial
} from '../../../../src/sigstore/trust/index.ts'

const root = PUBLIC_GOOD_TRUSTED_ROOT as Record<string, unknown>
const clone = (): Record<string, any> =>
  structuredClone(root) as Record<string, any>

test('public good: logs keyed by ID as KeyObjects, CA chains parsed, memoized', () => {
  const t = publicGoodTrustMaterial()
  assert.equal(t, publicGoodTrustMaterial())
  const rekor = t.tlogsById.get('wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=')
  assert.equal(rekor?.[0]?.baseUrl, 'https://rekor.sigstore.dev')
  assert.equal(rekor?.[0]?.publicKey.asymmetricKeyType, 'ec')
  assert.equal(rekor?.[0]?.validFor.start, Date.parse('2021-01-12T11:53:27Z'))
  assert.equal(rekor?.[0]?.validFor.end, Infinity)
  assert.ok(t.tlogs.some(l => l.publicKey.asymmetricKeyType === 'ed25519'))
  assert.ok(t.ctlogs.length >= 2)
  assert.ok(t.certificateAuthorities.every(ca => ca.certChain.length >= 1))
  assert.ok(t.timestampAuthorities.length >= 1)
})

test('accepts the three trusted-root media types', () => {
  for (const mt of [
    'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    'application/vnd.dev.sigstore.trustedroot.v0.1+json',
    'application/vnd.dev.sigstore.trustedroot.v0.2+json'
  ]) {
    const r = clone()
    r['mediaType'] = mt
    assert.equal(parseTrustedRoot(r).mediaType, mt)
  }
})

test('rejects malformed roots with TRUST_ROOT_INVALID', () => {
  const edits: [string, (r: Record<string, any>) => unknown][] = [
    ['not an object', () => 'nope'],
    ['media type', r => ((r['mediaType'] = 'application/json'), r)],
    ['tlogs not array', r => ((r['tlogs'] = {}), r)],
    ['key bytes', r => ((r['tlogs'][0].publicKey.rawBytes = 'AAAA'), r)],
    ['key base64', r => ((r['tlogs'][0].publicKey.rawBytes = '%%%'), r)],
    ['missing logId', r => (delete r['tlogs'][0].logId, r)],
    [
      'bad validFor',
      r => ((r['ctlogs'][0].publicKey.validFor.start = 'yesterday'), r)
    ],
    [
      'empty chain',
      r => ((r['certificateAuthorities'][0].certChain.certificates = []), r)
    ],
    [
      'broken chain',
      r => {
        const c = r['certificateAuthorities'][1].certChain.certificates
        c.reverse()
        return r
      }
    ]
  ]
  for (const [name, edit] of edits) {
    assert.throws(
      () => parseTrustedRoot(edit(clone())),
      (e: unknown) =>
        e instanceof TrustRootError && e.code === 'TRUST_ROOT_INVALID',
      name
    )
  }
})
