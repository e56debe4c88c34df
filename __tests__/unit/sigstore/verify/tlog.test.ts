import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, sign } from 'node:crypto'
import { fromBase64, toBase64 } from '../../../../src/util/index.ts'
import { parseBundle } from '../../../../src/sigstore/bundle/index.ts'
import {
  VerificationError,
  preAuthEncoding,
  rootFromInclusionProof,
  toSignedEntity,
  verifySignedEntity,
  verifyTlogEntry
} from '../../../../src/sigstore/verify/index.ts'
import {
  dsseKeyBundle,
  FakeLog,
  keyBundle,
  newSigner,
  trustWith,
  type FakeEntryJson
} from './fake-log.ts'

const artifact = Buffer.from('hello, sigil\n')

function verify(
  bundle: unknown,
  trust = trustWith([log]),
  key = signer.pem,
  art: Uint8Array = artifact
) {
  const entity = toSignedEntity(parseBundle(bundle), { bytes: art })
  return verifySignedEntity(entity, { trust, publicKey: key })
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    assert.ok(
      e instanceof VerificationError,
      `not a VerificationError: ${String(e)}`
    )
    return e.code
  }
  assert.fail('expected a VerificationError')
}

const log = new FakeLog()
const signer = newSigner()

function flip(b64: string, at = 10): string {
  const b = Buffer.from(fromBase64(b64))
  b[at % b.length]! ^= 0x01
  return toBase64(b)
}

function withEntry(
  bundle: Record<string, unknown>,
  edit: (e: FakeEntryJson) => void
) {
  const copy = structuredClone(bundle) as {
    verificationMaterial: { tlogEntries: FakeEntryJson[] }
  }
  edit(copy.verificationMaterial.tlogEntries[0]!)
  return copy
}

test('a genuine key-based bundle verifies, with the integrated time as timestamp', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const r = verify(bundle)
  assert.equal(r.tlogEntries.length, 1)
  assert.equal(r.tlogEntries[0]!.inclusionProof, true)
  assert.equal(r.tlogEntries[0]!.inclusionPromise, true)
  assert.deepEqual(
    r.timestamps.map(t => t.time.getTime()),
    [1_700_000_000_000]
  )
  assert.deepEqual(Buffer.from(r.payload!), artifact)
})

test('SET tamper: a flipped byte or another integrated time fails TLOG_SET_INVALID', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const flipped = withEntry(bundle, e => {
    e.inclusionPromise!.signedEntryTimestamp = flip(
      e.inclusionPromise!.signedEntryTimestamp
    )
  })
  assert.equal(
    code(() => verify(flipped)),
    'TLOG_SET_INVALID'
  )
  const moved = withEntry(bundle, e => {
    e.integratedTime = String(Number(e.integratedTime) + 1)
  })
  assert.equal(
    code(() => verify(moved)),
    'TLOG_SET_INVALID'
  )
  const reindexed = withEntry(bundle, e => {
    e.logIndex = String(Number(e.logIndex) + 1)
  })
  assert.equal(
    code(() => verify(reindexed)),
    'TLOG_SET_INVALID'
  )
})

test('SET before the log key validity window fails', () => {
  const late = new FakeLog({ validFrom: '2030-01-01T00:00:00Z' })
  const { bundle } = keyBundle(late, signer, artifact)
  assert.equal(
    code(() => verify(bundle, trustWith([late]))),
    'TLOG_SET_INVALID'
  )
})

test('proof tamper: hashes, index, size and root fail TLOG_INCLUSION_PROOF_INVALID', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const cases: ((e: FakeEntryJson) => void)[] = [
    e => (e.inclusionProof.hashes[0] = flip(e.inclusionProof.hashes[0]!)),
    e => e.inclusionProof.hashes.pop(),
    e =>
      (e.inclusionProof.logIndex = String(
        Number(e.inclusionProof.logIndex) - 1
      )),
    e => (e.inclusionProof.rootHash = flip(e.inclusionProof.rootHash)),
    e => (e.inclusionProof.logIndex = e.inclusionProof.treeSize)
  ]
  for (const edit of cases) {
    assert.equal(
      code(() => verify(withEntry(bundle, edit))),
      'TLOG_INCLUSION_PROOF_INVALID'
    )
  }
  // A different body changes the leaf: SET and proof both break; SET is first.
  const body = withEntry(
    bundle,
    e => (e.canonicalizedBody = flip(e.canonicalizedBody, 40))
  )
  assert.equal(
    code(() => verify(body)),
    'TLOG_SET_INVALID'
  )
})

