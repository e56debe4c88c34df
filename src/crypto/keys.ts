// Signing keys: the ephemeral P-256 key of keyless signing (noble, RFC 6979,
// low-S) and imported private keys (PKCS#8 / SEC1 PEM). Knows nothing of
// Fulcio, Rekor or cosign's key-file encryption (see cosign-key.ts).
// Algorithms: cosign pkg/cosign/keys.go SupportedKeyDetails (spec §7.3).

import {
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  type ECDH,
  type KeyObject
} from 'node:crypto'
import {
  bytesToNumberBE,
  createHmacDrbg,
  numberToBytesBE
} from '@noble/curves/utils.js'
import {
  concatBytes,
  fromBase64,
  toPem,
  type HashAlgorithm
} from '../util/index.ts'
import { KeyError } from './errors.ts'

export type SigningAlgorithm =
  | 'ECDSA_P256_SHA256'
  | 'ECDSA_P384_SHA384'
  | 'ECDSA_P521_SHA512'
  | 'RSA_PKCS1V15_SHA256'

/** A private key that never leaves this object. */
export interface SigningKey {
  readonly algorithm: SigningAlgorithm
  /** The digest the signature scheme uses (also the hashedrekord hash). */
  readonly hash: HashAlgorithm
  /** DER SubjectPublicKeyInfo */
  readonly publicKeySpki: Uint8Array
  /** PEM `PUBLIC KEY` (Go style: 64-char lines, trailing newline) */
  readonly publicKeyPem: string
  /** DER (ASN.1) signature over `data`; hashes internally. */
  sign(data: Uint8Array): Uint8Array
}

// SubjectPublicKeyInfo prefix for an uncompressed P-256 point:
// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused) }
const P256_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
  0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00
])

// The order n of the P-256 group (SEC 2 §2.4.2). Scalar arithmetic mod n
// is done here rather than through noble's curve object, whose module
// initialisation (all NIST curves) would cost every run ~15 ms.
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
const HALF_N = N >> 1n
const mod = (a: bigint): bigint => ((a % N) + N) % N

/** a⁻¹ mod n (extended Euclid; n is prime and 0 < a < n). */
function invert(a: bigint): bigint {
  let [r0, r1] = [N, mod(a)]
  let [t0, t1] = [0n, 1n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[t0, t1] = [t1, t0 - q * t1]
  }
  if (r0 !== 1n) throw new Error('not invertible')
  return mod(t0)
}

/** A uniformly random scalar in [1, n-1]. */
function randomScalar(): Uint8Array {
  for (;;) {
    const b = new Uint8Array(randomBytes(32))
    const d = bytesToNumberBE(b)
    if (d > 0n && d < N) return b
  }
}

// RFC 6979 §3.2 HMAC-DRBG (noble's), HMAC-SHA-256 from node:crypto.
const drbg = createHmacDrbg<{ r: bigint; s: bigint }>(
  32,
  32,
  (key: Uint8Array, msg: Uint8Array) =>
    Uint8Array.from(createHmac('sha256', key).update(msg).digest())
)

/** Minimal DER INTEGER of a non-negative bigint. */
function derInteger(n: bigint): Uint8Array {
  let bytes: Uint8Array = numberToBytesBE(n, 32)
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  bytes = bytes.subarray(i)
  const pad = (bytes[0] ?? 0) & 0x80 ? Uint8Array.of(0) : new Uint8Array(0)
  return concatBytes(Uint8Array.of(0x02, pad.length + bytes.length), pad, bytes)
}

function derSignature(r: bigint, s: bigint): Uint8Array {
  const body = concatBytes(derInteger(r), derInteger(s))
  return concatBytes(Uint8Array.of(0x30, body.length), body)
}

/**
 * P-256 ECDSA, deterministic (RFC 6979) and low-S, byte-for-byte what noble's
 * `p256.sign(msg, key, { format: 'der' })` returns (a unit test holds them
 * equal). The nonce comes from noble's HMAC-DRBG and the scalar arithmetic
 * mod n is ours; only the point multiplication k·G is delegated to
 * OpenSSL (via ECDH), because noble builds a ~40 ms base-point table on first
 * use, which would dominate a one-shot CLI or action run.
 */
class P256Key implements SigningKey {
  readonly algorithm = 'ECDSA_P256_SHA256' as const
  readonly hash = 'sha256' as const
  readonly publicKeySpki: Uint8Array
  readonly publicKeyPem: string
  readonly #secret: Uint8Array
  readonly #d: bigint
  readonly #ecdh: ECDH

