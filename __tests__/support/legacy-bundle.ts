// cosign's legacy `.sig` layer as a v0.1 Sigstore bundle: the same material
// (certificate, Rekor entry with its SET, message signature over the payload)
// that cosign hands to sigstore-go when it verifies a layer. Lets
// @sigstore/verify judge our legacy signatures independently.
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_SIGNATURE
} from '../../src/cosign/constants.ts'
import { sha256, toBase64 } from '../../src/util/index.ts'

export function legacyLayerAsBundle(
  annotations: Record<string, string>,
  payload: Uint8Array
): object {
  const rekor = JSON.parse(annotations[ANNOTATION_BUNDLE] ?? '{}') as {
    SignedEntryTimestamp: string
    Payload: {
      body: string
      integratedTime: number
      logIndex: number
      logID: string
    }
  }
  const body = JSON.parse(
    Buffer.from(rekor.Payload.body, 'base64').toString()
  ) as { kind: string; apiVersion: string }
  const cert = (annotations[ANNOTATION_CERTIFICATE] ?? '').replace(
    /-----[^-]+-----|\s/g,
    ''
  )
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      // A key-pair (or KMS key) signature has no certificate: the verifier
      // is given the public key (a hint names it, as cosign's bundles do).
      ...(cert
        ? { x509CertificateChain: { certificates: [{ rawBytes: cert }] } }
        : { publicKey: { hint: 'key' } }),
      tlogEntries: [
        {
          logIndex: String(rekor.Payload.logIndex),
          logId: {
            keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64')
          },
          kindVersion: { kind: body.kind, version: body.apiVersion },
          integratedTime: String(rekor.Payload.integratedTime),
          inclusionPromise: {
            signedEntryTimestamp: rekor.SignedEntryTimestamp
          },
          canonicalizedBody: rekor.Payload.body
        }
      ]
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: toBase64(sha256(payload))
      },
      signature: annotations[ANNOTATION_SIGNATURE]
    }
  }
}

/**
 * cosign's legacy `.att` layer (DSSE envelope blob + annotations) as a v0.1
 * bundle, so that @sigstore/verify judges it: the certificate, the dsse
 * entry with its SET, and the envelope itself. Also returns whether the
 * entry's envelopeHash is the sha256 of the layer bytes (cosign's own
 * binding of a `.att` layer to its Rekor entry, which sigstore-js does not
 * check).
 */
export function legacyAttestationAsBundle(
  annotations: Record<string, string>,
  envelope: Uint8Array
): { bundle: object; envelopeHashMatches: boolean } {
  const rekor = JSON.parse(annotations[ANNOTATION_BUNDLE] ?? '{}') as {
    SignedEntryTimestamp: string
    Payload: {
      body: string
      integratedTime: number
      logIndex: number
      logID: string
    }
  }
  const body = JSON.parse(
    Buffer.from(rekor.Payload.body, 'base64').toString()
  ) as {
    kind: string
    apiVersion: string
    spec: { envelopeHash?: { algorithm: string; value: string } }
  }
  const cert = (annotations[ANNOTATION_CERTIFICATE] ?? '').replace(
    /-----[^-]+-----|\s/g,
    ''
  )
  const hex = Buffer.from(sha256(envelope)).toString('hex')
  return {
    envelopeHashMatches:
      body.spec.envelopeHash?.algorithm === 'sha256' &&
      body.spec.envelopeHash.value === hex,
    bundle: {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: cert }] },
        tlogEntries: [
          {
            logIndex: String(rekor.Payload.logIndex),
            logId: {
              keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64')
            },
            kindVersion: { kind: body.kind, version: body.apiVersion },
            integratedTime: String(rekor.Payload.integratedTime),
            inclusionPromise: {
              signedEntryTimestamp: rekor.SignedEntryTimestamp
            },
            canonicalizedBody: rekor.Payload.body
          }
        ]
      },
      dsseEnvelope: JSON.parse(Buffer.from(envelope).toString()) as unknown
    }
  }
}
