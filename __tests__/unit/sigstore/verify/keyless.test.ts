// Keyless verification in process (real CA, SCT, TSA and log crypto from
// keyless-kit.ts): the certificate is judged at every observer time, a
// certificate needs one, Rekor v2 entries are dated by the TSA, and the
// messages say which time or timestamp failed.
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseBundle } from '../../../../src/sigstore/bundle/index.ts'
import {
  VerificationError,
  toSignedEntity,
  verifySCTs,
  verifySignedEntity
} from '../../../../src/sigstore/verify/index.ts'
import { parseCertificate } from '../../../../src/sigstore/x509/index.ts'
import { FakeLog } from './fake-log.ts'
import {
  ISSUER,
  SAN,
  keylessBundle,
  keylessKit,
  type Identity,
  type KeylessKit
} from './keyless-kit.ts'

const artifact = Buffer.from('keyless artifact\n')
const policy = { identity: { exact: SAN }, issuer: { exact: ISSUER } }
let kit: KeylessKit
let id: Identity
before(async () => {
  kit = await keylessKit()
  id = await kit.newIdentity()
})

const minutes = (n: number): Date =>
  new Date(kit.issuedAt.getTime() + n * 60_000)
const seconds = (n: number): number =>
  Math.floor(kit.issuedAt.getTime() / 1000) + n * 60

function verify(
  bundle: unknown,
  o: { timestampThreshold?: number; trust?: typeof kit.trust } = {}
) {
  return verifySignedEntity(
    toSignedEntity(parseBundle(bundle), { bytes: artifact }),
    { trust: o.trust ?? kit.trust, policy, ...o }
  )
}

function rejects(fn: () => unknown, code: string, why?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e))
    assert.equal(e.code, code, e.message)
    if (why) assert.match(e.message, why)
    return true
  })
}

test('a keyless bundle verifies at its integrated time and TSA times inside the certificate window', async () => {
  const { bundle } = await keylessBundle(kit, id, artifact, {
    tsaTimes: [minutes(2)]
  })
  const r = verify(bundle)
  assert.equal(r.identity?.subjectAlternativeName, SAN)
  assert.equal(r.identity?.issuer, ISSUER)
  assert.deepEqual(
    r.timestamps.map(t => t.source),
    ['tlog', 'tsa']
  )
  assert.equal(r.certificateAuthority, 'https://fulcio.example.test')
})

test('every observer time must fall inside the certificate validity: one inside and one outside fails', async () => {
  // Log time inside, TSA time 20 minutes after issue (the certificate lives 10).
  const late = await keylessBundle(kit, id, artifact, {
    tsaTimes: [minutes(20)]
  })
  rejects(
    () => verify(late.bundle),
    'CERTIFICATE_EXPIRED_AT_SIGNING',
    /checked at the signed timestamp/
  )
  // TSA time inside, log time outside.
  const lateLog = await keylessBundle(kit, id, artifact, {
    integratedTime: seconds(20),
    tsaTimes: [minutes(2)]
  })
  rejects(
    () => verify(lateLog.bundle),
    'CERTIFICATE_EXPIRED_AT_SIGNING',
    /checked at log entry \d+ integrated time/
  )
})

test('a certificate needs an observer time: no integrated time and no timestamp fails TIMESTAMP_MISSING', async () => {
  const { bundle } = await keylessBundle(kit, id, artifact, {
    integratedTime: null
  })
  rejects(() => verify(bundle), 'TIMESTAMP_MISSING', /certificate was used/)
  // A timestamp threshold above what the bundle has.
  const one = await keylessBundle(kit, id, artifact)
  rejects(
    () => verify(one.bundle, { timestampThreshold: 2 }),
    'TIMESTAMP_MISSING',
    /1 verified timestamps, 2 required/
  )
})

test('Rekor v2 entries are dated by the TSA: the log key must be valid at the signed time', async () => {
  const { bundle } = await keylessBundle(kit, id, artifact, {
    integratedTime: null,
    tsaTimes: [minutes(2)]
  })
  assert.equal(verify(bundle).timestamps.length, 1)
  // The same log, but its key only valid from 5 minutes after the timestamp.
  const trustJson = structuredClone(kit.trustJson) as {
    tlogs: { publicKey: { validFor: { start: string } } }[]
  }
  trustJson.tlogs[0]!.publicKey.validFor.start = minutes(7).toISOString()
  const { parseTrustedRoot } =
    await import('../../../../src/sigstore/trust/index.ts')
  rejects(
    () => verify(bundle, { trust: parseTrustedRoot(trustJson) }),
    'TLOG_UNTRUSTED_LOG',
    /was not valid at the signed timestamp/
  )
})

test('a failing timestamp is named by its position', async () => {
  type Tsv = {
    verificationMaterial: {
      timestampVerificationData: {
        rfc3161Timestamps: { signedTimestamp: string }[]
      }
    }
  }
  const good = (await keylessBundle(kit, id, artifact, {
    tsaTimes: [minutes(1)]
  })) as unknown as { bundle: Tsv }
  // A genuine timestamp, but over another signature.
  const foreign = (await keylessBundle(kit, id, Buffer.from('other'), {
    tsaTimes: [minutes(1)]
  })) as unknown as { bundle: Tsv }
  const copy = structuredClone(good.bundle)
  const list = copy.verificationMaterial.timestampVerificationData
  list.rfc3161Timestamps.push(
    foreign.bundle.verificationMaterial.timestampVerificationData
      .rfc3161Timestamps[0]!
  )
  rejects(() => verify(copy), 'TIMESTAMP_INVALID', /^timestamp 2: /)
})

test('a certificate chain in x509CertificateChain (bundle v0.2) verifies like a single certificate', async () => {
  const { bundle } = await keylessBundle(kit, id, artifact, {
    version: '0.2',
    asChain: true
  })
  assert.equal(verify(bundle).identity?.subjectAlternativeName, SAN)
})

test('a log entry naming another certificate for the same key fails TLOG_BODY_MISMATCH', async () => {
  const twin = await kit.newIdentity()
  // Same SAN and issuer but a different certificate (and key): the entry
  // vouches for twin's signature, not this one.
  const { bundle } = await keylessBundle(kit, id, artifact, {
    loggedCertPem: twin.certPem
  })
  rejects(() => verify(bundle), 'TLOG_BODY_MISMATCH')
})

test('verifySCTs needs the issuing certificate: a path without one is SCT_INVALID', () => {
  const cert = parseCertificate(id.certDer)
  const ca = kit.trust.certificateAuthorities[0]!
  rejects(
    () => verifySCTs(cert, { path: [cert], ca }, kit.trust),
    'SCT_INVALID',
    /no issuing CA certificate/
  )
  // With the issuer the SCT verifies.
  assert.equal(
    verifySCTs(cert, { path: [cert, ca.certChain[0]!], ca }, kit.trust).length,
    1
  )
})

test('an entry from a log the root does not list is skipped; with none left the untrusted log is the error', async () => {
  const { bundle } = await keylessBundle(kit, id, artifact)
  const trustJson = structuredClone(kit.trustJson) as { tlogs: unknown[] }
  trustJson.tlogs = [new FakeLog({ host: 'other.example.test' }).tlogJson()]
  const { parseTrustedRoot } =
    await import('../../../../src/sigstore/trust/index.ts')
  rejects(
    () => verify(bundle, { trust: parseTrustedRoot(trustJson) }),
    'TLOG_UNTRUSTED_LOG'
  )
})
