// Transparency log entry verification: the log must be trusted, the Signed
// Entry Timestamp (inclusion promise) must be signed by the log key valid at
// integratedTime, and the inclusion proof must hash up to a root in a
// checkpoint signed by the log. Body-vs-signature consistency is body.ts.
// Pure: no Rekor lookups (an entry without proof or promise just fails).
// Spec: shared/docs/cosign-spec.md §5.6-5.8, §5.12, §8.3 step 2.

import { verify as cryptoVerify } from 'node:crypto'
import { toBase64, toHex } from '../../../util/index.ts'
import {
  inWindow,
  type LogAuthority,
  type TrustMaterial
} from '../../trust/index.ts'
import { VerificationError } from '../errors.ts'
import type { TransparencyLogEntry } from '../../bundle/index.ts'
import { toTlogEntry, type TlogEntry } from '../signed-entity.ts'
import { verifyCheckpoint } from './checkpoint.ts'
import { leafHash, rootFromInclusionProof } from './merkle.ts'

export { verifyTlogBody, type SignerKeyInfo } from './body.ts'
export { verifyCheckpoint, type Checkpoint } from './checkpoint.ts'
export { leafHash, rootFromInclusionProof } from './merkle.ts'

export interface VerifyTlogEntryOptions {
  /** The entry must carry an inclusion proof (bundle v0.2+). */
  requireProof?: boolean
  /** The entry must carry an inclusion promise (bundle v0.1, legacy). */
  requirePromise?: boolean
}

export interface VerifiedTlogEntry {
  entry: TlogEntry
  /** The authority whose key signed the checkpoint (else the first for the ID). */
  log: LogAuthority
  /** Set when a verified SET vouches for integratedTime. */
  integratedTime: Date | undefined
  promiseVerified: boolean
  proofVerified: boolean
}

/**
 * The trusted authorities for an entry's log ID ([] when untrusted). A log
 * whose validFor has no start is invalid (client spec) and never returned.
 */
export function logAuthoritiesFor(
  trust: TrustMaterial,
  logId: Uint8Array
): LogAuthority[] {
  const id = toBase64(logId)
  const byId = trust.tlogsById.get(id)
  const logs =
    byId ??
    trust.tlogs.filter(
      l => l.checkpointKeyId !== undefined && toBase64(l.checkpointKeyId) === id
    )
  return logs.filter(l => l.validFor.start !== undefined)
}

/** RFC 8785 form of the SET payload {body, integratedTime, logID, logIndex}. */
export function setPayload(entry: TlogEntry): Buffer {
  if (entry.integratedTime === undefined) {
    throw new VerificationError(
      'TLOG_SET_INVALID',
      `transparency log entry ${entry.logIndex} has an inclusion promise but no integratedTime`
    )
  }
  if (!/^(?:0|[1-9][0-9]*)$/.test(entry.logIndex)) {
    throw new VerificationError(
      'TLOG_SET_INVALID',
      `invalid log index ${entry.logIndex}`
    )
  }
  const text =
    `{"body":${JSON.stringify(toBase64(entry.body))},` +
    `"integratedTime":${entry.integratedTime},` +
    `"logID":"${toHex(entry.logId)}",` +
    `"logIndex":${entry.logIndex}}`
  return Buffer.from(text, 'utf8')
}

function verifySET(entry: TlogEntry, logs: LogAuthority[]): void {
  const data = setPayload(entry)
  const t = entry.integratedTime! * 1000
  // The key must declare a start (inWindow) and cover integratedTime.
  const usable = logs.filter(l => inWindow(l.validFor, t))
  if (usable.length === 0) {
    throw new VerificationError(
      'TLOG_SET_INVALID',
      `transparency log entry ${entry.logIndex}: no key of log ${toHex(entry.logId)} was valid at ${new Date(t).toISOString()}`
    )
  }
  const ok = usable.some(l => {
    try {
      return cryptoVerify(
        l.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256',
        data,
        l.publicKey,
        entry.signedEntryTimestamp!
      )
    } catch {
      return false
    }
  })
  if (!ok) {
    throw new VerificationError(
      'TLOG_SET_INVALID',
      `transparency log entry ${entry.logIndex}: the signed entry timestamp does not verify with the log key`
    )
  }
}

