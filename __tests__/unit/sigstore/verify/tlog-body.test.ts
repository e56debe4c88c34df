// Does the logged body describe this signature? For every entry type the
// verifier reads (hashedrekord 0.0.1/0.0.2, dsse 0.0.1/0.0.2, intoto 0.0.2):
// a body built for the signature passes, and each field changed on its own
// (signature, key or certificate, digest, payload hash, signature count,
// kind) fails with TLOG_BODY_MISMATCH or TLOG_BODY_INVALID. Without these a
// valid entry for another signature could vouch for a forged one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { toBase64, toPem } from '../../../../src/util/index.ts'
import {
  VerificationError,
  preAuthEncoding,
  verifyTlogBody,
  type SignatureContent,
  type TlogEntry
} from '../../../../src/sigstore/verify/index.ts'
import { keylessKit } from './keyless-kit.ts'

const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const spki = (k = kp.publicKey): Uint8Array<ArrayBuffer> =>
  new Uint8Array(k.export({ type: 'spki', format: 'der' }))
const pem = (k = kp.publicKey): string => toPem('PUBLIC KEY', spki(k))
const sha = (b: Uint8Array, alg = 'sha256'): Buffer =>
  createHash(alg).update(b).digest()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const b64pem = (p: string): string => toBase64(Buffer.from(p))

const artifact = Buffer.from('the artifact')
const msgSig = sign('sha256', artifact, kp.privateKey)
const message: SignatureContent = {
  type: 'message',
  signature: msgSig,
  declaredDigest: { algorithm: 'sha256', value: sha(artifact) }
}
const payloadType = 'application/vnd.in-toto+json'
const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}')
const dsseSig = sign(
  'sha256',
  preAuthEncoding(payloadType, payload),
  kp.privateKey
)
const dsse: SignatureContent = {
  type: 'dsse',
  payloadType,
  payload,
  signature: dsseSig
}
const signer = { spki: spki() }

function entry(kind: string, version: string, body: unknown): TlogEntry {
  return {
    logIndex: '7',
    logId: new Uint8Array(32),
    kind,
    version,
    integratedTime: undefined,
    body: Buffer.from(JSON.stringify(body)),
    signedEntryTimestamp: undefined,
    inclusionProof: undefined
  }
}

function fails(
  e: TlogEntry,
  content: SignatureContent,
  code: 'TLOG_BODY_MISMATCH' | 'TLOG_BODY_INVALID',
  s: { spki: Uint8Array; certificateDer?: Uint8Array } = signer,
  why?: RegExp
): void {
  assert.throws(
    () => verifyTlogBody(e, content, s),
    (err: unknown) => {
      assert.ok(err instanceof VerificationError, String(err))
      assert.equal(err.code, code, err.message)
      if (why) assert.match(err.message, why)
      return true
    }
  )
}

const rekordV1 = (o: {
  sig?: Uint8Array
  key?: string
  alg?: string
  digest?: string
}) => ({
  apiVersion: '0.0.1',
  kind: 'hashedrekord',
  spec: {
    data: {
      hash: {
        algorithm: o.alg ?? 'sha256',
        value: o.digest ?? hex(sha(artifact))
      }
    },
    signature: {
      content: toBase64(o.sig ?? msgSig),
      publicKey: { content: b64pem(o.key ?? pem()) }
    }
  }
})

test('hashedrekord 0.0.1: signature, key, digest and kind must all match', () => {
  const ok = rekordV1({})
  verifyTlogBody(entry('hashedrekord', '0.0.1', ok), message, signer)
  // The artifact bytes instead of a declared digest: hashed for the comparison.
  verifyTlogBody(
    entry('hashedrekord', '0.0.1', ok),
    { type: 'message', signature: msgSig, artifact },
    signer
  )
  const e = (b: unknown) => entry('hashedrekord', '0.0.1', b)
  fails(e(rekordV1({ sig: dsseSig })), message, 'TLOG_BODY_MISMATCH')
  fails(
    e(rekordV1({ key: pem(other.publicKey) })),
    message,
    'TLOG_BODY_MISMATCH'
  )
  fails(
    e(rekordV1({ digest: hex(sha(Buffer.from('x'))) })),
    message,
    'TLOG_BODY_MISMATCH',
    signer,
    /digest differs/
  )
  // A sha512 entry against a bundle that declares sha256.
  fails(
    e(rekordV1({ alg: 'sha512', digest: hex(sha(artifact, 'sha512')) })),
    message,
    'TLOG_BODY_MISMATCH',
    signer,
    /sha512 digest, the bundle a sha256/
  )
  fails(e(rekordV1({ alg: 'md5' })), message, 'TLOG_BODY_INVALID')
  // The bundle's kindVersion must be the body's.
  fails(
    entry('hashedrekord', '0.0.1', { ...ok, apiVersion: '0.0.2' }),
    message,
    'TLOG_BODY_MISMATCH',
    signer,
    /the body hashedrekord 0\.0\.2/
  )
  fails(
    entry('hashedrekord', '0.0.1', { ...ok, kind: 'rekord' }),
    message,
    'TLOG_BODY_MISMATCH'
  )
  // A hashedrekord 0.0.1 entry never logs a DSSE envelope.
  fails(e(ok), dsse, 'TLOG_BODY_MISMATCH', signer, /cannot log a DSSE/)
})

