// `attest --timestamp-server-url` on the real registry and the loopback
// Sigstore stack (TSA included): the legacy `.att` layer carries cosign's
// dev.sigstore.cosign/rfc3161timestamp annotation over the envelope bytes
// (the layer), judged by `openssl ts -verify` against the TSA chain of the
// trusted root; verify-attestation verifies it and rejects a timestamp that
// covers other bytes (TIMESTAMP_INVALID).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  startWorld,
  type World
} from '../support/world.ts'
import type { ImageManifest } from '../../src/oci/index.ts'
import { sha256Hex, utf8 } from '../../src/util/index.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
const ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp'
let w: World

before(async () => {
  w = await startWorld({ mode: 'htpasswd' })
})
after(async () => {
  await w?.stop()
})

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: w.tmp,
  ...extra
})
const reg = (): string[] => [
  '--registry-username',
  w.registry.username ?? '',
  '--registry-password',
  w.registry.password ?? ''
]

const pem = (b64: string): string =>
  `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`

/** `openssl ts -verify` of `tsr` over `data`, with the trusted root's TSA chain. */
function opensslTsVerify(tsr: Uint8Array, data: Uint8Array): string {
  const tsa = (
    w.stack.trustedRoot.timestampAuthorities[0] as {
      certChain: { certificates: { rawBytes: string }[] }
    }
  ).certChain.certificates.map(c => c.rawBytes)
  const dir = w.tmp
  writeFileSync(join(dir, 'tsa-int.pem'), pem(tsa[0] ?? ''))
  writeFileSync(join(dir, 'tsa-root.pem'), pem(tsa[1] ?? ''))
  writeFileSync(join(dir, 'att.tsr'), tsr)
  writeFileSync(join(dir, 'att-layer.json'), data)
  try {
    return execFileSync(
      'openssl',
      [
        'ts',
        '-verify',
        '-data',
        join(dir, 'att-layer.json'),
        '-in',
        join(dir, 'att.tsr'),
        '-CAfile',
        join(dir, 'tsa-root.pem'),
        '-untrusted',
        join(dir, 'tsa-int.pem')
      ],
      { stdio: 'pipe', encoding: 'utf8' }
    )
  } catch (e) {
    const r = e as { status?: number; stdout?: string; stderr?: string }
    return `exit ${r.status}: ${r.stdout ?? ''}${r.stderr ?? ''}`
  }
}

describe('attest with a TSA: the .att layer is timestamped as cosign does', () => {
  test('annotation over the envelope, openssl agrees; verify-attestation checks it; a timestamp of other bytes is TIMESTAMP_INVALID', async () => {
    const img = await freshImage(w, 'demo/att-timestamp')
    const predicate = join(w.tmp, 'pred.json')
    writeFileSync(predicate, JSON.stringify({ bomFormat: 'CycloneDX' }))
    const tsaBefore = w.stack.counts.tsa
    const r = await execNode(
      CLI,
      [
        'attest',
        '--predicate',
        predicate,
        '--type',
        'cyclonedx',
        '--format',
        'both',
        '--fulcio-url',
        w.stack.fulcioUrl,
        '--rekor-url',
        w.stack.rekorUrl,
        '--timestamp-server-url',
        w.stack.tsaTimestampUrl,
        '--trusted-root',
        w.stack.trustedRootPath,
        ...reg(),
        img.ref
      ],
      { env: env({ SIGSTORE_ID_TOKEN: w.token }) }
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(
      w.stack.counts.tsa - tsaBefore,
      2,
      'the signature (bundle) and the envelope (.att layer)'
    )

    const tag = `${img.digest.replace(':', '-')}.att`
    const m = (await w.client.getManifest(img.repo, tag))
      .manifest as ImageManifest
    const layer = m.layers[0]!
    const envelope = await w.client.getBlob(img.repo, layer.digest)
    const annotation = layer.annotations?.[ANNOTATION]
    assert.ok(annotation, `the .att layer has ${ANNOTATION}`)
    const tsr = Buffer.from(
      (JSON.parse(annotation) as { SignedRFC3161Timestamp: string })
        .SignedRFC3161Timestamp,
      'base64'
    )
    assert.match(opensslTsVerify(tsr, envelope), /Verification: OK/)
    // Not over the DSSE signature: that is the bundle's timestamp.
    const sig = Buffer.from(
      (
        JSON.parse(Buffer.from(envelope).toString()) as {
          signatures: { sig: string }[]
        }
      ).signatures[0]!.sig,
      'base64'
    )
    assert.doesNotMatch(opensslTsVerify(tsr, sig), /Verification: OK/)
    assert.equal(sha256Hex(envelope), layer.digest.replace('sha256:', ''))

    const verify = (extra: string[] = []) =>
      execNode(
        CLI,
        [
          'verify-attestation',
          '--type',
          'cyclonedx',
          '--output',
          'json',
          '--certificate-identity',
          GITHUB_SAN,
          '--certificate-oidc-issuer',
          GITHUB_ISSUER,
          '--trusted-root',
          w.stack.trustedRootPath,
          ...reg(),
          ...extra,
          img.ref
        ],
        { env: env() }
      )
    const ok = await verify()
    assert.equal(ok.code, 0, ok.stderr)
    const formats = (
      JSON.parse(ok.stdout) as {
        images: { candidates: { format: string; ok: boolean }[] }[]
      }
    ).images[0]!.candidates
    assert.deepEqual(formats.map(c => [c.format, c.ok]).sort(), [
      ['bundle', true],
      ['legacy', true]
    ])

    // The annotation replaced by the bundle's timestamp (over the signature,
    // not the layer): the legacy candidate is rejected, the bundle still counts.
    const bundleRef = (
      JSON.parse(ok.stdout) as {
        images: { attestations: { format: string; location: string }[] }[]
      }
    ).images[0]!.attestations.find(a => a.format === 'bundle')!.location
    const referrer = (
      await w.client.getManifest(img.repo, bundleRef.split('@')[1]!)
    ).manifest as ImageManifest
    const bundle = JSON.parse(
      Buffer.from(
        await w.client.getBlob(img.repo, referrer.layers[0]!.digest)
      ).toString()
    ) as {
      verificationMaterial: {
        timestampVerificationData: {
          rfc3161Timestamps: { signedTimestamp: string }[]
        }
      }
    }
    const signatureTs =
      bundle.verificationMaterial.timestampVerificationData
        .rfc3161Timestamps[0]!.signedTimestamp
    const original = JSON.stringify(m)
    m.layers[0] = {
      ...layer,
      annotations: {
        ...layer.annotations,
        [ANNOTATION]: JSON.stringify({ SignedRFC3161Timestamp: signatureTs })
      }
    }
    const put = (body: string) =>
      w.client.putManifest(
        img.repo,
        tag,
        utf8(body),
        m.mediaType ?? 'application/vnd.oci.image.manifest.v1+json'
      )
    await put(JSON.stringify(m))
    try {
      const v = await verify()
      assert.equal(v.code, 0, v.stderr)
      const c = (
        JSON.parse(v.stdout) as {
          images: {
            candidates: { format: string; ok: boolean; code?: string }[]
          }[]
        }
      ).images[0]!.candidates
      const legacy = c.find(x => x.format === 'legacy')
      assert.equal(legacy?.ok, false)
      assert.equal(legacy?.code, 'TIMESTAMP_INVALID')
      assert.equal(c.find(x => x.format === 'bundle')?.ok, true)
    } finally {
      await put(original)
    }
  })
})
