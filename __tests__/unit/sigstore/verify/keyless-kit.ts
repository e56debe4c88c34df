// Keyless material for unit tests, in process and with real crypto: a
// Fulcio-like CA with a CT log (@sigstore/mock: certificates with an embedded
// SCT, valid 10 minutes from issue), an RFC 3161 TSA (@sigstore/mock) and
// the FakeLog transparency log. Tests build bundles signed by a fresh
// ephemeral key, with log integrated times and TSA times of their choosing,
// then tamper with them.
import {
  createHash,
  generateKeyPairSync,
  sign,
  type KeyObject
} from 'node:crypto'
import { initializeCA, initializeCTLog, initializeTSA } from '@sigstore/mock'
import { toBase64, toPem } from '../../../../src/util/index.ts'
import {
  parseTrustedRoot,
  type TrustMaterial
} from '../../../../src/sigstore/trust/index.ts'
import { FakeLog, type FakeEntryJson } from './fake-log.ts'

export const SAN =
  'https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main'
export const ISSUER = 'https://token.actions.githubusercontent.com'
const ISSUER_V1 = '1.3.6.1.4.1.57264.1.1'
const ISSUER_V2 = '1.3.6.1.4.1.57264.1.8'

const b64 = (b: ArrayBufferView): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
const bytes = (b: ArrayBufferView): Buffer =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength)
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
const spki = (k: KeyObject): Uint8Array<ArrayBuffer> =>
  new Uint8Array(k.export({ format: 'der', type: 'spki' }))

export interface KeylessKit {
  log: FakeLog
  trust: TrustMaterial
  /** The trusted root JSON, for tests that edit it. */
  trustJson: Record<string, unknown>
  /** When the kit's CA issues certificates (valid 10 minutes from then). */
  issuedAt: Date
  /** A fresh signer and a certificate for it (same SAN and issuer). */
  newIdentity(): Promise<Identity>
  /** An RFC 3161 token over `signature`, dated `at`. */
  timestamp(signature: Uint8Array, at: Date): Promise<string>
}

export interface Identity {
  privateKey: KeyObject
  publicKey: KeyObject
  certDer: Buffer
  certPem: string
}

export async function keylessKit(): Promise<KeylessKit> {
  const issuedAt = new Date()
  const ctKey = ec()
  const ctlog = await initializeCTLog(ctKey)
  const ca = await initializeCA(ec(), ctlog, issuedAt)
  const tsaKey = ec()
  const log = new FakeLog()
  const start = new Date(Date.now() - 3600_000).toISOString()
  const trustJson = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log.tlogJson()],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.example.test',
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start }
      }
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.example.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: toBase64(spki(ctKey.publicKey)),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start }
        },
        logId: {
          keyId: toBase64(
            createHash('sha256').update(spki(ctKey.publicKey)).digest()
          )
        }
      }
    ],
    timestampAuthorities: [] as object[]
  }
  // TSAs are created per time (their clock is fixed at creation); each one
  // is added to the trusted root the first time it is used.
  const tsas = new Map<number, Awaited<ReturnType<typeof initializeTSA>>>()
  const kit: KeylessKit = {
    log,
    trustJson,
    get trust() {
      return parseTrustedRoot(trustJson)
    },
    issuedAt,
    async newIdentity() {
      const kp = ec()
      const der = bytes(
        await ca.issueCertificate({
          publicKey: spki(kp.publicKey),
          subjectAltName: SAN,
          extensions: [
            { oid: ISSUER_V1, value: ISSUER, legacy: true },
            { oid: ISSUER_V2, value: ISSUER }
          ]
        })
      )
      return { ...kp, certDer: der, certPem: toPem('CERTIFICATE', der) }
    },
    async timestamp(signature, at) {
      let tsa = tsas.get(at.getTime())
      if (!tsa) {
        tsa = await initializeTSA(tsaKey, at)
        tsas.set(at.getTime(), tsa)
        trustJson.timestampAuthorities.push({
          subject: { organization: 'sigstore.mock', commonName: 'tsa' },
          uri: `https://tsa${tsas.size}.example.test`,
          certChain: {
            certificates: [
              { rawBytes: b64(tsa.intCertificate) },
              { rawBytes: b64(tsa.rootCertificate) }
            ]
          },
          validFor: { start }
        })
      }
      const der = await tsa.timestamp({
        artifactHash: createHash('sha256').update(signature).digest(),
        hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
        nonce: 7,
        policyOID: '1.2.3.4',
        certReq: true
      })
      return b64(der)
    }
  }
  return kit
}

/** Canonical hashedrekord 0.0.1 body naming a certificate (keyless). */
export function certRekordBody(
  signature: Uint8Array,
  digestHex: string,
  certPem: string
): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: digestHex } },
        signature: {
          content: toBase64(signature),
          publicKey: { content: toBase64(Buffer.from(certPem)) }
        }
      }
    })
  )
}

export interface KeylessBundleOptions {
  /** Unix seconds of the log entry; null: an entry without a promise. */
  integratedTime?: number | null
  /** Times of RFC 3161 timestamps over the signature. */
  tsaTimes?: Date[]
  /** Certificate the log entry names instead of the signing one. */
  loggedCertPem?: string
  /** Bundle media type version (default 0.3). */
  version?: '0.1' | '0.2' | '0.3'
  /** Put the certificate in x509CertificateChain instead of certificate. */
  asChain?: boolean
}

/** A keyless message-signature bundle over `artifact`. */
export async function keylessBundle(
  kit: KeylessKit,
  id: Identity,
  artifact: Uint8Array,
  o: KeylessBundleOptions = {}
): Promise<{ bundle: Record<string, unknown>; entry: FakeEntryJson }> {
  const signature = sign('sha256', artifact, id.privateKey)
  const digest = createHash('sha256').update(artifact).digest()
  const body = certRekordBody(
    signature,
    digest.toString('hex'),
    o.loggedCertPem ?? id.certPem
  )
  const entry = kit.log.add(
    body,
    { kind: 'hashedrekord', version: '0.0.1' },
    o.integratedTime === undefined
      ? Math.floor(kit.issuedAt.getTime() / 1000) + 60
      : o.integratedTime
  )
  const timestamps = []
  for (const t of o.tsaTimes ?? [])
    timestamps.push({ signedTimestamp: await kit.timestamp(signature, t) })
  const rawBytes = id.certDer.toString('base64')
  return {
    entry,
    bundle: {
      mediaType: `application/vnd.dev.sigstore.bundle${o.version === '0.1' || o.version === '0.2' ? `+json;version=${o.version}` : '.v0.3+json'}`,
      verificationMaterial: {
        ...(o.asChain
          ? { x509CertificateChain: { certificates: [{ rawBytes }] } }
          : { certificate: { rawBytes } }),
        tlogEntries: [entry],
        ...(timestamps.length
          ? { timestampVerificationData: { rfc3161Timestamps: timestamps } }
          : {})
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: toBase64(digest) },
        signature: toBase64(signature)
      }
    }
  }
}
