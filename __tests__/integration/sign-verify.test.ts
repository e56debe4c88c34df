// signImages → registry → verifyImages against a real docker-registry and the
// loopback Sigstore stack, with @sigstore/verify and openssl as independent
// judges of what we wrote, and a tamper matrix with distinct error codes.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  signImages,
  verifyImages,
  type SignImagesOptions,
  type VerifyImagesOptions,
  type VerifyResult
} from '../../src/cosign/index.ts'
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_SIGNATURE
} from '../../src/cosign/constants.ts'
import { StaticIdentityProvider } from '../../src/sigstore/index.ts'
import {
  fromBase64,
  toBase64,
  utf8,
  type AppError
} from '../../src/util/index.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import { legacyLayerAsBundle } from '../support/legacy-bundle.ts'
import { makeJwt, githubClaims } from '../support/oidc.ts'
import { startSigstoreStack } from '../support/sigstore-stack.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  freshIndex,
  opensslVerify,
  putBlob,
  readSigManifest,
  startWorld,
  tamperSigManifest,
  writeKeyPair,
  signOptions,
  type World
} from '../support/world.ts'

let w: World
before(async () => {
  w = await startWorld({ mode: 'token' })
})
after(async () => {
  await w?.stop()
})

const signOpts = (
  images: string[],
  extra: Partial<SignImagesOptions> = {}
): SignImagesOptions => signOptions(w, images, extra)

const deps = (token = w.token) => ({
  http: w.runtime.http,
  logger: {
    debug() {},
    info() {},
    warn() {},
    group: <T>(_: string, fn: () => Promise<T>) => fn()
  },
  registryFor: w.runtime.registryFor,
  identity: new StaticIdentityProvider(token)
})

function verifyOpts(
  images: string[],
  extra: Partial<VerifyImagesOptions> = {}
): VerifyImagesOptions {
  return {
    images,
    recursive: false,
    concurrency: 4,
    trust: w.trust,
    policy: {
      identity: { exact: GITHUB_SAN },
      issuer: { exact: GITHUB_ISSUER }
    },
    annotations: {},
    ...extra
  }
}

const vdeps = () => ({
  logger: deps().logger,
  registryFor: w.runtime.registryFor
})

function failureCode(r: VerifyResult): string | undefined {
  const e = r.images.find(i => !i.verified)?.error
  const cause = e?.cause as AppError | undefined
  return cause?.code ?? e?.code
}

