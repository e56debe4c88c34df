// A loopback Rekor v2 (rekor-tiles) log for tests, with real crypto:
// POST /api/v2/log/entries takes a CreateEntryRequest (hashedrekord or DSSE
// 0.0.2, proto3 JSON), checks the signature against the verifier as
// rekor-tiles does, appends the canonical entry body to an RFC 6962 Merkle
// tree and answers a TransparencyLogEntry with an inclusion proof and a C2SP
// checkpoint signed with the log's Ed25519 key (key hint and log ID =
// SHA-256(origin || 0x0A || 0x01 || raw key)). No SET, no integrated time.
// Shapes: sigstore/rekor-tiles api/proto, sigstore/protobuf-specs rekor/v2;
// the bodies are what the public-good and staging v2 logs write (see
// ../../../shared/vectors/sigstore-python/*rekor-v2*).

import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject
} from 'node:crypto'
import { p256 } from '@noble/curves/nist.js'

export interface RekorV2Log {
  /** `host:port`, the checkpoint origin and signer name. */
  origin: string
  publicKey: KeyObject
  /** base64 log ID (= checkpoint key ID). */
  logId: string
  /** Canonical bodies in log order. */
  bodies: Buffer[]
  /** The POST handler; answers [status, JSON body]. */
  create(body: Buffer): { status: number; json: unknown }
}

const sha256 = (...parts: (Uint8Array | string)[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')

/** RFC 8785-style canonical JSON (sorted keys; our values are strings). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map(
        k =>
          `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`
      )
      .join(',')}}`
  }
  return JSON.stringify(v)
}

const leaf = (body: Uint8Array): Buffer => sha256(Buffer.of(0), body)
const node = (l: Buffer, r: Buffer): Buffer => sha256(Buffer.of(1), l, r)
const split = (n: number): number => 2 ** Math.floor(Math.log2(n - 1))

function treeHash(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!
  const k = split(leaves.length)
  return node(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)))
}

/** RFC 6962 §2.1.1 PATH(m, D[n]), leaf to root. */
function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return []
  const k = split(leaves.length)
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), treeHash(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), treeHash(leaves.slice(0, k))]
}

interface V2Verifier {
  keyDetails?: string
  x509Certificate?: { rawBytes?: string }
  publicKey?: { rawBytes?: string }
}

function verifierKey(v: V2Verifier | undefined): KeyObject {
  if (!v?.keyDetails) throw new Error('verifier.keyDetails is missing')
  if (v.x509Certificate?.rawBytes) {
    return createPublicKey({
      key: `-----BEGIN CERTIFICATE-----\n${v.x509Certificate.rawBytes}\n-----END CERTIFICATE-----\n`,
      format: 'pem'
    })
  }
  if (v.publicKey?.rawBytes) {
    return createPublicKey({
      key: Buffer.from(v.publicKey.rawBytes, 'base64'),
      format: 'der',
      type: 'spki'
    })
  }
  throw new Error('verifier has neither a certificate nor a public key')
}

/** ECDSA over a prehashed digest (what a hashedrekord signs). */
function verifyDigest(
  key: KeyObject,
  digest: Buffer,
  sig: Buffer,
  details: string
): boolean {
  if (details !== 'PKIX_ECDSA_P256_SHA_256') {
    throw new Error(`key type ${details} is not supported by this test log`)
  }
  const raw = key.export({ format: 'der', type: 'spki' }).subarray(-65)
  return p256.verify(sig, digest, raw, {
    prehash: false,
    lowS: false,
    format: 'der'
  })
}

export function createRekorV2Log(origin: string): RekorV2Log {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const rawKey = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  const keyId = sha256(origin, Buffer.of(0x0a, 0x01), rawKey)
  const bodies: Buffer[] = []
  const leaves: Buffer[] = []

  const checkpoint = (size: number, root: Buffer): string => {
    const note = `${origin}\n${size}\n${b64(root)}\n`
    const sig = cryptoSign(null, Buffer.from(note), privateKey)
    return `${note}\n\u2014 ${origin} ${b64(Buffer.concat([keyId.subarray(0, 4), sig]))}\n`
  }

  const toBody = (
    req: Record<string, unknown>
  ): { kind: string; body: object } => {
    const h = req['hashedRekordRequestV002'] as
      | {
          digest?: string
          signature?: { content?: string; verifier?: V2Verifier }
        }
      | undefined
    const d = req['dsseRequestV002'] as
      | {
          envelope?: {
            payload?: string
            payloadType?: string
            signatures?: { sig?: string; keyid?: string }[]
          }
          verifiers?: V2Verifier[]
        }
      | undefined
    if (h && !d) {
      const digest = Buffer.from(h.digest ?? '', 'base64')
      if (digest.length !== 32) throw new Error('digest is not SHA-256')
      const sig = Buffer.from(h.signature?.content ?? '', 'base64')
      const v = h.signature?.verifier
      if (!verifyDigest(verifierKey(v), digest, sig, v!.keyDetails!)) {
        throw new Error('verifying signature: invalid signature')
      }
      return {
        kind: 'hashedrekord',
        body: {
          apiVersion: '0.0.2',
          kind: 'hashedrekord',
          spec: {
            hashedRekordV002: {
              data: { algorithm: 'SHA2_256', digest: b64(digest) },
              signature: { content: b64(sig), verifier: v }
            }
          }
        }
      }
    }
    if (d && !h) {
      const env = d.envelope
      const sigs = env?.signatures ?? []
      if (!env?.payload || !env.payloadType || sigs.length !== 1) {
        throw new Error('the envelope must hold a payload and one signature')
      }
      if (d.verifiers?.length !== 1) throw new Error('one verifier expected')
      const payload = Buffer.from(env.payload, 'base64')
      const type = Buffer.from(env.payloadType)
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${type.length} `),
        type,
        Buffer.from(` ${payload.length} `),
        payload
      ])
      const sig = Buffer.from(sigs[0]!.sig ?? '', 'base64')
      if (!cryptoVerify('sha256', pae, verifierKey(d.verifiers[0]), sig)) {
        throw new Error('verifying signature: invalid signature')
      }
      return {
        kind: 'dsse',
        body: {
          apiVersion: '0.0.2',
          kind: 'dsse',
          spec: {
            dsseV002: {
              payloadHash: {
                algorithm: 'SHA2_256',
                digest: b64(sha256(payload))
              },
              signatures: [{ content: b64(sig), verifier: d.verifiers[0] }]
            }
          }
        }
      }
    }
    throw new Error('exactly one of hashedRekordRequestV002, dsseRequestV002')
  }

  return {
    origin,
    publicKey,
    logId: b64(keyId),
    bodies,
    create(raw) {
      let kind: string
      let body: Buffer
      try {
        const made = toBody(
          JSON.parse(raw.toString()) as Record<string, unknown>
        )
        kind = made.kind
        body = Buffer.from(canonicalJson(made.body))
      } catch (e) {
        return {
          status: 400,
          json: { code: 3, message: (e as Error).message, details: [] }
        }
      }
      const index = bodies.length
      bodies.push(body)
      leaves.push(leaf(body))
      const size = leaves.length
      const root = treeHash(leaves)
      return {
        status: 201,
        json: {
          logIndex: String(index),
          logId: { keyId: b64(keyId) },
          kindVersion: { kind, version: '0.0.2' },
          inclusionProof: {
            logIndex: String(index),
            rootHash: b64(root),
            treeSize: String(size),
            hashes: auditPath(index, leaves).map(b64),
            checkpoint: { envelope: checkpoint(size, root) }
          },
          canonicalizedBody: b64(body)
        }
      }
    }
  }
}