test('a certificate named in the body must be the signing certificate, not one for the same key', async () => {
  const kit = await keylessKit()
  const id = await kit.newIdentity()
  // Fulcio issues a second certificate for the same key (another identity
  // could be in it): same key, different certificate.
  const twin = await kit.newIdentity()
  const sig = sign('sha256', artifact, id.privateKey)
  const content: SignatureContent = {
    type: 'message',
    signature: sig,
    declaredDigest: { algorithm: 'sha256', value: sha(artifact) }
  }
  const body = (certPem: string) =>
    entry('hashedrekord', '0.0.1', rekordV1({ sig, key: certPem }))
  const keyless = {
    spki: spki(id.publicKey),
    certificateDer: id.certDer
  }
  verifyTlogBody(body(id.certPem), content, keyless)
  fails(
    body(twin.certPem),
    content,
    'TLOG_BODY_MISMATCH',
    keyless,
    /different certificate/
  )
  // Same key, other certificate bytes: the certificate comparison is what fails.
  const sameKeyOtherCert = await (async () => {
    const { initializeCA } = await import('@sigstore/mock')
    const ca = await initializeCA(
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
    )
    const der = await ca.issueCertificate({
      publicKey: spki(id.publicKey),
      subjectAltName: 'https://evil.example/'
    })
    return toPem(
      'CERTIFICATE',
      Buffer.from(der.buffer, der.byteOffset, der.byteLength)
    )
  })()
  fails(
    body(sameKeyOtherCert),
    content,
    'TLOG_BODY_MISMATCH',
    keyless,
    /different certificate/
  )
  // Key-based verification of a body that names a certificate: its key counts.
  verifyTlogBody(body(id.certPem), content, { spki: spki(id.publicKey) })
  fails(body(twin.certPem), content, 'TLOG_BODY_MISMATCH', {
    spki: spki(other.publicKey)
  })
})

const rekordV2 = (o: {
  sig?: Uint8Array
  verifier?: unknown
  alg?: string
  digest?: Uint8Array
}) => ({
  apiVersion: '0.0.2',
  kind: 'hashedrekord',
  spec: {
    hashedRekordV002: {
      data: {
        algorithm: o.alg ?? 'SHA2_256',
        digest: toBase64(o.digest ?? sha(artifact))
      },
      signature: {
        content: toBase64(o.sig ?? msgSig),
        verifier: o.verifier ?? { publicKey: { rawBytes: toBase64(spki()) } }
      }
    }
  }
})

test('hashedrekord 0.0.2: signature, verifier key and digest must match', () => {
  const e = (b: unknown) => entry('hashedrekord', '0.0.2', b)
  verifyTlogBody(e(rekordV2({})), message, signer)
  fails(e(rekordV2({ sig: dsseSig })), message, 'TLOG_BODY_MISMATCH')
  fails(
    e(
      rekordV2({
        verifier: { publicKey: { rawBytes: toBase64(spki(other.publicKey)) } }
      })
    ),
    message,
    'TLOG_BODY_MISMATCH',
    signer,
    /different public key/
  )
  fails(e(rekordV2({ verifier: {} })), message, 'TLOG_BODY_INVALID')
  fails(
    e(rekordV2({ digest: sha(Buffer.from('x')) })),
    message,
    'TLOG_BODY_MISMATCH',
    signer,
    /signed digest differs/
  )
  // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE.
  const pae = preAuthEncoding(payloadType, payload)
  verifyTlogBody(e(rekordV2({ sig: dsseSig, digest: sha(pae) })), dsse, signer)
  fails(
    e(rekordV2({ sig: dsseSig, digest: sha(payload) })),
    dsse,
    'TLOG_BODY_MISMATCH'
  )
})