describe('keyless signing', () => {
  test('legacy: one layer, independently verified by @sigstore/verify, and by our verifier', async () => {
    const img = await freshImage(w)
    const r = await signImages(signOpts([img.ref]), deps())
    assert.equal(r.identity?.subject, GITHUB_SAN)
    assert.equal(r.identity?.issuer, GITHUB_ISSUER)
    assert.equal(r.images[0]?.signatures[0]?.format, 'legacy')
    const m = await readSigManifest(w, img.repo, img.digest)
    assert.equal(m?.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.equal(m?.layers.length, 1)
    const layer = m.layers[0]!
    assert.equal(
      layer.mediaType,
      'application/vnd.dev.cosign.simplesigning.v1+json'
    )
    assert.deepEqual(Object.keys(layer.annotations ?? {}).sort(), [
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain'
    ])
    const payload = await w.client.getBlob(img.repo, layer.digest)
    const oracle = verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: legacyLayerAsBundle(layer.annotations ?? {}, payload),
      artifact: payload,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    assert.equal(oracle.san, GITHUB_SAN)
    const v = await verifyImages(verifyOpts([img.ref]), vdeps())
    assert.ok(v.ok, JSON.stringify(v.images[0]?.candidates))
    assert.equal(v.images[0]?.candidates[0]?.identity?.subject, GITHUB_SAN)
  })

  test('bundle: an OCI 1.1 referrer (fallback tag on distribution 2.8) that @sigstore/verify accepts', async () => {
    const img = await freshImage(w)
    const r = await signImages(
      signOpts([img.ref], { format: 'bundle', annotations: { env: 'prod' } }),
      deps()
    )
    const loc = r.images[0]?.signatures[0]
    assert.equal(loc?.format, 'bundle')
    assert.equal(loc?.via, 'tag')
    const index = await w.client.getManifest(
      img.repo,
      img.digest.replace(':', '-')
    )
    const entries = (
      index.manifest as {
        manifests: {
          artifactType?: string
          digest: string
          annotations?: Record<string, string>
        }[]
      }
    ).manifests
    assert.equal(entries.length, 1)
    assert.equal(
      entries[0]?.artifactType,
      'application/vnd.dev.sigstore.bundle.v0.3+json'
    )
    assert.equal(
      entries[0]?.annotations?.['dev.sigstore.bundle.predicateType'],
      'https://sigstore.dev/cosign/sign/v1'
    )
    const ref = await w.client.getManifest(img.repo, entries[0].digest)
    const rm = ref.manifest as {
      subject?: { digest: string }
      layers: { digest: string }[]
    }
    assert.equal(rm.subject?.digest, img.digest)
    const bundle = JSON.parse(
      new TextDecoder().decode(
        await w.client.getBlob(img.repo, rm.layers[0]!.digest)
      )
    )
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    const statement = JSON.parse(
      Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()
    )
    assert.deepEqual(statement.subject, [
      { digest: { sha256: img.digest.slice(7) }, annotations: { env: 'prod' } }
    ])
    const v = await verifyImages(
      verifyOpts([img.ref], { annotations: { env: 'prod' } }),
      vdeps()
    )
    assert.ok(v.ok, JSON.stringify(v.images[0]?.candidates))
    const wrong = await verifyImages(
      verifyOpts([img.ref], { annotations: { env: 'dev' } }),
      vdeps()
    )
    assert.equal(failureCode(wrong), 'CLAIM_ANNOTATION_MISMATCH')
  })

  test('both formats from one certificate; ten images cost exactly one Fulcio request', async () => {
    const imgs = await Promise.all(
      Array.from({ length: 10 }, () => freshImage(w, 'demo/many'))
    )
    const before = w.stack.counts.fulcio
    const r = await signImages(
      signOpts(
        imgs.map(i => i.ref),
        { format: 'both' }
      ),
      deps()
    )
    assert.equal(w.stack.counts.fulcio - before, 1)
    assert.equal(r.images.length, 10)
    for (const i of r.images)
      assert.deepEqual(
        i.signatures.map(s => s.format),
        ['legacy', 'bundle']
      )
    const v = await verifyImages(verifyOpts(imgs.map(i => i.ref)), vdeps())
    assert.ok(v.ok)
    for (const i of v.images)
      assert.equal(i.candidates.filter(c => c.ok).length, 2)
  })

  test('duplicates by digest are signed once, tags resolve with a warning', async () => {
    const img = await freshImage(w)
    const tagRef = `${w.registry.host}/${img.repo}:${(await w.client.listTags(img.repo)).find(t => t.startsWith('t'))}`
    const warnings: string[] = []
    const d = {
      ...deps(),
      logger: { ...deps().logger, warn: (m: string) => warnings.push(m) }
    }
    const r = await signImages(signOpts([img.ref, img.ref]), d)
    assert.equal(r.images.length, 1)
    await signImages(signOpts([tagRef]), d)
    assert.ok(warnings.some(m => /mutable/.test(m)))
  })

  test('recursive: the index and every platform manifest; verify requires all of them', async () => {
    const idx = await freshIndex(w)
    const r = await signImages(signOpts([idx.ref], { recursive: true }), deps())
    assert.deepEqual(
      r.images.map(i => i.digest).sort(),
      [idx.digest, ...idx.children].sort()
    )
    assert.ok(
      (await verifyImages(verifyOpts([idx.ref], { recursive: true }), vdeps()))
        .ok
    )

    const idx2 = await freshIndex(w)
    await signImages(signOpts([idx2.ref]), deps()) // the index only
    const v = await verifyImages(
      verifyOpts([idx2.ref], { recursive: true }),
      vdeps()
    )
    assert.equal(v.ok, false)
    const unsigned = v.images.filter(i => !i.verified)
    assert.equal(unsigned.length, 2)
    assert.equal(unsigned[0]?.error?.code, 'NO_SIGNATURES_FOUND')
  })

  test('RFC 3161 timestamps on both formats verify (ours and @sigstore/verify)', async () => {
    const img = await freshImage(w)
    const before = w.stack.counts.tsa
    await signImages(
      signOpts([img.ref], {
        format: 'both',
        timestampServerUrl: w.stack.tsaTimestampUrl
      }),
      deps()
    )
    assert.equal(w.stack.counts.tsa - before, 2)
    const m = await readSigManifest(w, img.repo, img.digest)
    const ts = JSON.parse(
      m!.layers[0]!.annotations!['dev.sigstore.cosign/rfc3161timestamp']!
    )
    assert.ok(fromBase64(ts.SignedRFC3161Timestamp).length > 100)
    const index = await w.client.getManifest(
      img.repo,
      img.digest.replace(':', '-')
    )
    const d = (index.manifest as { manifests: { digest: string }[] })
      .manifests[0]!.digest
    const rm = (await w.client.getManifest(img.repo, d)).manifest as {
      layers: { digest: string }[]
    }
    const bundle = JSON.parse(
      new TextDecoder().decode(
        await w.client.getBlob(img.repo, rm.layers[0]!.digest)
      )
    )
    assert.equal(
      bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps
        .length,
      1
    )
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER,
      timestampThreshold: 1
    })
    const v = await verifyImages(verifyOpts([img.ref]), vdeps())
    assert.ok(v.ok)
    assert.equal(v.images[0]?.candidates.filter(c => c.ok).length, 2)
  })

  test('every observer time must fall inside the certificate validity: one inside, one outside is rejected', async () => {
    const { createHash, generateKeyPairSync } = await import('node:crypto')
    const { initializeTSA } = await import('@sigstore/mock')
    const { parseTrustedRoot } = await import('../../src/sigstore/index.ts')
    const { parseBundle } = await import('../../src/sigstore/bundle/index.ts')
    const { toSignedEntity, verifySignedEntity } =
      await import('../../src/sigstore/verify/index.ts')
    const img = await freshImage(w)
    await signImages(signOpts([img.ref], { format: 'bundle' }), deps())
    const { listReferrers } = await import('../../src/oci/index.ts')
    const { descriptors } = await listReferrers(w.client, img.repo, img.digest)
    const rm = (await w.client.getManifest(img.repo, descriptors[0]!.digest))
      .manifest as { layers: { digest: string }[] }
    const bundle = JSON.parse(
      new TextDecoder().decode(
        await w.client.getBlob(img.repo, rm.layers[0]!.digest)
      )
    )
    const sig = fromBase64(bundle.dsseEnvelope.signatures[0].sig)
    const b64 = (b: ArrayBufferView): string =>
      toBase64(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))
    const policy = {
      identity: { exact: GITHUB_SAN },
      issuer: { exact: GITHUB_ISSUER }
    }
    const withTimestampAt = async (clock: Date) => {
      const tsa = await initializeTSA(
        generateKeyPairSync('ec', { namedCurve: 'P-256' }),
        clock
      )
      const token = await tsa.timestamp({
        artifactHash: createHash('sha256').update(sig).digest(),
        hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
        nonce: 7,
        policyOID: '1.2.3.4',
        certReq: true
      })
      const b = structuredClone(bundle)
      b.verificationMaterial.timestampVerificationData = {
        rfc3161Timestamps: [{ signedTimestamp: b64(token) }]
      }
      const trust = parseTrustedRoot({
        ...w.stack.trustedRoot,
        timestampAuthorities: [
          {
            subject: { organization: 'sigstore.mock', commonName: 'tsa' },
            certChain: {
              certificates: [
                { rawBytes: b64(tsa.intCertificate) },
                { rawBytes: b64(tsa.rootCertificate) }
              ]
            },
            validFor: { start: new Date(Date.now() - 86_400_000).toISOString() }
          }
        ]
      })
      return () =>
        verifySignedEntity(toSignedEntity(parseBundle(b)), { trust, policy })
    }
    // The log's integrated time is inside; a signed timestamp 2 s from now
    // is too (the mock TSA's certificates start when it is created).
    const inside = (await withTimestampAt(new Date(Date.now() + 2000)))()
    assert.equal(inside.timestamps.length, 2)
    // A signed timestamp an hour later is outside the 10-minute certificate.
    const outside = await withTimestampAt(new Date(Date.now() + 3_600_000))
    assert.throws(outside, (e: unknown) => {
      assert.equal(
        (e as { code?: string }).code,
        'CERTIFICATE_EXPIRED_AT_SIGNING'
      )
      assert.match((e as Error).message, /signed timestamp/)
      return true
    })
  })

  test('private Sigstore without a CT log: no SCT required; a foreign CT log is refused', async () => {
    const { parseTrustedRoot } = await import('../../src/sigstore/index.ts')
    const noCt = parseTrustedRoot({ ...w.stack.trustedRoot, ctlogs: [] })
    const img = await freshImage(w)
    await signImages(signOpts([img.ref], { trust: noCt }), deps())
    assert.ok(
      (await verifyImages(verifyOpts([img.ref], { trust: noCt }), vdeps())).ok
    )
    const foreign = await startSigstoreStack({
      subjectClaim: 'job_workflow_url'
    })
    try {
      const otherCt = parseTrustedRoot({
        ...w.stack.trustedRoot,
        ctlogs: foreign.trustedRoot.ctlogs
      })
      const v = await verifyImages(
        verifyOpts([img.ref], { trust: otherCt }),
        vdeps()
      )
      assert.match(failureCode(v) ?? '', /^SCT_/)
      await assert.rejects(
        signImages(signOpts([img.ref], { trust: otherCt }), deps()),
        {
          code: 'FULCIO_CERTIFICATE_UNTRUSTED'
        }
      )
    } finally {
      await foreign.stop()
    }
  })

  test('signature-repository keeps signatures elsewhere; the payload still names the image', async () => {
    const img = await freshImage(w)
    const sigRepo = `${w.registry.host}/demo/signatures`
    await signImages(
      signOpts([img.ref], { signatureRepository: sigRepo }),
      deps()
    )
    assert.equal(await readSigManifest(w, img.repo, img.digest), undefined)
    const m = await readSigManifest(w, 'demo/signatures', img.digest)
    const payload = JSON.parse(
      new TextDecoder().decode(
        await w.client.getBlob('demo/signatures', m!.layers[0]!.digest)
      )
    )
    assert.equal(
      payload.critical.identity['docker-reference'],
      `${w.registry.host}/${img.repo}`
    )
    assert.ok(
      (
        await verifyImages(
          verifyOpts([img.ref], { signatureRepository: sigRepo }),
          vdeps()
        )
      ).ok
    )
    assert.equal(
      (await verifyImages(verifyOpts([img.ref]), vdeps())).images[0]?.error
        ?.code,
      'NO_SIGNATURES_FOUND'
    )
  })

  test('COSIGN_DOCKER_MEDIA_TYPES: a new .sig manifest with Docker media types still verifies; appending keeps them', async () => {
    const img = await freshImage(w)
    await signImages(signOpts([img.ref], { dockerMediaTypes: true }), deps())
    const m = await readSigManifest(w, img.repo, img.digest)
    assert.equal(
      m?.mediaType,
      'application/vnd.docker.distribution.manifest.v2+json'
    )
    assert.equal(
      m?.config.mediaType,
      'application/vnd.docker.container.image.v1+json'
    )
    assert.equal(
      m?.layers[0]?.mediaType,
      'application/vnd.dev.cosign.simplesigning.v1+json'
    )
    // Another run (another key) without the setting appends to what is
    // there, keeping its media types.
    await signImages(signOpts([img.ref]), deps())
    const after = await readSigManifest(w, img.repo, img.digest)
    assert.equal(after?.mediaType, m?.mediaType)
    assert.equal(after?.layers.length, 2)
    assert.ok((await verifyImages(verifyOpts([img.ref]), vdeps())).ok)
  })
})

