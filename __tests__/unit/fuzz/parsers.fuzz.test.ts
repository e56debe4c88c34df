// Property-based fuzzing (fast-check) of everything that reads untrusted
// bytes: bundle JSON (with its DSSE envelope), DER certificates, RFC 3161
// timestamps, simple-signing payloads and in-toto statements, and OCI
// manifests as a registry serves them. Properties:
//  * no crash: a parser returns or throws one of our coded errors (AppError),
//    never a TypeError/RangeError or anything else;
//  * no hang: every call returns within a time limit;
//  * no forgery: a valid signature (built with real keys, real log, real CA,
//    CT log and TSA in process) with any of its signed bytes mutated is
//    rejected with a coded error, or, when the mutation touched nothing
//    signed, verifies to exactly the same result.
// Inputs are random bytes, random JSON, and mutations of valid inputs (bit
// flips, truncation, insertion, splices). `npm test` runs a bounded number of
// cases (SIGIL_FUZZ_RUNS, default 60 per property); `npm run fuzz` runs many
// more.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { MockAgent } from 'undici'
import { AppError, fromBase64, toBase64 } from '../../../src/util/index.ts'
import { parseBundle } from '../../../src/sigstore/bundle/index.ts'
import { parseCertificate } from '../../../src/sigstore/x509/index.ts'
import {
  parseTimestampToken,
  toSignedEntity,
  verifySignedEntity,
  type VerificationResult
} from '../../../src/sigstore/verify/index.ts'
import {
  parseInTotoStatement,
  parseSimpleSigningPayload,
  buildSimpleSigningPayload,
  buildSignStatement
} from '../../../src/cosign/payload.ts'
import { HttpClient } from '../../../src/http/index.ts'
import { MEDIA_TYPES, RegistryClient } from '../../../src/oci/index.ts'
import {
  FakeLog,
  keyBundle,
  newSigner,
  trustWith
} from '../sigstore/verify/fake-log.ts'
import {
  ISSUER,
  SAN,
  keylessBundle,
  keylessKit,
  type KeylessKit
} from '../sigstore/verify/keyless-kit.ts'

const RUNS = Number(process.env['SIGIL_FUZZ_RUNS'] ?? 60)
/** Longest any single parse or verification may take. */
const LIMIT_MS = 2000
const params = { numRuns: RUNS }

/** Runs fn; passes when it returns or throws a coded error, in time. */
function coded<T>(fn: () => T): T | undefined {
  const started = performance.now()
  try {
    return fn()
  } catch (e) {
    assert.ok(
      e instanceof AppError && typeof e.code === 'string' && e.code !== '',
      `not a coded error: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`
    )
    return undefined
  } finally {
    const took = performance.now() - started
    assert.ok(took < LIMIT_MS, `took ${Math.round(took)} ms`)
  }
}

