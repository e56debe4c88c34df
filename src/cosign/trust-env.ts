// cosign's trust variables: each replaces one kind of trust material of the
// TUF (or embedded) trusted root with the contents of a file, as cosign
// does when no --trusted-root is given (sigstore/cosign
// cmd/cosign/cli/verify/common.go SetTrustedMaterial, and the readers):
//   SIGSTORE_ROOT_FILE              Fulcio CAs: PEM certificates, self-signed
//                                   ones are roots, the others intermediates
//                                   (internal/pkg/cosign/fulcio/fulcioroots);
//   SIGSTORE_REKOR_PUBLIC_KEY       the Rekor log key, PEM (pkg/cosign/tlog.go
//                                   GetRekorPubs);
//   SIGSTORE_CT_LOG_PUBLIC_KEY_FILE the CT log key, PEM or DER
//                                   (pkg/cosign/ctlog.go GetCTLogPubs);
//   SIGSTORE_TSA_CERTIFICATE_FILE   the TSA chain, PEM: one leaf, any
//                                   intermediates, at least one root
//                                   (pkg/cosign/tsa.go GetTSACerts).
// The material has no validity window (always valid, as in cosign). Keys
// get log IDs the way Sigstore makes them: SHA-256 of the DER public key.
// An unreadable or malformed file fails the run: never trust something else
// than the user said.

import { X509Certificate, createHash, createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import {
  parseTrustedRoot,
  replaceAuthorities,
  type TrustMaterial
} from '../sigstore/index.ts'
import { InputError, parsePemBlocks, toBase64 } from '../util/index.ts'

export const TRUST_VARIABLES = [
  'SIGSTORE_ROOT_FILE',
  'SIGSTORE_REKOR_PUBLIC_KEY',
  'SIGSTORE_CT_LOG_PUBLIC_KEY_FILE',
  'SIGSTORE_TSA_CERTIFICATE_FILE'
] as const

export type TrustVariable = (typeof TRUST_VARIABLES)[number]

const ALWAYS = { start: '1970-01-01T00:00:00Z' }
const TRUSTED_ROOT_MEDIA_TYPE =
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1'

function invalid(v: TrustVariable, path: string, why: string): InputError {
  return new InputError(
    'INPUT_TRUST_VARIABLE_INVALID',
    `${v}=${JSON.stringify(path)}: ${why}`,
    {
      remedy: `Point ${v} at the ${describe[v]}, or unset it to use the trusted root from TUF.`
    }
  )
}

const describe: Record<TrustVariable, string> = {
  SIGSTORE_ROOT_FILE: 'PEM file of the Fulcio root and intermediate CAs',
  SIGSTORE_REKOR_PUBLIC_KEY: 'PEM file of the Rekor public key',
  SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: 'PEM or DER file of the CT log public key',
  SIGSTORE_TSA_CERTIFICATE_FILE:
    'PEM file of the TSA chain (leaf, intermediates, root)'
}

function pemCertificates(
  text: string,
  v: TrustVariable,
  path: string
): X509Certificate[] {
  let blocks
  try {
    blocks = parsePemBlocks(text).filter(b => b.label === 'CERTIFICATE')
  } catch (e) {
    throw invalid(v, path, `is not valid PEM: ${errorText(e)}`)
  }
  if (blocks.length === 0) throw invalid(v, path, 'holds no PEM certificate')
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b.der)
    } catch (e) {
      throw invalid(
        v,
        path,
        `certificate ${i + 1} does not parse: ${errorText(e)}`
      )
    }
  })
}

/** An error's message, for the coded errors below. */
const errorText = (e: unknown): string =>
  e instanceof Error ? e.message : String(e)

const selfSigned = (c: X509Certificate): boolean =>
  c.subject === c.issuer && c.checkIssued(c) && c.verify(c.publicKey)
const issuedBy = (c: X509Certificate, by: X509Certificate): boolean =>
  c.checkIssued(by) && c.verify(by.publicKey)
const der = (c: X509Certificate): string => toBase64(c.raw)

/** Each certificate's chain up to its root, nearest first; the chains that
 * reach no self-signed root are left out (cosign's pools would not verify
 * them either). */
function chainsToRoots(certs: X509Certificate[]): X509Certificate[][] {
  const out: X509Certificate[][] = []
  for (const c of certs) {
    const chain = [c]
    while (
      !selfSigned(chain[chain.length - 1]!) &&
      chain.length <= certs.length
    ) {
      const top = chain[chain.length - 1]!
      const parent = certs.find(p => p !== top && issuedBy(top, p))
      if (!parent || chain.includes(parent)) break
      chain.push(parent)
    }
    if (selfSigned(chain[chain.length - 1]!)) out.push(chain)
  }
  return out
}

