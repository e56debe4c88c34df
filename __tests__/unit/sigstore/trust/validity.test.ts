// Trusted roots as real clients write them, and the client spec's validity
// rules: JSON null is an absent field; an authority whose validFor has no
// start is invalid and never used; both ends of validFor are inclusive.
// Each rule is tested on both sides of its boundary, for tlogs (SET), CT logs
// (SCT), Fulcio CAs (chain) and TSAs (RFC 3161).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromBase64, parsePemBlocks } from '../../../../src/util/index.ts'
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../../../../src/sigstore/trust/public-good.generated.ts'
import {
  TrustRootError,
  inWindow,
  parseTrustedRoot
} from '../../../../src/sigstore/trust/index.ts'
import {
  embeddedSCTs,
  parseCertificate
} from '../../../../src/sigstore/x509/index.ts'
import {
  VerificationError,
  logAuthoritiesFor,
  verifyCertificateChain,
  verifyRFC3161Timestamp,
  verifySCTs
} from '../../../../src/sigstore/verify/index.ts'
import { vectorsDir, vectorsSkipReason } from '../../../support/vectors.ts'
import { FULCIO_LEAF_PEM, SIGNED_AT } from '../x509/fulcio-leaf.ts'
import { FakeLog, keyBundle, newSigner } from '../verify/fake-log.ts'
import { parseBundle } from '../../../../src/sigstore/bundle/index.ts'
import {
  toSignedEntity,
  verifySignedEntity
} from '../../../../src/sigstore/verify/index.ts'

type Root = Record<string, any>
const clone = (): Root => structuredClone(PUBLIC_GOOD_TRUSTED_ROOT) as Root
const iso = (ms: number): string => new Date(ms).toISOString()

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof VerificationError, String(e))
    return e.code
  }
  return 'ok'
}

test('inWindow: both ends inclusive, nothing without a start', () => {
  const w = { start: 1000, end: 2000 }
  assert.equal(inWindow(w, 999), false)
  assert.equal(inWindow(w, 1000), true)
  assert.equal(inWindow(w, 2000), true)
  assert.equal(inWindow(w, 2001), false)
  assert.equal(inWindow({ start: 1000, end: Infinity }, 9e15), true)
  assert.equal(inWindow({ start: undefined, end: Infinity }, 1500), false)
  assert.equal(inWindow({ start: undefined, end: 2000 }, 1500), false)
})

test('JSON null is an absent field (protobuf JSON), wherever it is optional', () => {
  const r = clone()
  r['tlogs'][0].checkpointKeyId = null
  r['tlogs'][0].hashAlgorithm = null
  r['tlogs'][0].publicKey.keyDetails = null
  r['tlogs'][0].publicKey.validFor.end = null
  r['ctlogs'][0].publicKey.validFor.end = null
  r['certificateAuthorities'][0].uri = null
  r['certificateAuthorities'][0].subject = null
  r['certificateAuthorities'][0].validFor.end = null
  const t = parseTrustedRoot(r)
  const plain = parseTrustedRoot(clone())
  assert.equal(t.tlogs[0]!.checkpointKeyId, undefined)
  assert.equal(t.tlogs[0]!.hashAlgorithm, 'SHA2_256')
  assert.equal(t.tlogs[0]!.validFor.end, Infinity)
  assert.equal(t.tlogs[0]!.validFor.start, plain.tlogs[0]!.validFor.start)
  assert.equal(t.certificateAuthorities[0]!.uri, '')
  assert.equal(t.certificateAuthorities[0]!.validFor.end, Infinity)
  // Whole lists set to null are empty lists.
  const lists = clone()
  lists['timestampAuthorities'] = null
  lists['ctlogs'] = null
  const l = parseTrustedRoot(lists)
  assert.deepEqual([l.timestampAuthorities, l.ctlogs], [[], []])
  // A required field set to null is as missing as an absent one.
  const required = clone()
  required['tlogs'][0].publicKey = null
  assert.throws(() => parseTrustedRoot(required), {
    name: 'TrustRootError',
    code: 'TRUST_ROOT_INVALID',
    message: /tlogs\[0\]\.publicKey is missing/
  })
  assert.ok(new TrustRootError('x') instanceof Error)
})

// ---- tlogs: the SET's integrated time against the log key's window -----

const artifact = Buffer.from('validity windows\n')
const signer = newSigner()
const INTEGRATED = 1_700_000_000

function verifyWithLogWindow(validFor: unknown): string {
  const log = new FakeLog()
  const { bundle } = keyBundle(log, signer, artifact, {
    integratedTime: INTEGRATED
  })
  const tlog = log.tlogJson() as Root
  if (validFor === undefined) delete tlog['publicKey'].validFor
  else tlog['publicKey'].validFor = validFor
  const trust = parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [tlog],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: []
  })
  const entity = toSignedEntity(parseBundle(bundle), { bytes: artifact })
  return code(() =>
    verifySignedEntity(entity, { trust, publicKey: signer.pem })
  )
}

test('tlog key window: start and end inclusive at the integrated time, one ms outside fails', () => {
  const t = INTEGRATED * 1000
  assert.equal(verifyWithLogWindow({ start: iso(t) }), 'ok')
  assert.equal(verifyWithLogWindow({ start: iso(t + 1) }), 'TLOG_SET_INVALID')
  assert.equal(verifyWithLogWindow({ start: iso(t - 1), end: iso(t) }), 'ok')
  assert.equal(
    verifyWithLogWindow({ start: iso(t - 2), end: iso(t - 1) }),
    'TLOG_SET_INVALID'
  )
})