/** Mutations of a valid byte string. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = valid.length
  const at = fc.nat({ max: Math.max(0, n - 1) })
  return fc.oneof(
    // one to four bit flips
    fc
      .array(fc.tuple(at, fc.integer({ min: 0, max: 7 })), {
        minLength: 1,
        maxLength: 4
      })
      .map(flips => {
        const out = Uint8Array.from(valid)
        for (const [i, bit] of flips) out[i]! ^= 1 << bit
        return out
      }),
    // a byte set to an interesting value
    fc
      .tuple(at, fc.constantFrom(0x00, 0x7f, 0x80, 0xff, 0x30, 0x02, 0x04))
      .map(([i, v]) => {
        const out = Uint8Array.from(valid)
        out[i] = v
        return out
      }),
    // truncated
    at.map(i => valid.subarray(0, i)),
    // bytes inserted
    fc
      .tuple(at, fc.uint8Array({ minLength: 1, maxLength: 8 }))
      .map(([i, ins]) =>
        Uint8Array.from([...valid.subarray(0, i), ...ins, ...valid.subarray(i)])
      ),
    // a slice duplicated elsewhere
    fc.tuple(at, at, fc.nat({ max: 16 })).map(([i, j, len]) => {
      const slice = valid.subarray(i, i + len)
      return Uint8Array.from([
        ...valid.subarray(0, j),
        ...slice,
        ...valid.subarray(j)
      ])
    })
  )
}

const anyBytes = fc.uint8Array({ maxLength: 600 })
const bytesOrMutated = (valid: Uint8Array) => fc.oneof(anyBytes, mutated(valid))
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

// ---- material ---------------------------------------------------------------

const artifact = Buffer.from('fuzzed artifact\n')
const log = new FakeLog()
const signer = newSigner()
const keyTrust = trustWith([log])
const keyed = keyBundle(log, signer, artifact).bundle
let kit: KeylessKit
let keyless: Record<string, unknown>
let certDer: Uint8Array
let timestampDer: Uint8Array

before(async () => {
  kit = await keylessKit()
  const id = await kit.newIdentity()
  certDer = id.certDer
  keyless = (
    await keylessBundle(kit, id, artifact, {
      tsaTimes: [new Date(kit.issuedAt.getTime() + 60_000)]
    })
  ).bundle
  const vm = keyless['verificationMaterial'] as {
    timestampVerificationData: {
      rfc3161Timestamps: { signedTimestamp: string }[]
    }
  }
  timestampDer = fromBase64(
    vm.timestampVerificationData.rfc3161Timestamps[0]!.signedTimestamp
  )
})

// ---- parsers: no crash, no hang ---------------------------------------------

describe('parsers of untrusted bytes: coded errors only, in bounded time', () => {
  test('bundle JSON (with DSSE envelopes): random JSON and mutated bundle text', () => {
    const validText = Buffer.from(JSON.stringify(keyed))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map(v => JSON.stringify(v)),
          mutated(validText).map(text)
        ),
        s => {
          let json: unknown
          try {
            json = JSON.parse(s)
          } catch {
            return // not JSON: the callers' JSON.parse reports it
          }
          coded(() => toSignedEntity(parseBundle(json), { bytes: artifact }))
        }
      ),
      params
    )
  })

  test('bundle JSON: valid structure with fields replaced by random JSON', () => {
    const paths = [
      ['mediaType'],
      ['verificationMaterial'],
      ['verificationMaterial', 'publicKey'],
      ['verificationMaterial', 'tlogEntries'],
      ['messageSignature'],
      ['messageSignature', 'messageDigest'],
      ['dsseEnvelope'],
      ['dsseEnvelope', 'signatures']
    ]
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const b: Record<string, unknown> = structuredClone(keyed)
        let cur = b
        for (const p of path.slice(0, -1))
          cur = (cur[p] ??= {}) as Record<string, unknown>
        cur[path[path.length - 1]!] = value
        coded(() => {
          const e = toSignedEntity(parseBundle(b), { bytes: artifact })
          verifySignedEntity(e, { trust: keyTrust, publicKey: signer.pem })
        })
      }),
      params
    )
  })

  test('DER certificates: random bytes and mutated Fulcio certificates', () => {
    fc.assert(
      fc.property(bytesOrMutated(certDer), b => {
        coded(() => parseCertificate(b))
      }),
      params
    )
  })

  test('RFC 3161 timestamps: random bytes and mutated TSA responses', () => {
    fc.assert(
      fc.property(bytesOrMutated(timestampDer), b => {
        coded(() => parseTimestampToken(b))
      }),
      params
    )
  })

  test('simple-signing payloads and in-toto statements', () => {
    const simple = buildSimpleSigningPayload(
      'registry.test/app',
      `sha256:${'a'.repeat(64)}`,
      { env: 'prod' }
    )
    const statement = buildSignStatement(`sha256:${'a'.repeat(64)}`, {
      k: 'v'
    })
    fc.assert(
      fc.property(
        fc.oneof(
          bytesOrMutated(simple),
          fc.jsonValue().map(v => Buffer.from(JSON.stringify(v)))
        ),
        b => {
          coded(() => parseSimpleSigningPayload(b))
        }
      ),
      params
    )
    fc.assert(
      fc.property(
        fc.oneof(
          bytesOrMutated(statement),
          fc.jsonValue().map(v => Buffer.from(JSON.stringify(v)))
        ),
        b => {
          coded(() => parseInTotoStatement(b))
        }
      ),
      params
    )
  })

  test('OCI manifests as a registry serves them (any bytes, any Content-Type)', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.OCI_MANIFEST,
        config: {
          mediaType: MEDIA_TYPES.OCI_CONFIG,
          size: 2,
          digest: `sha256:${'c'.repeat(64)}`
        },
        layers: [
          {
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            size: 3,
            digest: `sha256:${'d'.repeat(64)}`
          }
        ]
      })
    )
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          bytesOrMutated(manifest),
          fc.jsonValue().map(v => Buffer.from(JSON.stringify(v)))
        ),
        fc.constantFrom(
          MEDIA_TYPES.OCI_MANIFEST,
          MEDIA_TYPES.OCI_INDEX,
          'application/octet-stream',
          ''
        ),
        async (body, contentType) => {
          const agent = new MockAgent()
          agent.disableNetConnect()
          const http = new HttpClient({
            userAgent: 't',
            transport: agent,
            retries: 0
          })
          const client = new RegistryClient('reg.example', { http })
          const reg = agent.get(client.origin)
          reg.intercept({ path: '/v2/', method: 'GET' }).reply(200, '{}')
          reg
            .intercept({ path: '/v2/org/app/manifests/latest', method: 'GET' })
            .reply(200, Buffer.from(body), {
              headers: contentType ? { 'content-type': contentType } : {}
            })
            .persist()
          const started = performance.now()
          try {
            const m = await client.getManifest('org/app', 'latest')
            // What comes back is the bytes served, and a shape callers can walk.
            assert.deepEqual(Buffer.from(m.bytes), Buffer.from(body))
            const parts = [
              ...((m.manifest as { layers?: unknown[] }).layers ?? []),
              ...((m.manifest as { manifests?: unknown[] }).manifests ?? [])
            ]
            for (const d of parts as { digest: unknown }[])
              assert.equal(typeof d.digest, 'string')
          } catch (e) {
            assert.ok(e instanceof AppError, `not a coded error: ${String(e)}`)
          } finally {
            await agent.close()
          }
          assert.ok(performance.now() - started < LIMIT_MS)
        }
      ),
      { numRuns: Math.max(10, Math.round(RUNS / 3)) }
    )
  })
})

// ---- no forgery ---------------------------------------------------------------

type Json = Record<string, unknown>
/** Base64 fields of a bundle whose bytes are signed or checked. */
const SIGNED_B64: string[][] = [
  ['messageSignature', 'signature'],
  ['messageSignature', 'messageDigest', 'digest'],
  ['verificationMaterial', 'tlogEntries', '0', 'canonicalizedBody'],
  ['verificationMaterial', 'tlogEntries', '0', 'logId', 'keyId'],
  [
    'verificationMaterial',
    'tlogEntries',
    '0',
    'inclusionPromise',
    'signedEntryTimestamp'
  ],
  ['verificationMaterial', 'tlogEntries', '0', 'inclusionProof', 'rootHash'],
  ['verificationMaterial', 'tlogEntries', '0', 'inclusionProof', 'hashes', '0']
]
const CERT = ['verificationMaterial', 'certificate', 'rawBytes']
const TIMESTAMP = [
  'verificationMaterial',
  'timestampVerificationData',
  'rfc3161Timestamps',
  '0',
  'signedTimestamp'
]
const CHECKPOINT = [
  'verificationMaterial',
  'tlogEntries',
  '0',
  'inclusionProof',
  'checkpoint',
  'envelope'
]

