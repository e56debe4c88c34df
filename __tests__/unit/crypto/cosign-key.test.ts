import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  KeyError,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
  encryptCosignKey,
  generateKeyPair,
  parsePrivateKey,
  verifySignature
} from '../../../src/crypto/index.ts'
import {
  fromBase64,
  fromUtf8,
  parsePemBlocks,
  toBase64,
  toPem,
  utf8
} from '../../../src/util/index.ts'

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/keys/${name}`, import.meta.url), 'utf8')

// Public key of cosign's `pemsigstorekey` test vector (derived here; the
// decryption succeeding at all is the cross-check against cosign).
const COSIGN_VECTOR_PUB =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7z9gA/tqa9iHt/f9F3ulyVi4lwqU' +
  'LfHWfhG2mK4eyJ8LDcLstb+VVhxj3pkMjc3fNo+sSfiIY2NLR7c+DG1V4w=='

const dir = mkdtempSync(join(tmpdir(), 'sigil-cosign-key-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function jsonOf(pem: string): Record<string, any> {
  return JSON.parse(fromUtf8(parsePemBlocks(pem)[0]!.der))
}

/** Re-wrap a key file's JSON after editing it. */
function rewrap(pem: string, edit: (j: Record<string, any>) => void): string {
  const [block] = parsePemBlocks(pem)
  const j = jsonOf(pem)
  edit(j)
  return toPem(block!.label, utf8(JSON.stringify(j)))
}

describe('parsePrivateKey (cosign encrypted keys)', () => {
  it("decrypts cosign's ENCRYPTED SIGSTORE PRIVATE KEY test vector (password hello)", () => {
    const key = parsePrivateKey(fixture('cosign-sigstore-p256.key'), 'hello')
    assert.equal(key.algorithm, 'ECDSA_P256_SHA256')
    assert.equal(toBase64(key.publicKeySpki), COSIGN_VECTOR_PUB)
    const data = utf8('signed with the cosign vector')
    assert.ok(verifySignature(key.publicKeyPem, data, key.sign(data)))
  })

  it('decrypts the older ENCRYPTED COSIGN PRIVATE KEY label', () => {
    const key = parsePrivateKey(fixture('cosign-legacy-p256.key'), 'hello')
    assert.equal(key.algorithm, 'ECDSA_P256_SHA256')
  })

  it('rejects a decrypted plaintext that is not PKCS#8, as cosign does', () => {
    assert.throws(
      () => parsePrivateKey(fixture('cosign-legacy-ec-sec1.key'), 'hello'),
      {
        code: 'KEY_INVALID'
      }
    )
  })

  it('wrong or missing password → KEY_DECRYPTION_FAILED naming COSIGN_PASSWORD', () => {
    for (const pw of ['Tr0ub4dor-x9', '', undefined]) {
      assert.throws(
        () => parsePrivateKey(fixture('cosign-sigstore-p256.key'), pw),
        (e: unknown) => {
          assert.ok(e instanceof KeyError)
          assert.equal(e.code, 'KEY_DECRYPTION_FAILED')
          assert.match(e.remedy ?? '', /COSIGN_PASSWORD/)
          if (pw) assert.ok(!e.message.includes(pw))
          return true
        }
      )
    }
  })

  it("rejects scrypt parameters outside cosign's allowed set", () => {
    for (const [N, r, p] of [
      [16384, 8, 1],
      [32768, 16, 1],
      [65536, 8, 2],
      [1 << 20, 8, 1]
    ]) {
      const pem = rewrap(fixture('cosign-sigstore-p256.key'), j => {
        j.kdf.params = { N, r, p }
      })
      assert.throws(() => parsePrivateKey(pem, 'hello'), {
        code: 'KEY_UNSUPPORTED'
      })
    }
  })

  it('rejects other KDFs / ciphers and malformed JSON', () => {
    const base = fixture('cosign-sigstore-p256.key')
    assert.throws(
      () =>
        parsePrivateKey(
          rewrap(base, j => (j.kdf.name = 'pbkdf2')),
          'hello'
        ),
      { code: 'KEY_UNSUPPORTED' }
    )
    assert.throws(
      () =>
        parsePrivateKey(
          rewrap(base, j => (j.cipher.name = 'aes-gcm')),
          'hello'
        ),
      { code: 'KEY_UNSUPPORTED' }
    )
    assert.throws(
      () =>
        parsePrivateKey(
          toPem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, utf8('{not json')),
          'hello'
        ),
      { code: 'KEY_INVALID' }
    )
  })

  it('detects a tampered ciphertext', () => {
    const pem = rewrap(fixture('cosign-sigstore-p256.key'), j => {
      const ct = fromBase64(j.ciphertext)
      ct[ct.length - 1]! ^= 1
      j.ciphertext = toBase64(ct)
    })
    assert.throws(() => parsePrivateKey(pem, 'hello'), {
      code: 'KEY_DECRYPTION_FAILED'
    })
  })
})

describe('generateKeyPair', () => {
  it("writes exactly cosign's format", () => {
    const { privateKeyPem, publicKeyPem } = generateKeyPair('s3cret')
    const lines = privateKeyPem.trimEnd().split('\n')
    assert.equal(lines[0], '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----')
    assert.equal(lines.at(-1), '-----END ENCRYPTED SIGSTORE PRIVATE KEY-----')
    for (const l of lines.slice(1, -2)) assert.equal(l.length, 64)
    assert.ok(privateKeyPem.endsWith('\n'))
    assert.ok(!privateKeyPem.includes('s3cret'))
    const j = jsonOf(privateKeyPem)
    assert.deepEqual(Object.keys(j), ['kdf', 'cipher', 'ciphertext'])
    assert.deepEqual(Object.keys(j.kdf), ['name', 'params', 'salt'])
    assert.deepEqual(j.kdf.params, { N: 65536, r: 8, p: 1 })
    assert.equal(j.kdf.name, 'scrypt')
    assert.equal(fromBase64(j.kdf.salt).length, 32)
    assert.equal(j.cipher.name, 'nacl/secretbox')
    assert.equal(fromBase64(j.cipher.nonce).length, 24)
    // 16-byte Poly1305 tag + 138-byte PKCS#8 P-256 key (as Go writes it)
    assert.equal(fromBase64(j.ciphertext).length, 16 + 138)
    assert.match(publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/)
  })

  it('round-trips generate → encrypt → parse → sign → openssl verify', () => {
    const { privateKeyPem, publicKeyPem } = generateKeyPair('pw')
    const key = parsePrivateKey(privateKeyPem, 'pw')
    assert.equal(key.publicKeyPem, publicKeyPem)
    const data = utf8('{"critical":{}}')
    const files = {
      pub: join(dir, 'cosign.pub'),
      data: join(dir, 'payload'),
      sig: join(dir, 'payload.sig')
    }
    writeFileSync(files.pub, publicKeyPem)
    writeFileSync(files.data, data)
    writeFileSync(files.sig, key.sign(data))
    const out = execFileSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        files.pub,
        '-signature',
        files.sig,
        files.data
      ],
      { encoding: 'utf8' }
    )
    assert.equal(out.trim(), 'Verified OK')
    assert.throws(() => parsePrivateKey(privateKeyPem, 'PW'), {
      code: 'KEY_DECRYPTION_FAILED'
    })
  })

  it('allows the empty password (cosign with COSIGN_PASSWORD="")', () => {
    const { privateKeyPem } = generateKeyPair('')
    assert.equal(
      parsePrivateKey(privateKeyPem, '').algorithm,
      'ECDSA_P256_SHA256'
    )
    assert.equal(parsePrivateKey(privateKeyPem).algorithm, 'ECDSA_P256_SHA256')
  })

  it('encrypts with fresh salt and nonce each time', () => {
    const pkcs8 = new Uint8Array(138).fill(1)
    const a = jsonOf(encryptCosignKey(pkcs8, 'x'))
    const b = jsonOf(encryptCosignKey(pkcs8, 'x'))
    assert.notEqual(a.kdf.salt, b.kdf.salt)
    assert.notEqual(a.cipher.nonce, b.cipher.nonce)
  })
})
