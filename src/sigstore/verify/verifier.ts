// The pure verifier: SignedEntity + TrustMaterial + policy in, a verified
// identity or a typed error out. Fixed steps in sigstore-go/cosign order:
//   1. tlog entries: trusted log, SET / inclusion proof + checkpoint, body
//      matches signature, key and artifact; thresholds; observer times
//   2. RFC 3161 timestamps → observer times
//   3. certificate path to a trusted CA at EVERY observer time; SCTs
//   4. the signature over the payload (and the artifact binding)
//   5. the identity policy
// No I/O, no clock reads for certificates (`now` is never an observer time).
// Spec: shared/docs/cosign-spec.md §8.2-8.3; shared/docs/style.md sketch 5.

import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { parsePemBlocks, toHex } from '../../util/index.ts'
import { inWindow, type TrustMaterial } from '../trust/index.ts'
import type { FulcioExtensions, ParsedCertificate } from '../x509/index.ts'
import { verifyCertificateChain, type CertificatePath } from './chain.ts'
import { PolicyError, VerificationError } from './errors.ts'
import {
  compilePolicy,
  primarySAN,
  verifyPolicy,
  type CompiledPolicy,
  type VerificationPolicy
} from './policy.ts'
import { verifySCTs } from './sct.ts'
import { verifyContentSignature } from './signature.ts'
import type { SignedEntity } from './signed-entity.ts'
import { verifyRFC3161Timestamp } from './timestamp.ts'
import {
  verifyTlogBody,
  verifyTlogEntry,
  type SignerKeyInfo as TlogSigner,
  type VerifiedTlogEntry
} from './tlog/index.ts'

export type PublicKeyInput = KeyObject | Uint8Array | string

export interface VerifyOptions {
  trust: TrustMaterial
  policy?: VerificationPolicy
  /** Verify with this key (KeyObject, DER SPKI or PEM) instead of a certificate. */
  publicKey?: PublicKeyInput
  /**
   * Reference time for callers' records. Never used as an observer time for
   * certificates: short-lived Fulcio certificates must be judged at the time
   * a log or TSA saw the signature.
   */
  now?: Date
  /** Verified tlog entries required (default 1; 0 = offline/ignore-tlog). */
  tlogThreshold?: number
  /** Verified SCTs required for certificates (default 1; 0 when the trusted root lists no CT log). */
  ctlogThreshold?: number
  /** Verified timestamps (SET integrated times + TSA) required (default 0). */
  timestampThreshold?: number
}

export interface VerifiedTimestamp {
  source: 'tlog' | 'tsa'
  time: Date
  /** Global log index, for tlog timestamps. */
  logIndex?: string
}

export interface VerifiedTlogEntrySummary {
  logIndex: string
  /** hex log ID */
  logId: string
  baseUrl: string
  kind: string
  version: string
  integratedTime?: Date
  inclusionProof: boolean
  inclusionPromise: boolean
}

export interface VerifiedIdentity {
  /** The SAN the policy was matched against (first URI/email/otherName). */
  subjectAlternativeName: string
  /** Every SAN in the certificate. */
  subjectAlternativeNames: string[]
  /** OIDC issuer extension ('' when the certificate has none). */
  issuer: string
  extensions: FulcioExtensions
}

export interface VerificationResult {
  identity?: VerifiedIdentity
  certificate?: ParsedCertificate
  /** CA that issued the certificate (trusted root `uri`). */
  certificateAuthority?: string
  publicKey: KeyObject
  timestamps: VerifiedTimestamp[]
  tlogEntries: VerifiedTlogEntrySummary[]
  /** DSSE payload (e.g. the in-toto statement) or the signed message. */
  payload?: Uint8Array
}

const spkiCache = new WeakMap<KeyObject, Uint8Array>()

function spkiOf(key: KeyObject): Uint8Array {
  let s = spkiCache.get(key)
  if (!s) {
    s = new Uint8Array(key.export({ type: 'spki', format: 'der' }))
    spkiCache.set(key, s)
  }
  return s
}