  constructor(secret: Uint8Array) {
    this.#secret = Uint8Array.from(secret)
    this.#d = bytesToNumberBE(this.#secret)
    if (this.#d <= 0n || this.#d >= N) {
      throw new KeyError('KEY_INVALID', 'P-256 private key out of range')
    }
    this.#ecdh = createECDH('prime256v1')
    this.#ecdh.setPrivateKey(this.#secret)
    const point = new Uint8Array(this.#ecdh.getPublicKey())
    this.publicKeySpki = concatBytes(P256_SPKI_PREFIX, point)
    this.publicKeyPem = toPem('PUBLIC KEY', this.publicKeySpki)
  }

  sign(data: Uint8Array): Uint8Array {
    const h = createHash('sha256').update(data).digest()
    // bits2int(h) mod n; for P-256 with SHA-256 the lengths match.
    const e = mod(bytesToNumberBE(h))
    const seed = concatBytes(this.#secret, numberToBytesBE(e, 32))
    const kG = createECDH('prime256v1')
    const { r, s } = drbg(seed, kBytes => {
      const k = bytesToNumberBE(kBytes)
      if (k <= 0n || k >= N) return undefined
      kG.setPrivateKey(kBytes)
      const x = bytesToNumberBE(kG.getPublicKey().subarray(1, 33))
      const r = mod(x)
      if (r === 0n) return undefined
      const s = mod(invert(k) * (e + r * this.#d))
      if (s === 0n) return undefined
      return { r, s: s > HALF_N ? N - s : s }
    })
    return derSignature(r, s)
  }

  toJSON(): object {
    return { algorithm: this.algorithm, publicKeyPem: this.publicKeyPem }
  }
}

/** P-384, P-521 and RSA keys sign through node:crypto (OpenSSL). */
class NodeKey implements SigningKey {
  readonly algorithm: SigningAlgorithm
  readonly hash: HashAlgorithm
  readonly publicKeySpki: Uint8Array
  readonly publicKeyPem: string
  readonly #key: KeyObject

  constructor(key: KeyObject, algorithm: SigningAlgorithm) {
    this.#key = key
    this.algorithm = algorithm
    this.hash = hashOf(algorithm)
    this.publicKeySpki = new Uint8Array(
      createPublicKey(key).export({ type: 'spki', format: 'der' })
    )
    this.publicKeyPem = toPem('PUBLIC KEY', this.publicKeySpki)
  }

  sign(data: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(this.hash, data, this.#key))
  }

  toJSON(): object {
    return { algorithm: this.algorithm, publicKeyPem: this.publicKeyPem }
  }
}

function hashOf(algorithm: SigningAlgorithm): HashAlgorithm {
  switch (algorithm) {
    case 'ECDSA_P384_SHA384':
      return 'sha384'
    case 'ECDSA_P521_SHA512':
      return 'sha512'
    default:
      return 'sha256'
  }
}

/** A fresh P-256 key for one keyless signing session. */
export function generateEphemeralKey(): SigningKey {
  return new P256Key(randomScalar())
}

/**
 * Wraps a private `KeyObject` as a SigningKey, enforcing cosign's algorithm
 * list: ECDSA P-256/384/521 and RSA 2048/3072/4096.
 */
export function signingKeyFromKeyObject(key: KeyObject): SigningKey {
  if (key.type !== 'private') {
    throw new KeyError(
      'KEY_INVALID',
      'Expected a private key, got a public key'
    )
  }
  const details = key.asymmetricKeyDetails ?? {}
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve
      if (curve === 'prime256v1') {
        const jwk = key.export({ format: 'jwk' })
        if (typeof jwk.d !== 'string') {
          throw new KeyError('KEY_INVALID', 'The EC private key has no scalar')
        }
        return new P256Key(fromBase64(jwk.d))
      }
      if (curve === 'secp384r1') return new NodeKey(key, 'ECDSA_P384_SHA384')
      if (curve === 'secp521r1') return new NodeKey(key, 'ECDSA_P521_SHA512')
      throw new KeyError(
        'KEY_UNSUPPORTED',
        `ECDSA curve ${curve ?? 'unknown'} is not supported`,
        {
          remedy: 'Use a P-256, P-384 or P-521 key (cosign generate-key-pair).'
        }
      )
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0
      if (bits === 2048 || bits === 3072 || bits === 4096) {
        return new NodeKey(key, 'RSA_PKCS1V15_SHA256')
      }
      throw new KeyError(
        'KEY_UNSUPPORTED',
        `RSA key size ${bits} is not supported`,
        { remedy: 'Use an RSA key of 2048, 3072 or 4096 bits, or P-256.' }
      )
    }
    default:
      throw new KeyError(
        'KEY_UNSUPPORTED',
        `Key type ${key.asymmetricKeyType ?? 'unknown'} is not supported for signing`,
        { remedy: 'Use an ECDSA P-256 key (the cosign default).' }
      )
  }
}

/** PKCS#8 DER (what cosign encrypts) → SigningKey. */
export function signingKeyFromPkcs8(der: Uint8Array): SigningKey {
  let key: KeyObject
  try {
    key = createPrivateKey({
      key: Buffer.from(der),
      format: 'der',
      type: 'pkcs8'
    })
  } catch (e) {
    throw new KeyError('KEY_INVALID', 'The private key is not valid PKCS#8', {
      cause: e
    })
  }
  return signingKeyFromKeyObject(key)
}
