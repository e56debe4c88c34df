// Signed checkpoints (signed notes): split the note from its signature
// lines, find a signature by a trusted log key (key hint + signer name), and
// read origin, tree size and root hash. Covers Rekor v1 (ECDSA, hint = first
// 4 bytes of the log ID) and Rekor v2 / C2SP (Ed25519, hint = first 4 bytes
// of SHA-256(name || 0x0A || 0x01 || key)). Witness cosignatures by keys we
// do not know are ignored.
// Spec: shared/docs/cosign-spec.md §5.8; C2SP signed-note and tlog-checkpoint.

import { createHash, verify as cryptoVerify } from 'node:crypto'
import { fromBase64, isBase64 } from '../../../util/index.ts'
import type { LogAuthority } from '../../trust/index.ts'
import { VerificationError } from '../errors.ts'

export interface Checkpoint {
  origin: string
  size: bigint
  rootHash: Uint8Array
  /** Extension lines after the root hash. */
  rest: string[]
  /** The authority whose signature verified. */
  signer: LogAuthority
}

interface NoteSignature {
  name: string
  hint: Uint8Array
  signature: Uint8Array
}

function bad(message: string): VerificationError {
  return new VerificationError(
    'TLOG_CHECKPOINT_INVALID',
    `checkpoint ${message}`
  )
}

const ed25519Hints = new WeakMap<LogAuthority, Map<string, Buffer>>()

function c2spHint(log: LogAuthority, name: string): Buffer | undefined {
  if (log.publicKey.asymmetricKeyType !== 'ed25519') return undefined
  let byName = ed25519Hints.get(log)
  if (!byName) {
    byName = new Map()
    ed25519Hints.set(log, byName)
  }
  let h = byName.get(name)
  if (!h) {
    // The raw key is the last 32 bytes of the Ed25519 SPKI.
    const raw = log.publicKeyDer.subarray(log.publicKeyDer.length - 32)
    h = createHash('sha256')
      .update(name)
      .update(Buffer.of(0x0a, 0x01))
      .update(raw)
      .digest()
      .subarray(0, 4)
    byName.set(name, h)
  }
  return h
}

function hintMatches(log: LogAuthority, sig: NoteSignature): boolean {
  const hint = Buffer.from(sig.hint)
  if (hint.equals(log.logId.subarray(0, 4))) return true
  if (log.checkpointKeyId && hint.equals(log.checkpointKeyId.subarray(0, 4))) {
    return true
  }
  return c2spHint(log, sig.name)?.equals(hint) ?? false
}

function nameMatches(log: LogAuthority, name: string): boolean {
  if (name === log.origin) return true
  const bare = log.baseUrl.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')
  return name === bare
}

function splitNote(envelope: string): { text: string; sigs: NoteSignature[] } {
  const sep = envelope.indexOf('\n\n')
  if (sep < 0) throw bad('has no blank line between note and signatures')
  const text = envelope.slice(0, sep + 1)
  const block = envelope.slice(sep + 2)
  if (!block.endsWith('\n'))
    throw bad('signature block does not end with a newline')
  const sigs: NoteSignature[] = []
  for (const line of block.slice(0, -1).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line)
    if (!m) throw bad(`has a malformed signature line ${JSON.stringify(line)}`)
    const b64 = m[2]!
    if (!isBase64(b64)) throw bad('signature is not base64')
    const raw = fromBase64(b64)
    if (raw.length < 5) throw bad('signature is too short')
    sigs.push({
      name: m[1]!,
      hint: raw.subarray(0, 4),
      signature: raw.subarray(4)
    })
  }
  if (sigs.length === 0) throw bad('has no signatures')
  return { text, sigs }
}

function verifyWith(log: LogAuthority, text: Buffer, sig: Uint8Array): boolean {
  const type = log.publicKey.asymmetricKeyType
  try {
    return cryptoVerify(
      type === 'ed25519' ? null : 'sha256',
      text,
      log.publicKey,
      sig
    )
  } catch {
    return false
  }
}

/**
 * Verifies the signed note with one of `logs` (the authorities for the
 * entry's log ID) and returns its parsed body.
 */
export function verifyCheckpoint(
  envelope: string,
  logs: LogAuthority[]
): Checkpoint {
  const { text, sigs } = splitNote(envelope)
  const data = Buffer.from(text, 'utf8')
  let signer: LogAuthority | undefined
  for (const sig of sigs) {
    for (const log of logs) {
      if (!nameMatches(log, sig.name) || !hintMatches(log, sig)) continue
      if (verifyWith(log, data, sig.signature)) {
        signer = log
        break
      }
    }
    if (signer) break
  }
  if (!signer) {
    throw bad('is not signed by a trusted key of the log')
  }
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 3) throw bad('has fewer than three lines')
  const [origin, sizeLine, rootLine, ...rest] = lines as [
    string,
    string,
    string,
    ...string[]
  ]
  if (origin === '') throw bad('has an empty origin')
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeLine))
    throw bad('has an invalid tree size')
  if (!isBase64(rootLine)) throw bad('has an invalid root hash')
  const rootHash = fromBase64(rootLine)
  if (rootHash.length !== 32) throw bad('root hash is not 32 bytes')
  return { origin, size: BigInt(sizeLine), rootHash, rest, signer }
}
