// Rekor v2 client: request shapes (hashedrekord / DSSE 0.0.2, key details
// per key type), entries created in the loopback tile log verify against the
// trusted root (proof + checkpoint, no SET), and failures are coded.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { generateEphemeralKey } from '../../../../src/crypto/index.ts'
import { HttpClient } from '../../../../src/http/index.ts'
import {
  RekorV2Client,
  buildDsseRequestV002,
  buildHashedRekordRequestV002,
  parseTrustedRoot,
  publicKeyDetails,
  verifyTlogEntry
} from '../../../../src/sigstore/index.ts'
import { sha256, toBase64, utf8 } from '../../../../src/util/index.ts'
import {
  startSigstoreStack,
  type SigstoreStack
} from '../../../support/sigstore-stack.ts'

const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 0,
  timeoutMs: 5000
})

const spki = (k: KeyObject): Uint8Array =>
  k.export({ format: 'der', type: 'spki' })

it('key details name the key type and hash the log checks with', () => {
  const ec = (c: string) =>
    spki(generateKeyPairSync('ec', { namedCurve: c }).publicKey)
  assert.equal(
    publicKeyDetails(ec('prime256v1'), 'sha256'),
    'PKIX_ECDSA_P256_SHA_256'
  )
  assert.equal(
    publicKeyDetails(ec('secp384r1'), 'sha384'),
    'PKIX_ECDSA_P384_SHA_384'
  )
  const rsa = spki(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey
  )
  assert.equal(publicKeyDetails(rsa, 'sha256'), 'PKIX_RSA_PKCS1V15_2048_SHA256')
  assert.throws(() => publicKeyDetails(rsa, 'sha512'), TypeError)
})

it('request shapes: proto3 JSON of CreateEntryRequest', () => {
  const key = generateEphemeralKey()
  const digest = sha256(utf8('x'))
  const r = buildHashedRekordRequestV002({
    digest,
    signature: key.sign(utf8('x')),
    verifier: { publicKeySpki: key.publicKeySpki, hash: 'sha256' }
  })
  assert.deepEqual(Object.keys(r.hashedRekordRequestV002.signature.verifier), [
    'keyDetails',
    'publicKey'
  ])
  assert.equal(r.hashedRekordRequestV002.digest, toBase64(digest))
  const d = buildDsseRequestV002({
    envelope: {
      payload: toBase64(utf8('{}')),
      payloadType: 'application/vnd.in-toto+json',
      signatures: [{ sig: toBase64(utf8('sig')) }]
    },
    verifier: {
      publicKeySpki: key.publicKeySpki,
      hash: 'sha256',
      certificateDer: utf8('not really a cert')
    }
  })
  assert.ok(d.dsseRequestV002.verifiers[0]!.x509Certificate)
  assert.throws(
    () =>
      buildHashedRekordRequestV002({
        digest: utf8('short'),
        signature: utf8('s'),
        verifier: { publicKeySpki: key.publicKeySpki, hash: 'sha256' }
      }),
    TypeError
  )
})

describe('RekorV2Client against the loopback tile log', () => {
  let stack: SigstoreStack
  let rekor: RekorV2Client
  before(async () => {
    stack = await startSigstoreStack()
    rekor = new RekorV2Client({ baseUrl: stack.rekorV2Url, http })
  })
  after(() => stack.stop())

  it('logs hashedrekord entries whose proofs and checkpoints verify; the tree grows', async () => {
    const trust = parseTrustedRoot(stack.trustedRoot)
    const key = generateEphemeralKey()
    for (let i = 0; i < 3; i++) {
      const data = utf8(`artifact ${i}`)
      const entry = await rekor.createEntry(
        buildHashedRekordRequestV002({
          digest: sha256(data),
          signature: key.sign(data),
          verifier: { publicKeySpki: key.publicKeySpki, hash: 'sha256' }
        })
      )
      assert.deepEqual(entry.kindVersion, {
        kind: 'hashedrekord',
        version: '0.0.2'
      })
      assert.equal(entry.inclusionPromise, undefined)
      assert.equal(
        entry.inclusionProof?.treeSize,
        String(stack.rekorV2.bodies.length)
      )
      const v = verifyTlogEntry(entry, trust, { requireProof: true })
      assert.equal(v.proofVerified, true)
      assert.equal(v.promiseVerified, false)
    }
  })

  it('a bad signature is refused by the log with a coded error', async () => {
    const key = generateEphemeralKey()
    await assert.rejects(
      rekor.createEntry(
        buildHashedRekordRequestV002({
          digest: sha256(utf8('one')),
          signature: key.sign(utf8('other')),
          verifier: { publicKeySpki: key.publicKeySpki, hash: 'sha256' }
        })
      ),
      (e: Error & { code?: string; remedy?: string }) => {
        assert.equal(e.code, 'REKOR_ENTRY_CREATE_FAILED')
        assert.match(
          e.message,
          /Rekor v2 at .* did not log the entry.*HTTP 400/
        )
        assert.match(e.remedy ?? '', /rejected the entry/)
        return true
      }
    )
  })
})

describe('RekorV2Client: answers that are not a v2 entry', () => {
  let url: string
  let reply: { status: number; body: string }
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      res
        .writeHead(reply.status, { 'content-type': 'application/json' })
        .end(reply.body)
    })
  })
  before(async () => {
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => server.close())
  const request = () => {
    const key = generateEphemeralKey()
    return buildHashedRekordRequestV002({
      digest: sha256(utf8('a')),
      signature: key.sign(utf8('a')),
      verifier: { publicKeySpki: key.publicKeySpki, hash: 'sha256' }
    })
  }

  it('a v1 log (404) is named, with what to do', async () => {
    reply = { status: 404, body: '{"message":"not found"}' }
    await assert.rejects(
      new RekorV2Client({ baseUrl: url, http }).createEntry(request()),
      (e: Error & { code?: string; remedy?: string }) => {
        assert.equal(e.code, 'REKOR_ENTRY_CREATE_FAILED')
        assert.match(e.remedy ?? '', /does not serve the Rekor v2 API/)
        return true
      }
    )
  })

  it('an entry without inclusion proof, or of another kind, is refused', async () => {
    const entry = {
      logIndex: '0',
      logId: { keyId: toBase64(sha256(utf8('k'))) },
      kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
      canonicalizedBody: toBase64(utf8('{}'))
    }
    reply = { status: 201, body: JSON.stringify(entry) }
    await assert.rejects(
      new RekorV2Client({ baseUrl: url, http }).createEntry(request()),
      /needs an inclusionProof/
    )
    reply = {
      status: 201,
      body: JSON.stringify({
        ...entry,
        kindVersion: { kind: 'dsse', version: '0.0.2' },
        inclusionProof: {
          logIndex: '0',
          rootHash: toBase64(sha256(utf8('r'))),
          treeSize: '1',
          hashes: [],
          checkpoint: { envelope: 'x\n\n' }
        }
      })
    }
    await assert.rejects(
      new RekorV2Client({ baseUrl: url, http }).createEntry(request()),
      /answered a dsse 0.0.2 entry for a hashedrekord 0.0.2 request/
    )
  })
})
