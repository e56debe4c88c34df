import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  fromRekorV1Bundle,
  toRekorV1Bundle,
  toTransparencyLogEntry,
  type RekorV1LogEntry
} from '../../../../src/sigstore/rekor/index.ts'
import { toBase64, utf8 } from '../../../../src/util/index.ts'

const body = toBase64(
  utf8('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{}}}')
)
const logID = 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d'
const v1: RekorV1LogEntry = {
  body,
  integratedTime: 1740770291,
  logID,
  logIndex: 175508996,
  verification: {
    signedEntryTimestamp: 'MEUCIQD=',
    inclusionProof: {
      checkpoint:
        'rekor.sigstore.dev - 1193050959916656506\n53604735\nAAAA\n\n— rekor.sigstore.dev wNI9ajBF\n',
      hashes: ['00'.repeat(32), 'ff'.repeat(32)],
      logIndex: 53604734,
      rootHash: '11'.repeat(32),
      treeSize: 53604735
    }
  }
}

describe('toTransparencyLogEntry (spec §3.3 Conversion)', () => {
  it('maps hex → base64, numbers → strings, global vs tree index', () => {
    assert.deepEqual(toTransparencyLogEntry(v1), {
      logIndex: '175508996',
      logId: { keyId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' },
      kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
      integratedTime: '1740770291',
      inclusionPromise: { signedEntryTimestamp: 'MEUCIQD=' },
      inclusionProof: {
        logIndex: '53604734',
        rootHash: toBase64(new Uint8Array(32).fill(0x11)),
        treeSize: '53604735',
        hashes: [
          toBase64(new Uint8Array(32)),
          toBase64(new Uint8Array(32).fill(0xff))
        ],
        checkpoint: { envelope: v1.verification!.inclusionProof!.checkpoint }
      },
      canonicalizedBody: body
    })
  })
})

describe('cosign legacy Rekor bundle', () => {
  it("toRekorV1Bundle emits exactly cosign's keys, in Go order", () => {
    const legacy = toRekorV1Bundle(toTransparencyLogEntry(v1))
    assert.equal(
      JSON.stringify(legacy),
      `{"SignedEntryTimestamp":"MEUCIQD=","Payload":{"body":"${body}","integratedTime":1740770291,"logIndex":175508996,"logID":"${logID}"}}`
    )
  })

  it('round-trips through fromRekorV1Bundle (without the proof)', () => {
    const entry = toTransparencyLogEntry(v1)
    const back = fromRekorV1Bundle(
      JSON.parse(JSON.stringify(toRekorV1Bundle(entry)))
    )
    const { inclusionProof: _dropped, ...rest } = entry
    assert.deepEqual(back, rest)
    assert.equal(back.inclusionProof, undefined)
  })

  it('toRekorV1Bundle needs a SET', () => {
    const { inclusionPromise: _x, ...noSet } = toTransparencyLogEntry(v1)
    assert.throws(() => toRekorV1Bundle(noSet), {
      code: 'REKOR_BUNDLE_INVALID'
    })
  })

  it('fromRekorV1Bundle rejects malformed annotations with REKOR_BUNDLE_INVALID', () => {
    const good = toRekorV1Bundle(toTransparencyLogEntry(v1))
    for (const bad of [
      null,
      'x',
      {},
      { ...good, SignedEntryTimestamp: '' },
      { ...good, SignedEntryTimestamp: 'not base64!' },
      { ...good, Payload: { ...good.Payload, logID: 'zz' } },
      { ...good, Payload: { ...good.Payload, logIndex: '1' } },
      { ...good, Payload: { ...good.Payload, integratedTime: -1 } },
      { ...good, Payload: { ...good.Payload, body: toBase64(utf8('[]')) } }
    ]) {
      assert.throws(
        () => fromRekorV1Bundle(bad),
        { code: 'REKOR_BUNDLE_INVALID' },
        JSON.stringify(bad)
      )
    }
  })
})