const dsseV1 = (o: { sigs?: unknown[]; payloadHash?: string }) => ({
  apiVersion: '0.0.1',
  kind: 'dsse',
  spec: {
    payloadHash: {
      algorithm: 'sha256',
      value: o.payloadHash ?? hex(sha(payload))
    },
    signatures: o.sigs ?? [
      { signature: toBase64(dsseSig), verifier: b64pem(pem()) }
    ]
  }
})

test('dsse 0.0.1: exactly one signature, the same one, and the payload hash', () => {
  const e = (b: unknown) => entry('dsse', '0.0.1', b)
  verifyTlogBody(e(dsseV1({})), dsse, signer)
  const one = { signature: toBase64(dsseSig), verifier: b64pem(pem()) }
  fails(
    e(dsseV1({ sigs: [one, one] })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /exactly one/
  )
  fails(
    e(dsseV1({ sigs: [] })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /exactly one/
  )
  fails(
    e(dsseV1({ sigs: [{ ...one, signature: toBase64(msgSig) }] })),
    dsse,
    'TLOG_BODY_MISMATCH'
  )
  fails(
    e(dsseV1({ payloadHash: hex(sha(Buffer.from('x'))) })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /payload digest differs/
  )
  // A dsse entry never vouches for a message signature.
  fails(e(dsseV1({})), message, 'TLOG_BODY_MISMATCH', signer, /DSSE envelope/)
})

const dsseV2 = (o: { sigs?: unknown[]; digest?: Uint8Array }) => ({
  apiVersion: '0.0.2',
  kind: 'dsse',
  spec: {
    dsseV002: {
      payloadHash: {
        algorithm: 'SHA2_256',
        digest: toBase64(o.digest ?? sha(payload))
      },
      signatures: o.sigs ?? [
        {
          content: toBase64(dsseSig),
          verifier: { publicKey: { rawBytes: toBase64(spki()) } }
        }
      ]
    }
  }
})

test('dsse 0.0.2: exactly one signature, the same one, and the payload hash', () => {
  const e = (b: unknown) => entry('dsse', '0.0.2', b)
  verifyTlogBody(e(dsseV2({})), dsse, signer)
  const one = {
    content: toBase64(dsseSig),
    verifier: { publicKey: { rawBytes: toBase64(spki()) } }
  }
  fails(
    e(dsseV2({ sigs: [one, one] })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /exactly one/
  )
  fails(
    e(dsseV2({ sigs: [{ ...one, content: toBase64(msgSig) }] })),
    dsse,
    'TLOG_BODY_MISMATCH'
  )
  fails(
    e(dsseV2({ digest: sha(Buffer.from('x')) })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /payload digest differs/
  )
})

const intoto = (o: { sigs?: unknown[]; payloadHash?: string }) => ({
  apiVersion: '0.0.2',
  kind: 'intoto',
  spec: {
    content: {
      envelope: {
        payloadType,
        signatures: o.sigs ?? [
          {
            sig: toBase64(Buffer.from(toBase64(dsseSig))),
            publicKey: b64pem(pem())
          }
        ]
      },
      payloadHash: {
        algorithm: 'sha256',
        value: o.payloadHash ?? hex(sha(payload))
      }
    }
  }
})

test('intoto 0.0.2: exactly one signature, the same one, and the payload hash', () => {
  const e = (b: unknown) => entry('intoto', '0.0.2', b)
  verifyTlogBody(e(intoto({})), dsse, signer)
  const one = {
    sig: toBase64(Buffer.from(toBase64(dsseSig))),
    publicKey: b64pem(pem())
  }
  fails(
    e(intoto({ sigs: [one, one] })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /exactly one/
  )
  fails(
    e(
      intoto({
        sigs: [{ ...one, sig: toBase64(Buffer.from(toBase64(msgSig))) }]
      })
    ),
    dsse,
    'TLOG_BODY_MISMATCH'
  )
  fails(
    e(intoto({ sigs: [{ ...one, publicKey: b64pem(pem(other.publicKey)) }] })),
    dsse,
    'TLOG_BODY_MISMATCH'
  )
  fails(
    e(intoto({ payloadHash: hex(sha(Buffer.from('x'))) })),
    dsse,
    'TLOG_BODY_MISMATCH',
    signer,
    /payload digest differs/
  )
})
