// RFC 6962 / RFC 9162 Merkle inclusion: recompute the root from the leaf
// (the canonicalized entry body) and the audit path.
// Knows nothing about checkpoints or keys; the caller compares the result
// with a signed root. Spec: shared/docs/cosign-spec.md §5.7 (Validated).

import { createHash } from 'node:crypto'
import { VerificationError } from '../errors.ts'

const LEAF = Buffer.of(0x00)
const NODE = Buffer.of(0x01)

export function leafHash(body: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(body).digest()
}

function nodeHash(l: Uint8Array, r: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(l).update(r).digest()
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length
}

function onesCount(n: bigint): number {
  let c = 0
  for (const ch of n.toString(2)) if (ch === '1') c++
  return c
}

/**
 * The root hash implied by `hashes` for the leaf at `index` in a tree of
 * `size` leaves. Throws TLOG_INCLUSION_PROOF_INVALID when the proof has the
 * wrong shape.
 */
export function rootFromInclusionProof(
  index: bigint,
  size: bigint,
  leaf: Uint8Array,
  hashes: Uint8Array[]
): Buffer {
  const bad = (why: string): VerificationError =>
    new VerificationError(
      'TLOG_INCLUSION_PROOF_INVALID',
      `inclusion proof ${why}`
    )
  if (index < 0n || index >= size) {
    throw bad(`index ${index} is outside a tree of size ${size}`)
  }
  const inner = bitLength(index ^ (size - 1n))
  const border = onesCount(index >> BigInt(inner))
  if (hashes.length !== inner + border) {
    throw bad(`has ${hashes.length} hashes, expected ${inner + border}`)
  }
  for (const h of hashes) {
    if (h.length !== 32) throw bad('contains a hash that is not 32 bytes')
  }
  let h: Buffer = Buffer.from(leaf)
  for (let i = 0; i < inner; i++) {
    const p = hashes[i]!
    h = ((index >> BigInt(i)) & 1n) === 1n ? nodeHash(p, h) : nodeHash(h, p)
  }
  for (let i = inner; i < hashes.length; i++) h = nodeHash(hashes[i]!, h)
  return h
}
