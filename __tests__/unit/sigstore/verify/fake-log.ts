// A tiny in-memory transparency log for unit tests: real keys, real SETs,
// real RFC 6962 inclusion proofs and signed checkpoints, so every check of
// the verifier runs genuine crypto on data we can tamper with at will.
import {
  createHash,
  generateKeyPairSync,
  sign,
  type KeyObject
} from 'node:crypto'
import { toBase64, toHex, toPem } from '../../../../src/util/index.ts'
import { preAuthEncoding } from '../../../../src/sigstore/verify/index.ts'
import {
  parseTrustedRoot,
  type TrustMaterial
} from '../../../../src/sigstore/trust/index.ts'

export interface FakeLogOptions {
  ed25519?: boolean
  host?: string
  validFrom?: string
}

export interface FakeEntryJson {
  logIndex: string
  logId: { keyId: string }
  kindVersion: { kind: string; version: string }
  integratedTime?: string
  inclusionPromise?: { signedEntryTimestamp: string }
  inclusionProof: {
    logIndex: string
    rootHash: string
    treeSize: string
    hashes: string[]
    checkpoint: { envelope: string }
  }
  canonicalizedBody: string
}

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const leaf = (b: Uint8Array): Buffer => sha(Buffer.of(0), b)
const node = (l: Uint8Array, r: Uint8Array): Buffer => sha(Buffer.of(1), l, r)

function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

export function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!
  const k = split(leaves.length)
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)))
}

export function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return []
  const k = split(leaves.length)
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))]
}

export class FakeLog {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly spki: Buffer
  readonly logId: Buffer
  readonly host: string
  readonly ed25519: boolean
  readonly validFrom: string
  readonly leaves: Buffer[] = []

  constructor(o: FakeLogOptions = {}) {
    this.ed25519 = o.ed25519 ?? false
    const kp = this.ed25519
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = kp.privateKey
    this.publicKey = kp.publicKey
    this.spki = kp.publicKey.export({ type: 'spki', format: 'der' })
    this.host =
      o.host ?? (this.ed25519 ? 'log2.example.test' : 'rekor.example.test')
    this.validFrom = o.validFrom ?? '2020-01-01T00:00:00Z'
    // Rekor v1: SHA-256(SPKI); C2SP: SHA-256(name || 0x0A || 0x01 || key).
    this.logId = this.ed25519
      ? sha(
          Buffer.from(this.host),
          Buffer.of(0x0a, 0x01),
          this.spki.subarray(-32)
        )
      : sha(this.spki)
    for (let i = 0; i < 5; i++)
      this.leaves.push(leaf(Buffer.from(`other entry ${i}`)))
  }

  tlogJson(): unknown {
    return {
      baseUrl: `https://${this.host}`,
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: toBase64(this.spki),
        keyDetails: this.ed25519 ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: this.validFrom }
      },
      logId: { keyId: toBase64(this.logId) }
    }
  }

  signNote(text: string, key = this.privateKey, hint = this.hint()): string {
    const sig = sign(this.ed25519 ? null : 'sha256', Buffer.from(text), key)
    return `${text}\n\u2014 ${this.host} ${toBase64(Buffer.concat([hint, sig]))}\n`
  }

  hint(): Buffer {
    return this.logId.subarray(0, 4)
  }

  /** Appends `body` and returns the bundle-JSON entry (plus one more leaf after). */
  add(
    body: Uint8Array,
    kind: { kind: string; version: string },
    integratedTime: number | null = 1_700_000_000
  ): FakeEntryJson {
    const index = this.leaves.length
    this.leaves.push(leaf(body))
    this.leaves.push(leaf(Buffer.from(`later entry ${index}`)))
    const root = mth(this.leaves)
    const size = this.leaves.length
    const logIndex = String(1000 + index)
    const note = `${this.host}${this.ed25519 ? '' : ' - 42'}\n${size}\n${toBase64(root)}\n`
    const entry: FakeEntryJson = {
      logIndex,
      logId: { keyId: toBase64(this.logId) },
      kindVersion: kind,
      inclusionProof: {
        logIndex: String(index),
        rootHash: toBase64(root),
        treeSize: String(size),
        hashes: auditPath(index, this.leaves).map(h => toBase64(h)),
        checkpoint: { envelope: this.signNote(note) }
      },
      canonicalizedBody: toBase64(body)
    }
    if (integratedTime !== null) {
      entry.integratedTime = String(integratedTime)
      const payload =
        `{"body":${JSON.stringify(toBase64(body))},"integratedTime":${integratedTime},` +
        `"logID":"${toHex(this.logId)}","logIndex":${logIndex}}`
      entry.inclusionPromise = {
        signedEntryTimestamp: toBase64(
          sign('sha256', Buffer.from(payload), this.privateKey)
        )
      }
    }
    return entry
  }
}

export function trustWith(logs: FakeLog[]): TrustMaterial {
  return parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: logs.map(l => l.tlogJson()),
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: []
  })
}

export interface Signer {
  privateKey: KeyObject
  publicKey: KeyObject
  pem: string
}

export function newSigner(): Signer {
  const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const der = kp.publicKey.export({ type: 'spki', format: 'der' })
  return { ...kp, pem: toPem('PUBLIC KEY', der) }
}

/** Canonical hashedrekord 0.0.1 body for a key-based message signature. */
export function hashedRekordBody(
  signature: Uint8Array,
  digestHex: string,
  pem: string
): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: digestHex } },
        signature: {
          content: toBase64(signature),
          publicKey: { content: toBase64(Buffer.from(pem)) }
        }
      }
    })
  )
}

/** A v0.3 key-based message-signature bundle over `artifact`, logged in `log`. */
export function keyBundle(
  log: FakeLog,
  signer: Signer,
  artifact: Uint8Array,
  o: { signedData?: Uint8Array; integratedTime?: number | null } = {}
): { bundle: Record<string, unknown>; entry: FakeEntryJson } {
  const signature = sign('sha256', o.signedData ?? artifact, signer.privateKey)
  const digest = createHash('sha256').update(artifact).digest()
  const body = hashedRekordBody(signature, digest.toString('hex'), signer.pem)
  const entry = log.add(
    body,
    { kind: 'hashedrekord', version: '0.0.1' },
    o.integratedTime
  )
  return {
    entry,
    bundle: {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        publicKey: { hint: 'test-key' },
        tlogEntries: [entry]
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: toBase64(digest) },
        signature: toBase64(signature)
      }
    }
  }
}

/**
 * A v0.3 key-based DSSE bundle over `statement`, whose dsse 0.0.1 entry in
 * `log` carries exactly its payload hash and signature (the verifier named
 * is always `signer`'s key; `signingKey` signs, to forge a mismatch).
 */
export function dsseKeyBundle(
  log: FakeLog,
  signer: Signer,
  payloadType: string,
  statement: Uint8Array,
  signingKey: KeyObject = signer.privateKey
): Record<string, unknown> {
  const sig = sign(
    'sha256',
    preAuthEncoding(payloadType, statement),
    signingKey
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
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: {}, tlogEntries: [entry] },
    dsseEnvelope: {
      payload: toBase64(statement),
      payloadType,
      signatures: [{ sig: toBase64(sig) }]
    }
  }
}