test('checkpoint tamper fails TLOG_CHECKPOINT_INVALID', () => {
  const { bundle, entry } = keyBundle(log, signer, artifact)
  const env = entry.inclusionProof.checkpoint.envelope
  const [note] = env.split('\n\n') as [string]
  const other = new FakeLog()
  const cases: string[] = [
    env.replace(/ (\S+)\n$/, (_m, s: string) => ` ${flip(s, 8)}\n`), // signature bytes
    env.replace('\n\n', '\nTimestamp: 1\n\n'), // signed text changed
    other.signNote(`${note}\n`, other.privateKey, log.hint()), // right hint, wrong key
    log.signNote(
      note.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`) +
        '\n'
    ), // other size
    env.replace('\n\n', '\n'), // no separator
    env.slice(0, -1) // signature block not newline-terminated
  ]
  for (const envelope of cases) {
    const b = withEntry(
      bundle,
      e => (e.inclusionProof.checkpoint.envelope = envelope)
    )
    assert.equal(
      code(() => verify(b)),
      'TLOG_CHECKPOINT_INVALID',
      envelope
    )
  }
  // Witness cosignatures from unknown keys are ignored.
  const witnessed =
    env + `\u2014 witness.example ${toBase64(Buffer.alloc(68, 7))}\n`
  verify(
    withEntry(bundle, e => (e.inclusionProof.checkpoint.envelope = witnessed))
  )
})

test('entries from logs the trusted root does not list fail TLOG_UNTRUSTED_LOG', () => {
  const rogue = new FakeLog()
  const { bundle } = keyBundle(rogue, signer, artifact)
  assert.equal(
    code(() => verify(bundle)),
    'TLOG_UNTRUSTED_LOG'
  )
})

test('an entry for another artifact or key fails TLOG_BODY_MISMATCH', () => {
  const { bundle: a } = keyBundle(log, signer, artifact)
  const { bundle: b } = keyBundle(log, signer, Buffer.from('other'))
  const swapped = structuredClone(a) as {
    verificationMaterial: { tlogEntries: unknown[] }
  }
  swapped.verificationMaterial.tlogEntries = (
    b as typeof swapped
  ).verificationMaterial.tlogEntries
  assert.equal(
    code(() => verify(swapped)),
    'TLOG_BODY_MISMATCH'
  )
  assert.equal(
    code(() => verify(a, trustWith([log]), newSigner().pem)),
    'TLOG_BODY_MISMATCH'
  )
})

test('a logged but invalid signature fails SIGNATURE_INVALID', () => {
  const { bundle } = keyBundle(log, signer, artifact, {
    signedData: Buffer.from('not it')
  })
  assert.equal(
    code(() => verify(bundle)),
    'SIGNATURE_INVALID'
  )
})

test('an artifact that is not the signed one fails ARTIFACT_DIGEST_MISMATCH', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  assert.equal(
    code(() => verify(bundle, undefined, undefined, Buffer.from('x'))),
    'ARTIFACT_DIGEST_MISMATCH'
  )
})

test('thresholds and duplicates', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const none = structuredClone(bundle) as {
    verificationMaterial: { tlogEntries: unknown[] }
  }
  none.verificationMaterial.tlogEntries = []
  assert.equal(
    code(() => verify(none)),
    'TLOG_MISSING'
  )
  const entity = toSignedEntity(parseBundle(none), { bytes: artifact })
  const r = verifySignedEntity(entity, {
    trust: trustWith([log]),
    publicKey: signer.pem,
    tlogThreshold: 0
  })
  assert.equal(r.tlogEntries.length, 0)
  const twice = structuredClone(bundle) as {
    verificationMaterial: { tlogEntries: unknown[] }
  }
  twice.verificationMaterial.tlogEntries.push(
    twice.verificationMaterial.tlogEntries[0]
  )
  assert.equal(
    code(() => verify(twice)),
    'TLOG_DUPLICATE_ENTRY'
  )
  const e2 = toSignedEntity(parseBundle(bundle), { bytes: artifact })
  assert.equal(
    code(() =>
      verifySignedEntity(e2, {
        trust: trustWith([log]),
        publicKey: signer.pem,
        timestampThreshold: 2
      })
    ),
    'TIMESTAMP_MISSING'
  )
})

test('verifyTlogEntry honours requireProof / requirePromise', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const entity = toSignedEntity(parseBundle(bundle))
  const entry = entity.tlogEntries[0]!
  const trust = trustWith([log])
  assert.equal(
    verifyTlogEntry(entry, trust, { requireProof: true }).proofVerified,
    true
  )
  assert.equal(
    code(() =>
      verifyTlogEntry({ ...entry, inclusionProof: undefined }, trust, {
        requireProof: true
      })
    ),
    'TLOG_INCLUSION_PROOF_MISSING'
  )
  assert.equal(
    code(() =>
      verifyTlogEntry({ ...entry, signedEntryTimestamp: undefined }, trust, {
        requirePromise: true
      })
    ),
    'TLOG_SET_MISSING'
  )
  const promiseOnly = verifyTlogEntry(
    { ...entry, inclusionProof: undefined },
    trust
  )
  assert.equal(promiseOnly.integratedTime?.getTime(), 1_700_000_000_000)
})

test('rootFromInclusionProof matches RFC 6962 for every index of small trees', async () => {
  const { auditPath, mth } = await import('./fake-log.ts')
  for (let n = 1; n <= 9; n++) {
    const leaves = Array.from({ length: n }, (_, i) =>
      createHash('sha256').update(Buffer.of(0, i)).digest()
    )
    const root = mth(leaves)
    for (let m = 0; m < n; m++) {
      const got = rootFromInclusionProof(
        BigInt(m),
        BigInt(n),
        leaves[m]!,
        auditPath(m, leaves)
      )
      assert.deepEqual(got, root, `n=${n} m=${m}`)
    }
  }
})

test('Rekor v2 style: Ed25519 C2SP checkpoint, hashedrekord 0.0.2, no integrated time', () => {
  const v2 = new FakeLog({ ed25519: true })
  const signature = sign('sha256', artifact, signer.privateKey)
  const digest = createHash('sha256').update(artifact).digest()
  const spki = signer.publicKey.export({ type: 'spki', format: 'der' })
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: toBase64(digest) },
          signature: {
            content: toBase64(signature),
            verifier: {
              keyDetails: 'PKIX_ECDSA_P256_SHA_256',
              publicKey: { rawBytes: toBase64(spki) }
            }
          }
        }
      }
    })
  )
  const entry = v2.add(body, { kind: 'hashedrekord', version: '0.0.2' }, null)
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: {}, tlogEntries: [entry] },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: toBase64(digest) },
      signature: toBase64(signature)
    }
  }
  const trust = trustWith([v2])
  const entity = toSignedEntity(parseBundle(bundle), { bytes: artifact })
  assert.equal(
    verifyTlogEntry(entity.tlogEntries[0]!, trust, { requireProof: true })
      .proofVerified,
    true
  )
  // Without an integrated time, a signed timestamp is mandatory.
  assert.equal(
    code(() => verify(bundle, trust)),
    'TIMESTAMP_MISSING'
  )
})

test('DSSE: PAE layout, key-based dsse 0.0.1 entry, subject binding', () => {
  assert.equal(
    Buffer.from(
      preAuthEncoding(
        'http://example.com/HelloWorld',
        Buffer.from('hello world')
      )
    ).toString(),
    'DSSEv1 29 http://example.com/HelloWorld 11 hello world'
  )
  const subjectDigest = createHash('sha256').update(artifact).digest('hex')
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'a', digest: { sha256: subjectDigest } }],
      predicateType: 'https://example/p',
      predicate: {}
    })
  )
  const type = 'application/vnd.in-toto+json'
  const sig = sign(
    'sha256',
    preAuthEncoding(type, statement),
    signer.privateKey
  )
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: '00' },
        payloadHash: {
          algorithm: 'sha256',
          value: createHash('sha256').update(statement).digest('hex')
        },
        signatures: [
          {
            signature: toBase64(sig),
            verifier: toBase64(Buffer.from(signer.pem))
          }
        ]
      }
    })
  )
  const entry = log.add(body, { kind: 'dsse', version: '0.0.1' })
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: {}, tlogEntries: [entry] },
    dsseEnvelope: {
      payload: toBase64(statement),
      payloadType: type,
      signatures: [{ sig: toBase64(sig) }]
    }
  }
  const trust = trustWith([log])
  const ok = verifySignedEntity(
    toSignedEntity(parseBundle(bundle), { bytes: artifact }),
    {
      trust,
      publicKey: signer.publicKey
    }
  )
  assert.deepEqual(Buffer.from(ok.payload!), statement)
  assert.equal(
    code(() =>
      verifySignedEntity(
        toSignedEntity(parseBundle(bundle), { bytes: Buffer.from('nope') }),
        {
          trust,
          publicKey: signer.publicKey
        }
      )
    ),
    'ARTIFACT_DIGEST_MISMATCH'
  )
})

test('a key-based bundle without a key fails CERTIFICATE_MISSING', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const entity = toSignedEntity(parseBundle(bundle), { bytes: artifact })
  assert.equal(
    code(() => verifySignedEntity(entity, { trust: trustWith([log]) })),
    'CERTIFICATE_MISSING'
  )
})

/** A key-based DSSE bundle whose dsse entry logs exactly what it carries. */
const dsseBundle = (
  type: string,
  statement: Buffer,
  signingKey = signer.privateKey
): Record<string, unknown> =>
  dsseKeyBundle(log, signer, type, statement, signingKey)

const inTotoFor = (bytes: Uint8Array): Buffer =>
  Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        {
          name: 'a',
          digest: { sha256: createHash('sha256').update(bytes).digest('hex') }
        }
      ],
      predicateType: 'https://example/p',
      predicate: {}
    })
  )

test('DSSE: a logged envelope signed by another key fails SIGNATURE_INVALID', () => {
  const other = newSigner()
  const bundle = dsseBundle(
    'application/vnd.in-toto+json',
    inTotoFor(artifact),
    other.privateKey
  )
  assert.equal(
    code(() =>
      verifySignedEntity(
        toSignedEntity(parseBundle(bundle), { bytes: artifact }),
        { trust: trustWith([log]), publicKey: signer.publicKey }
      )
    ),
    'SIGNATURE_INVALID'
  )
})

test('DSSE: an artifact can only be bound through an in-toto payload type', () => {
  const bundle = dsseBundle('application/vnd.other+json', inTotoFor(artifact))
  assert.equal(
    code(() =>
      verifySignedEntity(
        toSignedEntity(parseBundle(bundle), { bytes: artifact }),
        { trust: trustWith([log]), publicKey: signer.publicKey }
      )
    ),
    'DSSE_PAYLOAD_TYPE_INVALID'
  )
})

test('the inclusion checks say what failed, and where', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const entity = toSignedEntity(parseBundle(bundle))
  const entry = entity.tlogEntries[0]!
  const trust = trustWith([log])
  const rejects = (e: typeof entry, c: string, why: RegExp) =>
    assert.throws(
      () => verifyTlogEntry(e, trust),
      (err: unknown) => {
        assert.ok(err instanceof VerificationError, String(err))
        assert.equal(err.code, c, err.message)
        assert.match(err.message, why)
        return true
      }
    )
  // A promise needs the time it signs, and a decimal log index.
  rejects(
    { ...entry, integratedTime: undefined, inclusionProof: undefined },
    'TLOG_SET_INVALID',
    /has an inclusion promise but no integratedTime/
  )
  for (const logIndex of ['01', '-1', '1e3', ' 7'])
    rejects(
      { ...entry, logIndex, inclusionProof: undefined },
      'TLOG_SET_INVALID',
      /invalid log index/
    )
  // A promise dated outside every key window of the log.
  rejects(
    { ...entry, integratedTime: 1_000_000_000, inclusionProof: undefined },
    'TLOG_SET_INVALID',
    /no key of log \w+ was valid at 2001-09-09/
  )
  // A proof without its signed checkpoint proves nothing.
  const proof = entry.inclusionProof!
  rejects(
    {
      ...entry,
      signedEntryTimestamp: undefined,
      inclusionProof: { ...proof, checkpoint: undefined }
    },
    'TLOG_CHECKPOINT_INVALID',
    /has no signed checkpoint/
  )
  // A checkpoint signed by another key names the entry.
  const [note] = proof.checkpoint!.split('\n\n') as [string]
  const other = new FakeLog()
  rejects(
    {
      ...entry,
      signedEntryTimestamp: undefined,
      inclusionProof: {
        ...proof,
        checkpoint: other.signNote(`${note}\n`, other.privateKey, log.hint())
      }
    },
    'TLOG_CHECKPOINT_INVALID',
    new RegExp(`^transparency log entry ${entry.logIndex}: `)
  )
  // A genuine checkpoint of the same log, for another tree size.
  rejects(
    {
      ...entry,
      signedEntryTimestamp: undefined,
      inclusionProof: {
        ...proof,
        checkpoint: log.signNote(
          note.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`) +
            '\n'
        )
      }
    },
    'TLOG_CHECKPOINT_INVALID',
    /is not the proof's tree/
  )
})