/** Any public key form → KeyObject; PUBLIC_KEY_INVALID when unreadable. */
export function toPublicKey(key: PublicKeyInput): KeyObject {
  if (typeof key === 'object' && !(key instanceof Uint8Array)) {
    if (key.type !== 'public') {
      throw new VerificationError(
        'PUBLIC_KEY_INVALID',
        'the verification key is not a public key'
      )
    }
    return key
  }
  try {
    if (typeof key === 'string') {
      const blocks = parsePemBlocks(key)
      const pub = blocks.find(b => b.label === 'PUBLIC KEY')
      if (pub)
        return createPublicKey({
          key: Buffer.from(pub.der),
          format: 'der',
          type: 'spki'
        })
      return createPublicKey({ key, format: 'pem' })
    }
    return createPublicKey({
      key: Buffer.from(key),
      format: 'der',
      type: 'spki'
    })
  } catch (e) {
    throw new VerificationError(
      'PUBLIC_KEY_INVALID',
      'the verification public key could not be read',
      {
        cause: e
      }
    )
  }
}

function entryId(e: VerifiedTlogEntry): string {
  const h = createHash('sha256').update(e.entry.body).digest('hex')
  return `${toHex(e.entry.logId)}/${h}`
}

/**
 * Verifies a SignedEntity. Throws VerificationError (integrity) or
 * PolicyError (valid signature, wrong signer); returns what was proven.
 * The steps, in sigstore-go/cosign order, are the functions below.
 */
export function verifySignedEntity(
  entity: SignedEntity,
  options: VerifyOptions
): VerificationResult {
  const { trust } = options
  const policy = compilePolicy(options.policy ?? {})
  const signer = resolveSigner(entity, options, policy)
  const verified = verifyTransparencyLog(
    entity,
    trust,
    signer,
    options.tlogThreshold ?? 1
  )
  const timestamps = collectObserverTimes(
    entity,
    trust,
    verified,
    options.timestampThreshold ?? 0
  )
  requireObserverTime(signer.cert, verified, timestamps)
  checkLogKeysAtSignedTimes(verified, timestamps)
  // A trusted root that lists no CT log describes a deployment without one
  // (a private Fulcio without CT): SCTs cannot be required there.
  const ctlogThreshold =
    options.ctlogThreshold ?? (trust.ctlogs.length > 0 ? 1 : 0)
  const path = signer.cert
    ? verifyCertificateAtObserverTimes(
        signer.cert,
        trust,
        timestamps,
        ctlogThreshold
      )
    : undefined
  const payload = verifyContentSignature(entity.content, signer.key)
  const identity = signer.cert
    ? verifyIdentity(entity, signer.cert, policy, verified)
    : undefined
  return {
    ...(identity ? { identity } : {}),
    ...(signer.cert ? { certificate: signer.cert } : {}),
    ...(path ? { certificateAuthority: path.ca.uri } : {}),
    publicKey: signer.key,
    timestamps,
    tlogEntries: verified.map(summarise),
    ...(payload ? { payload } : {})
  }
}

interface Signer {
  key: KeyObject
  /** The signing certificate (keyless); absent for a key-based signature. */
  cert: ParsedCertificate | undefined
  /** What a tlog body must name: the key (SPKI) and, keyless, the certificate. */
  binding: TlogSigner
}

