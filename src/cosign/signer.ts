// The one signing identity of a run: a key-pair (cosign.key) or an ephemeral
// key with ONE short-lived Fulcio certificate, whatever the number of images.
// The certificate chain and its embedded SCT are checked against the trusted
// root before anything is signed with it.
import {
  generateEphemeralKey,
  loadPrivateKey,
  type SigningKey
} from '../crypto/index.ts'
import type { HttpClient } from '../http/index.ts'
import { createKmsSigner, type KmsContext } from '../kms/index.ts'
import {
  FulcioClient,
  challengeClaim,
  checkTokenClaims,
  decodeJwtClaims,
  type IdentityProvider
} from '../sigstore/index.ts'
import {
  parseCertificate,
  verifyCertificateChain,
  verifySCTs,
  type ParsedCertificate,
  type TrustMaterial
} from '../sigstore/index.ts'
import {
  AppError,
  equalBytes,
  parsePemBlocks,
  sha256,
  toBase64,
  utf8,
  type Logger
} from '../util/index.ts'
import { SignError } from './errors.ts'

export interface KeylessIdentity {
  /** The certificate's subject alternative name (what verify matches). */
  subject: string
  issuer: string
}

export interface RunSigner {
  /** The signing key's public half and algorithm (a local key or a KMS key). */
  key: Pick<SigningKey, 'algorithm' | 'hash' | 'publicKeySpki' | 'publicKeyPem'>
  /** Signs `data` (hashing it with `key.hash`): local, or a KMS call. */
  sign(data: Uint8Array): Promise<Uint8Array>
  /** PEM put in Rekor entries: the leaf certificate, or the public key. */
  verifierPem: string
  /** Keyless only. */
  certificate?: {
    leafPem: string
    leafDer: Uint8Array
    /** Intermediates and root, PEM, nearest issuer first. */
    chainPem: string
    parsed: ParsedCertificate
  }
  identity?: KeylessIdentity
  /** base64(sha256(SPKI)), the publicKey hint of key-pair bundles. */
  keyHint: string
  /** Keyless: the source repository's visibility claim, when the token has one. */
  visibility?: string
}

export async function createKeyPairSigner(
  pem: string,
  password: string | undefined
): Promise<RunSigner> {
  const key = await loadPrivateKey(pem, password)
  return {
    key,
    sign: data => Promise.resolve().then(() => key.sign(data)),
    verifierPem: key.publicKeyPem,
    keyHint: toBase64(sha256(key.publicKeySpki))
  }
}

/** A key held in a KMS (cosign --key hashivault://… / awskms://…): its
 * public key is fetched once, every signature is a KMS call. */
export async function createKmsRunSigner(
  uri: string,
  ctx: KmsContext
): Promise<RunSigner> {
  const signer = await createKmsSigner(uri, ctx)
  return {
    key: signer,
    sign: data => signer.sign(data),
    verifierPem: signer.publicKeyPem,
    keyHint: toBase64(sha256(signer.publicKeySpki))
  }
}

export interface KeylessSignerOptions {
  fulcioUrl: string
  /** May still be loading: it is needed only once Fulcio has answered. */
  trust: TrustMaterial | Promise<TrustMaterial>
  http: HttpClient
  identity: IdentityProvider
  logger: Logger
  now: () => Date
  /** Settles before the certificate request goes out (push permission). */
  beforeCertificate?: Promise<unknown>
}

export async function createKeylessSigner(
  o: KeylessSignerOptions
): Promise<RunSigner> {
  let token: string
  try {
    token = await o.identity.getToken()
  } catch (e) {
    // The token source failed, not Fulcio: said as such (signImages passes
    // on an error that already says nothing was pushed, unprefixed).
    if (!(e instanceof AppError)) throw e
    throw new SignError(
      e.code,
      `${e.message}; no certificate was requested and nothing was pushed`,
      { cause: e, ...(e.remedy ? { remedy: e.remedy } : {}) }
    )
  }
  const claims = decodeJwtClaims(token)
  checkTokenClaims(claims, { now: o.now() })
  const challenge = challengeClaim(claims)
  const key = generateEphemeralKey()
  const proof = key.sign(utf8(challenge))
  await o.beforeCertificate
  const fulcio = new FulcioClient({ baseUrl: o.fulcioUrl, http: o.http })
  const { chainPem } = await fulcio.createSigningCertificate({
    identityToken: token,
    publicKeyPem: key.publicKeyPem,
    proofOfPossession: proof
  })
  const blocks = chainPem
    .flatMap(p => parsePemBlocks(p))
    .filter(b => b.label === 'CERTIFICATE')
  const leaf = blocks[0]
  if (!leaf) {
    throw new SignError(
      'FULCIO_RESPONSE_INVALID',
      `Fulcio at ${o.fulcioUrl} returned no certificate`
    )
  }
  const parsed = parseCertificate(leaf.der)
  if (!equalBytes(parsed.publicKeySpki, key.publicKeySpki)) {
    throw new SignError(
      'FULCIO_RESPONSE_INVALID',
      `Fulcio at ${o.fulcioUrl} returned a certificate for another key`
    )
  }
  // Check what Fulcio gave us before we sign anything with it: the chain must
  // lead to a CA of the trusted root, and the SCT must come from a trusted CT log.
  const trust = await o.trust
  try {
    const issuer = verifyCertificateChain(leaf.der, trust, parsed.notBefore)
    // No CT log in the trusted root (a private Fulcio without CT): no SCT to check.
    if (trust.ctlogs.length > 0) verifySCTs(parsed, issuer, trust, 1)
    else
      o.logger.warn(
        "the trusted root lists no CT log: the certificate's SCT is not checked"
      )
  } catch (e) {
    throw new SignError(
      'FULCIO_CERTIFICATE_UNTRUSTED',
      `the certificate from ${o.fulcioUrl} does not verify against the trusted root: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        remedy:
          'When using a private Fulcio, pass its trusted_root.json with the "trusted-root" input (--trusted-root).'
      }
    )
  }
  const subject = parsed.subjectAlternativeName ?? ''
  const issuer = parsed.fulcio.issuer ?? ''
  o.logger.info(`certificate identity: ${subject} (issuer ${issuer})`)
  const leafPem = chainPem[0] ?? ''
  // GitHub: repository_visibility; GitLab: project_visibility.
  const visibility = claims.repository_visibility ?? claims.project_visibility
  return {
    ...(typeof visibility === 'string' ? { visibility } : {}),
    key,
    sign: data => Promise.resolve().then(() => key.sign(data)),
    verifierPem: leafPem,
    certificate: {
      leafPem,
      leafDer: leaf.der,
      chainPem: chainPem.slice(1).join(''),
      parsed
    },
    identity: { subject, issuer },
    keyHint: toBase64(sha256(key.publicKeySpki))
  }
}