describe('key-pair signing', () => {
  test('cosign.key signatures verify with openssl and with our verifier; re-signing adds no duplicate; other signers append', async () => {
    const key = writeKeyPair(w.tmp, 'hunter2')
    const img = await freshImage(w)
    const keyOpts = {
      key: { pem: readFileSync(key.keyPath, 'utf8'), password: 'hunter2' },
      tlogUpload: false
    }
    await signImages(signOpts([img.ref], keyOpts), deps())
    await signImages(signOpts([img.ref], keyOpts), deps())
    let m = await readSigManifest(w, img.repo, img.digest)
    assert.equal(
      m?.layers.length,
      1,
      'the same key and payload do not add a second layer'
    )
    const payload = await w.client.getBlob(img.repo, m.layers[0]!.digest)
    const sig = fromBase64(m.layers[0]!.annotations![ANNOTATION_SIGNATURE]!)
    assert.ok(
      opensslVerify(key.pubPath, payload, sig, w.tmp),
      'openssl verifies the signature against cosign.pub'
    )
    const other = writeKeyPair(w.tmp, '', 'other')
    assert.equal(opensslVerify(other.pubPath, payload, sig, w.tmp), false)

    await signImages(signOpts([img.ref]), deps()) // keyless appends
    await signImages(
      signOpts([img.ref], {
        key: { pem: readFileSync(other.keyPath, 'utf8'), password: '' }
      }),
      deps()
    )
    m = await readSigManifest(w, img.repo, img.digest)
    assert.equal(m?.layers.length, 3)
    assert.ok(m?.layers.slice(1).every(l => l.annotations?.[ANNOTATION_BUNDLE]))

    const keyVerify = (pub: string, ignoreTlog: boolean) =>
      verifyImages(
        verifyOpts([img.ref], {
          policy: {},
          publicKey: readFileSync(pub, 'utf8'),
          ...(ignoreTlog ? { insecureIgnoreTlog: true } : {})
        }),
        vdeps()
      )
    assert.ok(
      (await keyVerify(key.pubPath, true)).ok,
      'an unlogged key signature verifies only when the tlog is waived'
    )
    assert.equal((await keyVerify(key.pubPath, false)).ok, false)
    assert.ok(
      (await keyVerify(other.pubPath, false)).ok,
      'a logged key signature verifies offline'
    )
    assert.ok(
      (await verifyImages(verifyOpts([img.ref]), vdeps())).ok,
      'the keyless one still verifies'
    )
  })

  test('key-pair bundle verifies with @sigstore/verify through the key hint', async () => {
    const key = writeKeyPair(w.tmp, 'pw', 'bundlekey')
    const img = await freshImage(w)
    await signImages(
      signOpts([img.ref], {
        format: 'bundle',
        key: { pem: readFileSync(key.keyPath, 'utf8'), password: 'pw' }
      }),
      deps()
    )
    const index = await w.client.getManifest(
      img.repo,
      img.digest.replace(':', '-')
    )
    const d = (index.manifest as { manifests: { digest: string }[] })
      .manifests[0]!.digest
    const rm = (await w.client.getManifest(img.repo, d)).manifest as {
      layers: { digest: string }[]
    }
    const bundle = JSON.parse(
      new TextDecoder().decode(
        await w.client.getBlob(img.repo, rm.layers[0]!.digest)
      )
    )
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle,
      publicKeyPem: key.pubPem
    })
    const v = await verifyImages(
      verifyOpts([img.ref], { policy: {}, publicKey: key.pubPem }),
      vdeps()
    )
    assert.ok(v.ok, JSON.stringify(v.images[0]?.candidates))
    assert.equal(v.images[0]?.candidates[0]?.format, 'bundle')
  })

  test('a signature that would not verify is never pushed (self-check before writing)', async () => {
    const img = await freshImage(w)
    // A trusted root that does not know this Rekor: the SET cannot verify.
    const foreign = await startSigstoreStack({
      subjectClaim: 'job_workflow_url'
    })
    try {
      const { parseTrustedRoot } = await import('../../src/sigstore/index.ts')
      const mixed = parseTrustedRoot({
        ...w.stack.trustedRoot,
        tlogs: foreign.trustedRoot.tlogs
      })
      await assert.rejects(
        signImages(signOpts([img.ref], { trust: mixed }), deps()),
        (e: AppError) => {
          assert.equal(e.code, 'REKOR_ENTRY_UNTRUSTED')
          assert.match(e.message, /nothing was pushed/)
          return true
        }
      )
      assert.equal(await readSigManifest(w, img.repo, img.digest), undefined)
    } finally {
      await foreign.stop()
    }
  })
})