function getAt(o: unknown, path: string[]): unknown {
  let cur = o
  for (const p of path) cur = (cur as Json | undefined)?.[p]
  return cur
}
function setAt(o: Json, path: string[], v: unknown): void {
  let cur = o
  for (const p of path.slice(0, -1)) cur = cur[p] as Json
  cur[path[path.length - 1]!] = v
}

/** What a verification proved, for comparison. */
function proven(r: VerificationResult): string {
  return JSON.stringify({
    identity: r.identity?.subjectAlternativeName,
    issuer: r.identity?.issuer,
    times: r.timestamps.map(t => [t.source, t.time.getTime()]),
    tlog: r.tlogEntries.map(t => [t.logIndex, t.logId, t.integratedTime]),
    payload: r.payload ? toBase64(r.payload) : undefined,
    key: createHash('sha256')
      .update(r.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex')
  })
}

/**
 * `strict` base64 fields are signed or checked byte for byte: any change
 * must be rejected. `lenient` fields (a timestamp's CMS, a checkpoint note)
 * hold unsigned parts too: a change there may pass, but only to exactly the
 * same verified result.
 */
function noForgery(
  bundle: Json,
  verify: (b: unknown) => VerificationResult,
  strict: string[][],
  lenient: { b64: string[][]; text: string[][] }
): void {
  const original = proven(verify(bundle))
  const b64 = (path: string[], isStrict: boolean) =>
    mutated(fromBase64(getAt(bundle, path) as string)).map(bytes => ({
      path,
      isStrict,
      value: toBase64(bytes)
    }))
  const field = fc.oneof(
    ...strict.map(path => b64(path, true)),
    ...lenient.b64.map(path => b64(path, false)),
    ...lenient.text.map(path =>
      mutated(Buffer.from(getAt(bundle, path) as string)).map(bytes => ({
        path,
        isStrict: false,
        value: text(bytes)
      }))
    )
  )
  fc.assert(
    fc.property(field, ({ path, isStrict, value }) => {
      fc.pre(value !== getAt(bundle, path))
      const b = structuredClone(bundle)
      setAt(b, path, value)
      const r = coded(() => verify(b))
      if (r && isStrict) assert.fail(`accepted a mutated ${path.join('.')}`)
      if (r) assert.equal(proven(r), original, `accepted ${path.join('.')}`)
    }),
    params
  )
}

describe('no acceptance of a mutated valid signature', () => {
  test('key-based bundle: mutated signature, digest, log entry, promise, proof or checkpoint', () => {
    noForgery(
      keyed,
      b =>
        verifySignedEntity(
          toSignedEntity(parseBundle(b), { bytes: artifact }),
          { trust: keyTrust, publicKey: signer.pem }
        ),
      SIGNED_B64,
      { b64: [], text: [CHECKPOINT] }
    )
  })

  test('keyless bundle: mutated certificate, RFC 3161 timestamp, signature or log material', () => {
    noForgery(
      keyless,
      b =>
        verifySignedEntity(
          toSignedEntity(parseBundle(b), { bytes: artifact }),
          {
            trust: kit.trust,
            policy: { identity: { exact: SAN }, issuer: { exact: ISSUER } }
          }
        ),
      [...SIGNED_B64, CERT],
      { b64: [TIMESTAMP], text: [CHECKPOINT] }
    )
  })

  test('the artifact itself: any other bytes are rejected', () => {
    fc.assert(
      fc.property(mutated(artifact), other => {
        fc.pre(!Buffer.from(other).equals(artifact))
        const r = coded(() =>
          verifySignedEntity(
            toSignedEntity(parseBundle(keyed), { bytes: other }),
            { trust: keyTrust, publicKey: signer.pem }
          )
        )
        assert.equal(r, undefined, 'another artifact verified')
      }),
      params
    )
  })
})
