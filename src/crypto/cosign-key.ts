// cosign key files: `ENCRYPTED SIGSTORE PRIVATE KEY` (and the older
// `ENCRYPTED COSIGN PRIVATE KEY`) = PEM of JSON {kdf: scrypt, cipher:
// nacl/secretbox, ciphertext} over PKCS#8 DER; plus plain PKCS#8 / SEC1 PEM.
// Knows nothing of where the password comes from (adapters read
// COSIGN_PASSWORD). Spec: cosign-spec.md §7.1; sigstore/cosign pkg/cosign/keys.go,
// secure-systems-lab/go-securesystemslib encrypted/encrypted.go.

import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  type KeyObject
} from 'node:crypto'
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js'
import {
  fromBase64,
  fromUtf8,
  isBase64,
  parsePemBlocks,
  toBase64,
  toPem,
  utf8
} from '../util/index.ts'
import { KeyError } from './errors.ts'
import {
  signingKeyFromKeyObject,
  signingKeyFromPkcs8,
  type SigningKey
} from './keys.ts'

export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY'
export const COSIGN_PRIVATE_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY'

// go-securesystemslib accepts exactly these scrypt settings on decryption.
const ALLOWED_SCRYPT = new Set(['32768,8,1', '65536,8,1', '131072,8,1'])
const NEW_KEY_SCRYPT = { N: 65536, r: 8, p: 1 }
const SALT_BYTES = 32
const NONCE_BYTES = 24
const KEY_BYTES = 32

const PASSWORD_REMEDY =
  'Check the password: set COSIGN_PASSWORD to the password the key was ' +
  'generated with (an empty string if it has none).'

interface EncryptedKeyJson {
  kdf: {
    name: string
    params: { N: number; r: number; p: number }
    salt: string
  }
  cipher: { name: string; nonce: string }
  ciphertext: string
}

/**
 * Loads a private key from PEM: cosign's encrypted formats (needs the
 * password; `undefined` is tried as the empty password, as cosign does with an
 * empty COSIGN_PASSWORD), PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
 */
export function parsePrivateKey(pem: string, password?: string): SigningKey {
  const blocks = parsePemBlocks(pem)
  if (blocks.length === 0) {
    throw new KeyError('KEY_INVALID', 'No PEM block found in the private key', {
      remedy:
        'Pass the contents of cosign.key (or a PKCS#8 / EC PRIVATE KEY PEM).'
    })
  }
  if (blocks.length > 1) {
    throw new KeyError(
      'KEY_INVALID',
      `Expected one PEM block in the private key, found ${blocks.length}`
    )
  }
  const block = blocks[0]!
  switch (block.label) {
    case SIGSTORE_PRIVATE_KEY_PEM_TYPE:
    case COSIGN_PRIVATE_KEY_PEM_TYPE:
      return signingKeyFromPkcs8(decryptCosignKey(block.der, password))
    case 'PRIVATE KEY':
      return signingKeyFromPkcs8(block.der)
    case 'EC PRIVATE KEY':
    case 'RSA PRIVATE KEY': {
      let key: KeyObject
      try {
        key = createPrivateKey({
          key: Buffer.from(block.der),
          format: 'der',
          type: block.label === 'EC PRIVATE KEY' ? 'sec1' : 'pkcs1'
        })
      } catch (e) {
        throw new KeyError('KEY_INVALID', `The ${block.label} is not valid`, {
          cause: e
        })
      }
      return signingKeyFromKeyObject(key)
    }
    default:
      throw new KeyError(
        'KEY_INVALID',
        `Unsupported PEM block "${block.label}" in the private key`,
        {
          remedy:
            'Expected ENCRYPTED SIGSTORE PRIVATE KEY, ENCRYPTED COSIGN ' +
            'PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY.'
        }
      )
  }
}