/** Who signed: the key the caller gives, or the certificate's key. */
function resolveSigner(
  entity: SignedEntity,
  options: VerifyOptions,
  policy: CompiledPolicy
): Signer {
  if (options.publicKey !== undefined) {
    const key = toPublicKey(options.publicKey)
    if (
      entity.key.type === 'certificate' &&
      !Buffer.from(entity.key.certificate.publicKeySpki).equals(spkiOf(key))
    ) {
      throw new VerificationError(
        'PUBLIC_KEY_MISMATCH',
        'the signature carries a certificate for a different key than the one given'
      )
    }
    if (policy.constrainsSigner) {
      throw new PolicyError(
        'POLICY_IDENTITY_REQUIRED',
        'an identity/issuer policy cannot be checked for a key-based signature; drop it or verify keyless'
      )
    }
    return { key, cert: undefined, binding: { spki: spkiOf(key) } }
  }
  if (entity.key.type !== 'certificate') {
    throw new VerificationError(
      'CERTIFICATE_MISSING',
      `the signature has no certificate${entity.key.hint ? ` (it names key ${JSON.stringify(entity.key.hint)})` : ''}; ` +
        "verify it with the signer's public key"
    )
  }
  const cert = entity.key.certificate
  let key: KeyObject
  try {
    key = cert.publicKey
  } catch (e) {
    throw new VerificationError(
      'CERTIFICATE_INVALID',
      'the signing certificate key is unreadable',
      { cause: e }
    )
  }
  return {
    key,
    cert,
    binding: { spki: cert.publicKeySpki, certificateDer: cert.der }
  }
}

/**
 * Step 1: each entry from a trusted log has a valid SET / inclusion proof
 * and a body that names this signature, key and artifact; no entry twice;
 * at least `threshold` verified. Entries from logs the trusted root does not
 * list are skipped (sigstore-go), but remembered to explain a shortfall.
 */
function verifyTransparencyLog(
  entity: SignedEntity,
  trust: TrustMaterial,
  signer: Signer,
  threshold: number
): VerifiedTlogEntry[] {
  const verified: VerifiedTlogEntry[] = []
  const seen = new Set<string>()
  let untrusted: VerificationError | undefined
  for (const entry of entity.tlogEntries) {
    let v: VerifiedTlogEntry
    try {
      v = verifyTlogEntry(entry, trust, {
        requireProof: entity.requireInclusionProof,
        requirePromise: entity.requireInclusionPromise
      })
    } catch (e) {
      if (e instanceof VerificationError && e.code === 'TLOG_UNTRUSTED_LOG') {
        untrusted = e
        continue
      }
      throw e
    }
    verifyTlogBody(entry, entity.content, signer.binding)
    const id = entryId(v)
    if (seen.has(id)) {
      throw new VerificationError(
        'TLOG_DUPLICATE_ENTRY',
        `transparency log entry ${entry.logIndex} appears more than once`
      )
    }
    seen.add(id)
    verified.push(v)
  }
  if (verified.length < threshold) {
    if (untrusted) throw untrusted
    throw new VerificationError(
      'TLOG_MISSING',
      entity.tlogEntries.length === 0
        ? 'the signature has no transparency log entry'
        : `${verified.length} transparency log entries verified, ${threshold} required`
    )
  }
  return verified
}

/**
 * Step 2: the observer times — each verified entry's integrated time and
 * each RFC 3161 timestamp (which must verify) — and their threshold.
 */
function collectObserverTimes(
  entity: SignedEntity,
  trust: TrustMaterial,
  verified: VerifiedTlogEntry[],
  threshold: number
): VerifiedTimestamp[] {
  const timestamps: VerifiedTimestamp[] = []
  for (const v of verified) {
    if (v.integratedTime) {
      timestamps.push({
        source: 'tlog',
        time: v.integratedTime,
        logIndex: v.entry.logIndex
      })
    }
  }
  for (const [i, der] of entity.rfc3161Timestamps.entries()) {
    timestamps.push({
      source: 'tsa',
      time: withContext(`timestamp ${i + 1}: `, '', () =>
        verifyRFC3161Timestamp(
          der,
          entity.timestampedData ?? entity.content.signature,
          trust
        )
      )
    })
  }
  if (timestamps.length < threshold) {
    throw new VerificationError(
      'TIMESTAMP_MISSING',
      `${timestamps.length} verified timestamps, ${threshold} required`
    )
  }
  return timestamps
}