function publicKeyJson(
  bytes: Buffer,
  v: TrustVariable,
  path: string,
  baseUrl: string
): object {
  let key
  try {
    key = bytes.includes('-----BEGIN')
      ? createPublicKey(bytes.toString('utf8'))
      : createPublicKey({ key: bytes, format: 'der', type: 'spki' })
  } catch (e) {
    throw invalid(v, path, `is not a public key: ${errorText(e)}`)
  }
  if (key.type !== 'public') throw invalid(v, path, 'is not a public key')
  const spki = key.export({ format: 'der', type: 'spki' })
  const curve = key.asymmetricKeyDetails?.namedCurve
  const keyDetails =
    key.asymmetricKeyType === 'ed25519'
      ? 'PKIX_ED25519'
      : key.asymmetricKeyType === 'rsa'
        ? 'PKIX_RSA_PKCS1V15_2048_SHA256'
        : curve === 'secp384r1'
          ? 'PKIX_ECDSA_P384_SHA_384'
          : curve === 'secp521r1'
            ? 'PKIX_ECDSA_P521_SHA_512'
            : 'PKIX_ECDSA_P256_SHA_256'
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: toBase64(spki), keyDetails, validFor: ALWAYS },
    logId: { keyId: toBase64(createHash('sha256').update(spki).digest()) }
  }
}

export interface TrustVariables {
  /** The variables that are set, in TRUST_VARIABLES order. */
  names: TrustVariable[]
  /** `base` with what the variables name in place of its parts. */
  apply(base: TrustMaterial): TrustMaterial
}

/**
 * Reads the files cosign's trust variables name; undefined when none is
 * set. `rekorUrl` is the log the Rekor key belongs to (its checkpoints are
 * signed under that host name).
 */
export async function readTrustVariables(
  env: NodeJS.ProcessEnv,
  rekorUrl: string
): Promise<TrustVariables | undefined> {
  const names = TRUST_VARIABLES.filter(v => env[v]?.trim())
  if (names.length === 0) return undefined
  const files = new Map<TrustVariable, { path: string; bytes: Buffer }>()
  for (const v of names) {
    const path = env[v]!.trim()
    try {
      files.set(v, { path, bytes: await readFile(path) })
    } catch (e) {
      throw invalid(v, path, `cannot be read: ${errorText(e)}`)
    }
  }
  const json: Record<string, unknown> = {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: []
  }
  const fulcio = files.get('SIGSTORE_ROOT_FILE')
  if (fulcio) {
    const v = 'SIGSTORE_ROOT_FILE'
    const certs = pemCertificates(fulcio.bytes.toString('utf8'), v, fulcio.path)
    const chains = chainsToRoots(certs)
    if (chains.length === 0)
      throw invalid(v, fulcio.path, 'holds no self-signed root certificate')
    json['certificateAuthorities'] = chains.map(chain => ({
      subject: {},
      uri: '',
      certChain: { certificates: chain.map(c => ({ rawBytes: der(c) })) },
      validFor: ALWAYS
    }))
  }
  const tsa = files.get('SIGSTORE_TSA_CERTIFICATE_FILE')
  if (tsa) {
    const v = 'SIGSTORE_TSA_CERTIFICATE_FILE'
    const certs = pemCertificates(tsa.bytes.toString('utf8'), v, tsa.path)
    const leaves = certs.filter(c => !c.ca)
    if (leaves.length !== 1)
      throw invalid(
        v,
        tsa.path,
        `must hold exactly one leaf (non-CA) certificate, not ${leaves.length}`
      )
    const chain = chainsToRoots(certs).find(ch => ch[0] === leaves[0])
    if (!chain)
      throw invalid(
        v,
        tsa.path,
        'the leaf does not chain to a root in the file'
      )
    json['timestampAuthorities'] = [
      {
        subject: {},
        uri: '',
        certChain: { certificates: chain.map(c => ({ rawBytes: der(c) })) },
        validFor: ALWAYS
      }
    ]
  }
  const rekor = files.get('SIGSTORE_REKOR_PUBLIC_KEY')
  if (rekor) {
    json['tlogs'] = [
      publicKeyJson(
        rekor.bytes,
        'SIGSTORE_REKOR_PUBLIC_KEY',
        rekor.path,
        rekorUrl
      )
    ]
  }
  const ct = files.get('SIGSTORE_CT_LOG_PUBLIC_KEY_FILE')
  if (ct) {
    json['ctlogs'] = [
      publicKeyJson(
        ct.bytes,
        'SIGSTORE_CT_LOG_PUBLIC_KEY_FILE',
        ct.path,
        'https://ctlog.invalid'
      )
    ]
  }
  let parsed: TrustMaterial
  try {
    parsed = parseTrustedRoot(json)
  } catch (e) {
    throw new InputError(
      'INPUT_TRUST_VARIABLE_INVALID',
      `${names.join(', ')}: ${errorText(e)}`,
      { cause: e }
    )
  }
  return {
    names,
    apply: base =>
      replaceAuthorities(base, {
        ...(fulcio
          ? { certificateAuthorities: parsed.certificateAuthorities }
          : {}),
        ...(rekor ? { tlogs: parsed.tlogs } : {}),
        ...(ct ? { ctlogs: parsed.ctlogs } : {}),
        ...(tsa ? { timestampAuthorities: parsed.timestampAuthorities } : {})
      })
  }
}
