// DSSE envelopes (secure-systems-lab/dsse): the Pre-Authentication Encoding
// that is actually signed, and the envelope JSON cosign v3 writes.
import { toBase64, utf8 } from '../util/index.ts'

export interface DsseEnvelope {
  payload: string
  payloadType: string
  signatures: { sig: string; keyid?: string }[]
}

/** "DSSEv1 <len(type)> <type> <len(payload)> <payload>" */
export function preAuthEncoding(
  payloadType: string,
  payload: Uint8Array
): Uint8Array {
  const type = utf8(payloadType)
  const head = utf8(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `)
  const out = new Uint8Array(head.length + payload.length)
  out.set(head, 0)
  out.set(payload, head.length)
  return out
}

export function buildEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signature: Uint8Array
): DsseEnvelope {
  return {
    payload: toBase64(payload),
    payloadType,
    signatures: [{ sig: toBase64(signature) }]
  }
}