/** Decrypts the JSON body of a cosign key PEM to PKCS#8 DER. */
export function decryptCosignKey(
  body: Uint8Array,
  password: string | undefined
): Uint8Array {
  const doc = parseEncryptedJson(body)
  const { N, r, p } = doc.kdf.params
  if (!ALLOWED_SCRYPT.has(`${N},${r},${p}`)) {
    throw new KeyError(
      'KEY_UNSUPPORTED',
      `Unsupported scrypt parameters N=${N} r=${r} p=${p} in the key file`,
      { remedy: 'Regenerate the key with cosign generate-key-pair.' }
    )
  }
  const salt = fromBase64(doc.kdf.salt)
  const nonce = fromBase64(doc.cipher.nonce)
  const ciphertext = fromBase64(doc.ciphertext)
  if (nonce.length !== NONCE_BYTES || ciphertext.length < 16) {
    throw new KeyError(
      'KEY_INVALID',
      'The encrypted key has a bad nonce or ciphertext'
    )
  }
  const key = scrypt(password ?? '', salt, N, r, p)
  try {
    return xsalsa20poly1305(key, nonce).decrypt(ciphertext)
  } catch (e) {
    throw new KeyError(
      'KEY_DECRYPTION_FAILED',
      password === undefined
        ? 'Could not decrypt the private key: it needs a password and none was given'
        : 'Could not decrypt the private key: wrong password or corrupted key file',
      { cause: e, remedy: PASSWORD_REMEDY }
    )
  } finally {
    key.fill(0)
  }
}

function parseEncryptedJson(body: Uint8Array): EncryptedKeyJson {
  let doc: unknown
  try {
    doc = JSON.parse(fromUtf8(body))
  } catch (e) {
    throw new KeyError('KEY_INVALID', 'The encrypted key is not cosign JSON', {
      cause: e
    })
  }
  const d = doc as Partial<EncryptedKeyJson> | null
  const params = d?.kdf?.params
  const ok =
    d?.kdf?.name === 'scrypt' &&
    d.cipher?.name === 'nacl/secretbox' &&
    params !== undefined &&
    Number.isSafeInteger(params.N) &&
    Number.isSafeInteger(params.r) &&
    Number.isSafeInteger(params.p) &&
    typeof d.kdf.salt === 'string' &&
    isBase64(d.kdf.salt) &&
    typeof d.cipher.nonce === 'string' &&
    isBase64(d.cipher.nonce) &&
    typeof d.ciphertext === 'string' &&
    isBase64(d.ciphertext)
  if (!ok) {
    throw new KeyError(
      'KEY_UNSUPPORTED',
      'The encrypted key must use kdf "scrypt" and cipher "nacl/secretbox"'
    )
  }
  return d as EncryptedKeyJson
}

function scrypt(
  password: string,
  salt: Uint8Array,
  N: number,
  r: number,
  p: number
): Uint8Array {
  // Node's default maxmem (32 MiB) is below 128·N·r for N ≥ 32768.
  const maxmem = 128 * N * r * p * 2
  return new Uint8Array(
    scryptSync(utf8(password), salt, KEY_BYTES, { N, r, p, maxmem })
  )
}

export interface GeneratedKeyPair {
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM, readable by cosign */
  privateKeyPem: string
  /** `PUBLIC KEY` PEM (cosign.pub) */
  publicKeyPem: string
}

/**
 * What `cosign generate-key-pair` writes: a P-256 key as PKCS#8, encrypted
 * with scrypt(N=65536, r=8, p=1, 32-byte salt) + secretbox (24-byte nonce).
 */
export function generateKeyPair(password: string): GeneratedKeyPair {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pkcs8 = new Uint8Array(
    privateKey.export({ type: 'pkcs8', format: 'der' })
  )
  try {
    const signer = signingKeyFromKeyObject(privateKey)
    return {
      privateKeyPem: encryptCosignKey(pkcs8, password),
      publicKeyPem: signer.publicKeyPem
    }
  } finally {
    pkcs8.fill(0)
  }
}

/** PKCS#8 DER → `ENCRYPTED SIGSTORE PRIVATE KEY` PEM. */
export function encryptCosignKey(pkcs8: Uint8Array, password: string): string {
  const { N, r, p } = NEW_KEY_SCRYPT
  const salt = new Uint8Array(randomBytes(SALT_BYTES))
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
  const key = scrypt(password, salt, N, r, p)
  let ciphertext: Uint8Array
  try {
    ciphertext = xsalsa20poly1305(key, nonce).encrypt(pkcs8)
  } finally {
    key.fill(0)
  }
  // Field order follows go-securesystemslib's structs (kdf, cipher, ciphertext).
  const json: EncryptedKeyJson = {
    kdf: { name: 'scrypt', params: { N, r, p }, salt: toBase64(salt) },
    cipher: { name: 'nacl/secretbox', nonce: toBase64(nonce) },
    ciphertext: toBase64(ciphertext)
  }
  return toPem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, utf8(JSON.stringify(json)))
}