test('rootFromInclusionProof refuses an index outside the tree and a wrong hash count', async () => {
  const { auditPath, mth } = await import('./fake-log.ts')
  const leaves = [1, 2, 3, 4, 5].map(i => Buffer.from([i]))
  const hashed = leaves.map(l =>
    createHash('sha256').update(Buffer.of(0)).update(l).digest()
  )
  const root = mth(hashed)
  const path = auditPath(4, hashed)
  assert.deepEqual(rootFromInclusionProof(4n, 5n, hashed[4]!, path), root)
  const rejects = (fn: () => unknown, why: RegExp) =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof VerificationError, String(err))
      assert.equal(err.code, 'TLOG_INCLUSION_PROOF_INVALID')
      assert.match(err.message, why)
      return true
    })
  // Index 5 of a tree of 5 (and 6 of 6 …) with a hash count that fits the
  // arithmetic: only the bounds check stops it.
  for (const [index, size] of [
    [5n, 5n],
    [8n, 8n],
    [-1n, 4n]
  ] as const) {
    const inner = (index ^ (size - 1n)).toString(2).length
    const border = [...(index >> BigInt(inner)).toString(2)].filter(
      c => c === '1'
    ).length
    const hashes = Array.from({ length: Math.max(0, inner + border) }, () =>
      Buffer.alloc(32)
    )
    rejects(
      () => rootFromInclusionProof(index, size, hashed[0]!, hashes),
      /outside a tree/
    )
  }
  rejects(
    () => rootFromInclusionProof(4n, 5n, hashed[4]!, [...path, path[0]!]),
    /has 2 hashes, expected 1/
  )
})