function verifyProof(entry: TlogEntry, logs: LogAuthority[]): LogAuthority {
  const proof = entry.inclusionProof!
  const root = rootFromInclusionProof(
    proof.logIndex,
    proof.treeSize,
    leafHash(entry.body),
    proof.hashes
  )
  if (!root.equals(proof.rootHash)) {
    throw new VerificationError(
      'TLOG_INCLUSION_PROOF_INVALID',
      `transparency log entry ${entry.logIndex}: the inclusion proof does not lead to its root hash`
    )
  }
  if (proof.checkpoint === undefined) {
    throw new VerificationError(
      'TLOG_CHECKPOINT_INVALID',
      `transparency log entry ${entry.logIndex}: the inclusion proof has no signed checkpoint`
    )
  }
  let cp
  try {
    cp = verifyCheckpoint(proof.checkpoint, logs)
  } catch (e) {
    if (e instanceof VerificationError) {
      throw new VerificationError(
        e.code,
        `transparency log entry ${entry.logIndex}: ${e.message}`,
        { cause: e }
      )
    }
    throw e
  }
  if (!root.equals(cp.rootHash) || cp.size !== proof.treeSize) {
    throw new VerificationError(
      'TLOG_CHECKPOINT_INVALID',
      `transparency log entry ${entry.logIndex}: the signed checkpoint (size ${cp.size}) is not the proof's tree (size ${proof.treeSize})`
    )
  }
  return cp.signer
}

/**
 * Verifies one entry's inclusion (promise and/or proof) against the trusted
 * logs. Accepts the decoded TlogEntry or the bundle wire form (what the
 * signing side gets from Rekor). Does not compare the body with a signature
 * (see verifyTlogBody).
 */
export function verifyTlogEntry(
  tlogEntry: TlogEntry | TransparencyLogEntry,
  trust: TrustMaterial,
  options: VerifyTlogEntryOptions = {}
): VerifiedTlogEntry {
  const entry =
    'canonicalizedBody' in tlogEntry ? toTlogEntry(tlogEntry) : tlogEntry
  const logs = logAuthoritiesFor(trust, entry.logId)
  if (logs.length === 0) {
    throw new VerificationError(
      'TLOG_UNTRUSTED_LOG',
      `transparency log entry ${entry.logIndex} comes from log ${toHex(entry.logId)}, which the trusted root does not list`
    )
  }
  if (options.requirePromise && !entry.signedEntryTimestamp) {
    throw new VerificationError(
      'TLOG_SET_MISSING',
      `transparency log entry ${entry.logIndex} has no signed entry timestamp (inclusion promise)`
    )
  }
  if (options.requireProof && !entry.inclusionProof) {
    throw new VerificationError(
      'TLOG_INCLUSION_PROOF_MISSING',
      `transparency log entry ${entry.logIndex} has no inclusion proof`
    )
  }
  if (!entry.signedEntryTimestamp && !entry.inclusionProof) {
    throw new VerificationError(
      'TLOG_INCLUSION_PROOF_MISSING',
      `transparency log entry ${entry.logIndex} has neither an inclusion proof nor a promise`
    )
  }
  let integratedTime: Date | undefined
  if (entry.signedEntryTimestamp) {
    verifySET(entry, logs)
    integratedTime = new Date(entry.integratedTime! * 1000)
  }
  const signer = entry.inclusionProof ? verifyProof(entry, logs) : undefined
  return {
    entry,
    log: signer ?? logs[0]!,
    integratedTime,
    promiseVerified: entry.signedEntryTimestamp !== undefined,
    proofVerified: entry.inclusionProof !== undefined
  }
}