test('tlog without a validFor start (or without validFor) is never used', () => {
  const t = INTEGRATED * 1000
  assert.equal(
    verifyWithLogWindow({ end: iso(t + 1000) }),
    'TLOG_UNTRUSTED_LOG'
  )
  assert.equal(verifyWithLogWindow({}), 'TLOG_UNTRUSTED_LOG')
  assert.equal(verifyWithLogWindow(undefined), 'TLOG_UNTRUSTED_LOG')
  assert.equal(verifyWithLogWindow({ start: null }), 'TLOG_UNTRUSTED_LOG')
  const log = new FakeLog()
  const tlog = log.tlogJson() as Root
  delete tlog['publicKey'].validFor.start
  const trust = parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [tlog]
  })
  assert.equal(trust.tlogs.length, 1, 'listed, so errors can name it')
  assert.deepEqual(logAuthoritiesFor(trust, log.logId), [])
})

// ---- Fulcio CA and CT log windows, with the real public-good leaf -------

const leaf = parseCertificate(parsePemBlocks(FULCIO_LEAF_PEM)[0]!.der)
const at = SIGNED_AT.getTime()

function chainWithCaWindow(validFor: unknown): string {
  const r = clone()
  for (const ca of r['certificateAuthorities']) {
    if (validFor === undefined) delete ca.validFor
    else ca.validFor = validFor
  }
  return code(() =>
    verifyCertificateChain(leaf, parseTrustedRoot(r), SIGNED_AT)
  )
}

test('CA window: both ends inclusive at the signing time, one ms outside fails', () => {
  assert.equal(chainWithCaWindow({ start: iso(at), end: iso(at) }), 'ok')
  assert.equal(
    chainWithCaWindow({ start: iso(at + 1) }),
    'CERTIFICATE_UNTRUSTED_CA'
  )
  assert.equal(
    chainWithCaWindow({ start: iso(at - 1000), end: iso(at - 1) }),
    'CERTIFICATE_UNTRUSTED_CA'
  )
})

test('CA without a validFor start (or without validFor) is never used', () => {
  assert.equal(
    chainWithCaWindow({ end: iso(at + 1000) }),
    'CERTIFICATE_UNTRUSTED_CA'
  )
  assert.equal(chainWithCaWindow(undefined), 'CERTIFICATE_UNTRUSTED_CA')
})

function sctsWithCtWindow(validFor: unknown): string {
  const r = clone()
  for (const ct of r['ctlogs']) {
    if (validFor === undefined) delete ct.publicKey.validFor
    else ct.publicKey.validFor = validFor
  }
  const trust = parseTrustedRoot(r)
  const path = verifyCertificateChain(
    leaf,
    parseTrustedRoot(clone()),
    SIGNED_AT
  )
  return code(() => verifySCTs(leaf, path, trust, 1))
}

test('CT log window: both ends inclusive at the SCT time, one ms outside fails; no start is never used', () => {
  const ts = embeddedSCTs(leaf)[0]!.timestamp
  assert.equal(sctsWithCtWindow({ start: iso(ts), end: iso(ts) }), 'ok')
  assert.equal(sctsWithCtWindow({ start: iso(ts + 1) }), 'SCT_INVALID')
  assert.equal(
    sctsWithCtWindow({ start: iso(ts - 1000), end: iso(ts - 1) }),
    'SCT_INVALID'
  )
  assert.equal(sctsWithCtWindow({ end: iso(ts + 1000) }), 'SCT_INVALID')
  assert.equal(sctsWithCtWindow(undefined), 'SCT_INVALID')
})

// ---- TSA window (needs a real TSA token from the shared vectors) --------

test(
  'TSA window: both ends inclusive at genTime, one ms outside fails; no start is never used',
  { skip: vectorsSkipReason() },
  () => {
    const dir = vectorsDir()!
    const bundle = JSON.parse(
      readFileSync(
        join(dir, 'sigstore-java/bundle-with-timestamp.sigstore'),
        'utf8'
      )
    )
    const rootJson = JSON.parse(
      readFileSync(join(dir, 'trusted_root/staging.trusted_root.json'), 'utf8')
    ) as Root
    const der = fromBase64(
      bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0]
        .signedTimestamp
    )
    const sig = fromBase64(bundle.messageSignature.signature)
    const genTime = verifyRFC3161Timestamp(der, sig, parseTrustedRoot(rootJson))
    const t = genTime.getTime()
    const withWindow = (validFor: unknown): string => {
      const r = structuredClone(rootJson)
      for (const tsa of r['timestampAuthorities']) {
        if (validFor === undefined) delete tsa.validFor
        else tsa.validFor = validFor
      }
      return code(() => verifyRFC3161Timestamp(der, sig, parseTrustedRoot(r)))
    }
    assert.equal(withWindow({ start: iso(t), end: iso(t) }), 'ok')
    assert.equal(withWindow({ start: iso(t + 1) }), 'TIMESTAMP_INVALID')
    assert.equal(
      withWindow({ start: iso(t - 1000), end: iso(t - 1) }),
      'TIMESTAMP_INVALID'
    )
    assert.equal(withWindow({ end: iso(t + 1000) }), 'TIMESTAMP_INVALID')
    assert.equal(withWindow(undefined), 'TIMESTAMP_INVALID')
  }
)