test('toSignedEntity holds its own line on bundles that did not come through parseBundle', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const parsed = parseBundle(bundle)
  const rejects = (b: unknown, why: RegExp) =>
    assert.throws(
      () => toSignedEntity(b as typeof parsed),
      (e: unknown) => {
        assert.ok(e instanceof VerificationError, String(e))
        assert.equal(e.code, 'BUNDLE_INVALID')
        assert.match(e.message, why)
        return true
      }
    )
  rejects(
    {
      ...parsed,
      messageSignature: {
        ...parsed.messageSignature!,
        messageDigest: { algorithm: 'MD5', digest: 'AA==' }
      }
    },
    /unsupported message digest algorithm MD5/
  )
  const { messageSignature: _, ...noMessage } = parsed
  for (const signatures of [[], [{ sig: 'AA==' }, { sig: 'AA==' }]])
    rejects(
      {
        ...noMessage,
        dsseEnvelope: { payload: 'AA==', payloadType: 'x', signatures }
      },
      /exactly one signature/
    )
})

test('an entry with neither proof nor promise proves nothing, whatever the options', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  const entry = toSignedEntity(parseBundle(bundle)).tlogEntries[0]!
  assert.equal(
    code(() =>
      verifyTlogEntry(
        {
          ...entry,
          signedEntryTimestamp: undefined,
          inclusionProof: undefined
        },
        trustWith([log])
      )
    ),
    'TLOG_INCLUSION_PROOF_MISSING'
  )
})

test('a private key given as the verification key is refused (PUBLIC_KEY_INVALID)', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  assert.equal(
    code(() =>
      verifySignedEntity(
        toSignedEntity(parseBundle(bundle), { bytes: artifact }),
        {
          trust: trustWith([log]),
          publicKey: signer.privateKey
        }
      )
    ),
    'PUBLIC_KEY_INVALID'
  )
})

test('an identity policy cannot be met by a key-based signature (POLICY_IDENTITY_REQUIRED)', () => {
  const { bundle } = keyBundle(log, signer, artifact)
  assert.throws(
    () =>
      verifySignedEntity(
        toSignedEntity(parseBundle(bundle), { bytes: artifact }),
        {
          trust: trustWith([log]),
          publicKey: signer.pem,
          policy: { identity: { exact: 'https://github.com/o/r' } }
        }
      ),
    { name: 'PolicyError', code: 'POLICY_IDENTITY_REQUIRED' }
  )
})