/** A certificate (or a Rekor v2 entry) needs a time it was seen at. */
function requireObserverTime(
  cert: ParsedCertificate | undefined,
  verified: VerifiedTlogEntry[],
  timestamps: VerifiedTimestamp[]
): void {
  const onlyV2 =
    verified.length > 0 && verified.every(v => v.integratedTime === undefined)
  if ((cert || onlyV2) && timestamps.length === 0) {
    throw new VerificationError(
      'TIMESTAMP_MISSING',
      cert
        ? 'nothing proves when the certificate was used: no inclusion promise (integrated time) and no RFC 3161 timestamp'
        : 'the transparency log entries carry no integrated time and there is no RFC 3161 timestamp'
    )
  }
}

/**
 * Entries without an integrated time (Rekor v2) are dated by the signed
 * timestamps: the log key that signed their checkpoint must be valid then.
 */
function checkLogKeysAtSignedTimes(
  verified: VerifiedTlogEntry[],
  timestamps: VerifiedTimestamp[]
): void {
  const tsaTimes = timestamps
    .filter(t => t.source === 'tsa')
    .map(t => t.time.getTime())
  for (const v of verified) {
    if (v.integratedTime || tsaTimes.length === 0) continue
    if (!tsaTimes.every(t => inWindow(v.log.validFor, t))) {
      throw new VerificationError(
        'TLOG_UNTRUSTED_LOG',
        `transparency log entry ${v.entry.logIndex}: the key of ${v.log.baseUrl} was not valid at the signed timestamp`
      )
    }
  }
}

/**
 * Step 3: the certificate chains to a trusted CA at EVERY observer time
 * (never at `now`), then its embedded SCTs verify.
 */
function verifyCertificateAtObserverTimes(
  cert: ParsedCertificate,
  trust: TrustMaterial,
  timestamps: VerifiedTimestamp[],
  ctlogThreshold: number
): CertificatePath {
  let path: CertificatePath | undefined
  for (const ts of timestamps) {
    const at =
      ts.source === 'tlog'
        ? `log entry ${ts.logIndex} integrated time`
        : 'the signed timestamp'
    path = withContext('', ` (checked at ${at})`, () =>
      verifyCertificateChain(cert, trust, ts.time)
    )
  }
  const issuer = path!.path[1]
  if (!issuer) {
    throw new VerificationError(
      'CERTIFICATE_CHAIN_INVALID',
      'the signing certificate is its own anchor'
    )
  }
  verifySCTs(cert, issuer, trust, ctlogThreshold)
  return path!
}

/** Step 5: the certificate's identity and issuer against the policy. */
function verifyIdentity(
  entity: SignedEntity,
  cert: ParsedCertificate,
  policy: CompiledPolicy,
  verified: VerifiedTlogEntry[]
): VerifiedIdentity {
  const extensions = cert.fulcio
  const issuer =
    entity.issuerPreference === 'v1'
      ? (extensions.issuerV1 ?? extensions.issuerV2)
      : (extensions.issuerV2 ?? extensions.issuerV1)
  const identity: VerifiedIdentity = {
    subjectAlternativeName: primarySAN(cert.sans)?.value ?? '',
    subjectAlternativeNames: cert.sans.map(s => s.value),
    issuer: issuer ?? '',
    extensions
  }
  const idx = verified[0]?.entry.logIndex
  verifyPolicy(
    policy,
    cert,
    { ...identity, issuer },
    entity.sanMatch,
    idx !== undefined ? ` (log index ${idx})` : ''
  )
  return identity
}

/** Runs `fn`, putting `before`/`after` around a VerificationError's message. */
function withContext<T>(before: string, after: string, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof VerificationError) {
      throw new VerificationError(e.code, `${before}${e.message}${after}`, {
        cause: e
      })
    }
    throw e
  }
}

function summarise(v: VerifiedTlogEntry): VerifiedTlogEntrySummary {
  return {
    logIndex: v.entry.logIndex,
    logId: toHex(v.entry.logId),
    baseUrl: v.log.baseUrl,
    kind: v.entry.kind,
    version: v.entry.version,
    ...(v.integratedTime ? { integratedTime: v.integratedTime } : {}),
    inclusionProof: v.proofVerified,
    inclusionPromise: v.promiseVerified
  }
}