describe('tamper matrix: each failure has its own code', () => {
  let img: { ref: string; digest: string; repo: string }
  before(async () => {
    img = await freshImage(w, 'demo/tamper')
    await signImages(signOpts([img.ref]), deps())
  })

  const reset = async (): Promise<void> => {
    const fresh = await freshImage(w, 'demo/tamper')
    await signImages(signOpts([fresh.ref]), deps())
    img = fresh
  }

  test('wrong identity → POLICY_IDENTITY_MISMATCH', async () => {
    const v = await verifyImages(
      verifyOpts([img.ref], {
        policy: {
          identity: { exact: 'https://github.com/evil/x' },
          issuer: { exact: GITHUB_ISSUER }
        }
      }),
      vdeps()
    )
    assert.equal(failureCode(v), 'POLICY_IDENTITY_MISMATCH')
    assert.equal(v.images[0]?.error?.code, 'NO_MATCHING_SIGNATURES')
  })

  test('wrong issuer → POLICY_ISSUER_MISMATCH', async () => {
    const v = await verifyImages(
      verifyOpts([img.ref], {
        policy: {
          identity: { exact: GITHUB_SAN },
          issuer: { exact: 'https://gitlab.com' }
        }
      }),
      vdeps()
    )
    assert.equal(failureCode(v), 'POLICY_ISSUER_MISMATCH')
  })

  test('GitHub workflow claims: matching passes, another repository → POLICY_EXTENSION_MISMATCH', async () => {
    const ok = await verifyImages(
      verifyOpts([img.ref], {
        policy: {
          identity: { exact: GITHUB_SAN },
          issuer: { exact: GITHUB_ISSUER },
          githubWorkflow: { repository: 'acme/app', trigger: 'push' }
        }
      }),
      vdeps()
    )
    assert.ok(ok.ok, JSON.stringify(ok.images[0]?.candidates))
    const v = await verifyImages(
      verifyOpts([img.ref], {
        policy: {
          identity: { exact: GITHUB_SAN },
          issuer: { exact: GITHUB_ISSUER },
          githubWorkflow: { repository: 'evil/app' }
        }
      }),
      vdeps()
    )
    assert.equal(failureCode(v), 'POLICY_EXTENSION_MISMATCH')
  })

  test('two signatures rejected for two reasons: the error names both (--certificate-github-workflow-repository evil/app)', async () => {
    const two = await freshImage(w, 'demo/tamper')
    await signImages(signOpts([two.ref]), deps())
    const otherSan =
      'https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main'
    await signImages(
      signOpts([two.ref]),
      deps(makeJwt({ ...githubClaims(), job_workflow_url: otherSan }))
    )
    const v = await verifyImages(
      verifyOpts([two.ref], {
        policy: {
          identity: { exact: GITHUB_SAN },
          issuer: { exact: GITHUB_ISSUER },
          githubWorkflow: { repository: 'evil/app' }
        }
      }),
      vdeps()
    )
    const e = v.images[0]?.error
    assert.equal(e?.code, 'NO_MATCHING_SIGNATURES')
    const m = e?.message ?? ''
    assert.match(m, /none of the 2 signatures of .* is valid for the policy: /)
    assert.match(
      m,
      /1 signature: certificate workflow repository mismatch: expected "evil\/app", got "acme\/app"/
    )
    assert.match(
      m,
      /; 1 signature: certificate identity mismatch: expected "https:\/\/github\.com\/acme\/app\/\.github\/workflows\/release\.yml@refs\/heads\/main", got ".*other\.yml@refs\/heads\/main"/
    )
    assert.doesNotMatch(m, /log index/, 'grouped by reason, not per signature')
  })

  test('unsigned image → NO_SIGNATURES_FOUND', async () => {
    const other = await freshImage(w, 'demo/tamper')
    const v = await verifyImages(verifyOpts([other.ref]), vdeps())
    assert.equal(v.images[0]?.error?.code, 'NO_SIGNATURES_FOUND')
  })

  test('signature copied onto another image → CLAIM_DIGEST_MISMATCH', async () => {
    const other = await freshImage(w, 'demo/tamper')
    const src = await w.client.getManifest(
      img.repo,
      `${img.digest.replace(':', '-')}.sig`
    )
    await w.client.putManifest(
      img.repo,
      `${other.digest.replace(':', '-')}.sig`,
      src.bytes,
      src.descriptor.mediaType
    )
    const v = await verifyImages(verifyOpts([other.ref]), vdeps())
    assert.equal(failureCode(v), 'CLAIM_DIGEST_MISMATCH')
  })

  test('altered payload → TLOG_BODY_MISMATCH (the log entry no longer matches)', async () => {
    await tamperSigManifest(w, img.repo, img.digest, async m => {
      const payload = await w.client.getBlob(img.repo, m.layers[0]!.digest)
      const text = new TextDecoder()
        .decode(payload)
        .replace('"optional":null', '"optional":{"x":"y"}')
      const blob = await putBlob(w, img.repo, utf8(text))
      m.layers[0] = { ...m.layers[0]!, ...blob }
      return m
    })
    const v = await verifyImages(verifyOpts([img.ref]), vdeps())
    assert.equal(failureCode(v), 'TLOG_BODY_MISMATCH')
    await reset()
  })

  test('altered signature → TLOG_BODY_MISMATCH', async () => {
    await tamperSigManifest(w, img.repo, img.digest, m => {
      const a = m.layers[0]!.annotations!
      const sig = fromBase64(a[ANNOTATION_SIGNATURE]!)
      sig[sig.length - 1]! ^= 1
      a[ANNOTATION_SIGNATURE] = toBase64(sig)
      return m
    })
    const v = await verifyImages(verifyOpts([img.ref]), vdeps())
    assert.equal(failureCode(v), 'TLOG_BODY_MISMATCH')
    await reset()
  })

  test('altered SET → TLOG_SET_INVALID', async () => {
    await tamperSigManifest(w, img.repo, img.digest, m => {
      const a = m.layers[0]!.annotations!
      const b = JSON.parse(a[ANNOTATION_BUNDLE]!)
      const set = fromBase64(b.SignedEntryTimestamp)
      set[20]! ^= 0xff
      b.SignedEntryTimestamp = toBase64(set)
      a[ANNOTATION_BUNDLE] = JSON.stringify(b)
      return m
    })
    const v = await verifyImages(verifyOpts([img.ref]), vdeps())
    assert.equal(failureCode(v), 'TLOG_SET_INVALID')
    await reset()
  })

  test('certificate from another CA (logged in the trusted Rekor) → CERTIFICATE_UNTRUSTED_CA', async () => {
    const rogue = await startSigstoreStack({ subjectClaim: 'job_workflow_url' })
    try {
      const other = await freshImage(w, 'demo/tamper')
      // A rogue Fulcio, but the trusted Rekor: the entry verifies, so only
      // the chain check can reject it.
      const { parseTrustedRoot } = await import('../../src/sigstore/index.ts')
      await signImages(
        signOpts([other.ref], {
          fulcioUrl: rogue.fulcioUrl,
          rekorUrl: w.stack.rekorUrl,
          trust: parseTrustedRoot({
            ...rogue.trustedRoot,
            tlogs: w.stack.trustedRoot.tlogs
          })
        }),
        deps(makeJwt(githubClaims()))
      )
      const v = await verifyImages(verifyOpts([other.ref]), vdeps())
      assert.equal(failureCode(v), 'CERTIFICATE_UNTRUSTED_CA')
    } finally {
      await rogue.stop()
    }
  })

  test('a bundle referrer copied onto another image → CLAIM_DIGEST_MISMATCH', async () => {
    const signed = await freshImage(w, 'demo/tamper')
    const victim = await freshImage(w, 'demo/tamper')
    await signImages(signOpts([signed.ref], { format: 'bundle' }), deps())
    const { listReferrers, pushReferrer } =
      await import('../../src/oci/index.ts')
    const { descriptors } = await listReferrers(
      w.client,
      signed.repo,
      signed.digest
    )
    assert.equal(descriptors.length, 1)
    const original = await w.client.getManifest(
      signed.repo,
      descriptors[0]!.digest
    )
    const victimDescriptor = (
      await w.client.getManifest(victim.repo, victim.digest)
    ).descriptor
    const copy = {
      ...(original.manifest as unknown as Record<string, unknown>),
      subject: victimDescriptor
    }
    await pushReferrer(
      w.client,
      victim.repo,
      {
        manifestBytes: utf8(JSON.stringify(copy)),
        mediaType: original.descriptor.mediaType
      },
      victimDescriptor,
      { deadline: Date.now() + 30_000 }
    )
    const v = await verifyImages(verifyOpts([victim.ref]), vdeps())
    assert.equal(v.ok, false)
    assert.equal(failureCode(v), 'CLAIM_DIGEST_MISMATCH')
  })

  test('--key against a bundle whose certificate holds another key → rejected', async () => {
    const keyless = await freshImage(w, 'demo/tamper')
    await signImages(signOpts([keyless.ref], { format: 'both' }), deps())
    const { pubPem } = writeKeyPair(w.tmp, 'pw', 'unrelated')
    const v = await verifyImages(
      verifyOpts([keyless.ref], { publicKey: pubPem }),
      vdeps()
    )
    assert.equal(v.ok, false)
    const codes = v.images[0]!.candidates.map(c => c.code)
    assert.equal(codes.length, 2)
    for (const c of codes) assert.equal(c, 'PUBLIC_KEY_MISMATCH', codes.join())
  })
})
