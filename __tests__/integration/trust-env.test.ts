// cosign's trust variables, as users set them for a private Sigstore without
// a trusted_root.json: SIGSTORE_ROOT_FILE (Fulcio CAs), SIGSTORE_REKOR_PUBLIC_KEY,
// SIGSTORE_CT_LOG_PUBLIC_KEY_FILE and SIGSTORE_TSA_CERTIFICATE_FILE replace
// those parts of the (here embedded public-good) trusted root. What the
// loopback stack signed verifies with them and without any --trusted-root,
// fails without them, and a bad file fails the run with a coded error.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  startWorld,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
let w: World
let files: Record<string, string>
let blob: string
let bundlePath: string

const pem = (label: string, b64: string): string =>
  `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`

before(async () => {
  w = await startWorld()
  const tr = w.stack.trustedRoot as unknown as {
    tlogs: { publicKey: { rawBytes: string } }[]
    ctlogs: { publicKey: { rawBytes: string } }[]
    certificateAuthorities: {
      certChain: { certificates: { rawBytes: string }[] }
    }[]
    timestampAuthorities: {
      certChain: { certificates: { rawBytes: string }[] }
    }[]
  }
  const write = (name: string, text: string): string => {
    const p = join(w.tmp, name)
    writeFileSync(p, text)
    return p
  }
  files = {
    SIGSTORE_ROOT_FILE: write(
      'fulcio.pem',
      tr.certificateAuthorities[0]!.certChain.certificates.map(c =>
        pem('CERTIFICATE', c.rawBytes)
      ).join('')
    ),
    SIGSTORE_REKOR_PUBLIC_KEY: write(
      'rekor.pub',
      pem('PUBLIC KEY', tr.tlogs[0]!.publicKey.rawBytes)
    ),
    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: write(
      'ctfe.der',
      '' // replaced below by DER bytes: cosign reads PEM or DER
    ),
    SIGSTORE_TSA_CERTIFICATE_FILE: write(
      'tsa.pem',
      tr.timestampAuthorities[0]!.certChain.certificates.map(c =>
        pem('CERTIFICATE', c.rawBytes)
      ).join('')
    )
  }
  writeFileSync(
    files['SIGSTORE_CT_LOG_PUBLIC_KEY_FILE']!,
    Buffer.from(tr.ctlogs[0]!.publicKey.rawBytes, 'base64')
  )
  // A blob signed by the loopback stack: Fulcio, Rekor v1, the TSA.
  blob = join(w.tmp, 'env-blob.txt')
  writeFileSync(blob, 'trust from the environment\n')
  bundlePath = join(w.tmp, 'env-blob.sigstore.json')
  const s = await execNode(
    CLI,
    [
      'sign-blob',
      '--fulcio-url',
      w.stack.fulcioUrl,
      '--rekor-url',
      w.stack.rekorUrl,
      '--timestamp-server-url',
      w.stack.tsaTimestampUrl,
      '--trusted-root',
      w.stack.trustedRootPath,
      '--bundle',
      bundlePath,
      blob
    ],
    { env: baseEnv() }
  )
  assert.equal(s.code, 0, s.stderr)
})
after(async () => {
  await w?.stop()
})

function baseEnv(): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: w.tmp,
    TUF_ROOT: join(w.tmp, 'tuf-empty'),
    SIGIL_TUF_OFFLINE: '1',
    SIGSTORE_ID_TOKEN: w.token
  }
}

const verifyBlob = (
  env: Record<string, string | undefined>,
  extra: string[] = []
) =>
  execNode(
    CLI,
    [
      'verify-blob',
      '--bundle',
      bundlePath,
      '--certificate-identity',
      GITHUB_SAN,
      '--certificate-oidc-issuer',
      GITHUB_ISSUER,
      '-d',
      ...extra,
      blob
    ],
    { env }
  )

test('the four variables replace the Fulcio CAs, Rekor key, CT log key and TSA chain: a private-stack signature verifies without a trusted root', async () => {
  const r = await verifyBlob({ ...baseEnv(), ...files }, [
    '--rekor-url',
    w.stack.rekorUrl
  ])
  assert.equal(r.code, 0, r.stderr)
  assert.match(
    r.stderr,
    /Trust: trusted root embedded in this build .*with the Fulcio CAs from SIGSTORE_ROOT_FILE=.*fulcio\.pem, the Rekor key from SIGSTORE_REKOR_PUBLIC_KEY=.*the CT log key from SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=.*the TSA chain from SIGSTORE_TSA_CERTIFICATE_FILE=/
  )
  // Without them, the embedded public-good root does not know the stack.
  const bare = await verifyBlob(baseEnv())
  assert.notEqual(bare.code, 0)
})

test('each variable replaces only its kind: without the Rekor key the entry is untrusted', async () => {
  const { SIGSTORE_REKOR_PUBLIC_KEY: _, ...rest } = files
  const r = await verifyBlob({ ...baseEnv(), ...rest })
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /log .* which the trusted root does not list/)
})

test('an explicit trusted root wins over the variables, as in cosign', async () => {
  const r = await verifyBlob(
    {
      ...baseEnv(),
      SIGSTORE_REKOR_PUBLIC_KEY: join(w.tmp, 'missing.pub')
    },
    ['--trusted-root', w.stack.trustedRootPath]
  )
  assert.equal(r.code, 0, r.stderr)
})

test('a missing or malformed file fails the run, naming the variable and what it must hold', async () => {
  const bad = join(w.tmp, 'not-a-key.pub')
  writeFileSync(bad, 'hello')
  for (const [v, path] of [
    ['SIGSTORE_REKOR_PUBLIC_KEY', join(w.tmp, 'missing.pub')],
    ['SIGSTORE_CT_LOG_PUBLIC_KEY_FILE', bad],
    ['SIGSTORE_ROOT_FILE', bad],
    ['SIGSTORE_TSA_CERTIFICATE_FILE', files['SIGSTORE_REKOR_PUBLIC_KEY']!]
  ] as const) {
    const r = await verifyBlob({ ...baseEnv(), [v]: path })
    assert.equal(r.code, 2, `${v}: ${r.stderr}`)
    assert.match(r.stderr, /INPUT_TRUST_VARIABLE_INVALID/)
    assert.match(r.stderr, new RegExp(`${v}=`))
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  }
})

test('--key as a URL (cosign.pub served over loopback http): fetched and used', async () => {
  const { createServer } = await import('node:http')
  const { writeKeyPair } = await import('../support/world.ts')
  const keys = writeKeyPair(w.tmp, 'url-pass', 'url')
  const server = createServer((_req, res) => res.end(keys.pubPem))
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const keyUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/cosign.pub`
  try {
    const signed = join(w.tmp, 'url-key.sigstore.json')
    const s = await execNode(
      CLI,
      [
        'sign-blob',
        '--key',
        keys.keyPath,
        '--rekor-url',
        w.stack.rekorUrl,
        '--trusted-root',
        w.stack.trustedRootPath,
        '--bundle',
        signed,
        blob
      ],
      { env: { ...baseEnv(), COSIGN_PASSWORD: 'url-pass' } }
    )
    assert.equal(s.code, 0, s.stderr)
    const v = await execNode(
      CLI,
      [
        'verify-blob',
        '--bundle',
        signed,
        '--key',
        keyUrl,
        '--trusted-root',
        w.stack.trustedRootPath,
        blob
      ],
      { env: baseEnv() }
    )
    assert.equal(v.code, 0, v.stderr)
  } finally {
    server.close()
  }
})
