// Attestations, blobs and the tree through the bundled CLI, on the real
// registry and the loopback Sigstore stack: sign-blob / attest-blob and
// their verification, attest / verify-attestation for images in both
// storage formats, SLSA provenance from a GitHub-shaped job environment,
// tree and download. Everything written is judged by @sigstore/verify (and
// legacy `.att` layers by their envelope hash), key-pair signatures by
// openssl; tampering, wrong types, wrong subjects and wrong identities fail
// with their codes.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import { legacyAttestationAsBundle } from '../support/legacy-bundle.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  opensslVerify,
  startWorld,
  writeKeyPair,
  registryFlags,
  type World
} from '../support/world.ts'
import type { ImageManifest } from '../../src/oci/index.ts'
import { listReferrers } from '../../src/oci/index.ts'
import { fromUtf8, sha256Hex, utf8 } from '../../src/util/index.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
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
const reg = (): string[] => registryFlags(w)
const sigstore = (): string[] => [
  '--fulcio-url',
  w.stack.fulcioUrl,
  '--rekor-url',
  w.stack.rekorUrl,
  '--trusted-root',
  w.stack.trustedRootPath
]
const who = (): string[] => [
  '--certificate-identity',
  GITHUB_SAN,
  '--certificate-oidc-issuer',
  GITHUB_ISSUER,
  '--trusted-root',
  w.stack.trustedRootPath
]
const keyless = (): NodeJS.ProcessEnv => env({ SIGSTORE_ID_TOKEN: w.token })

let n = 0
function file(content: string): string {
  const p = join(w.tmp, `file-${++n}.txt`)
  writeFileSync(p, content)
  return p
}

const SLSA_V1 = {
  buildDefinition: {
    buildType: 'https://example.com/build/v1',
    externalParameters: {}
  },
  runDetails: { builder: { id: 'https://example.com/builder' } }
}

describe('sign-blob / verify-blob', () => {
  test('keyless, several files: one certificate, one bundle each, verified by @sigstore/verify and verify-blob', async () => {
    const a = file('release artifact A')
    const b = file('release artifact B')
    const fulcioBefore = w.stack.counts.fulcio
    const cert = join(w.tmp, 'signing.crt')
    const r = await execNode(
      CLI,
      ['sign-blob', ...sigstore(), '--output-certificate', cert, a, b],
      { env: keyless() }
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(w.stack.counts.fulcio - fulcioBefore, 1, 'one certificate')
    assert.match(readFileSync(cert, 'utf8'), /^-----BEGIN CERTIFICATE-----/)
    for (const f of [a, b]) {
      assert.match(
        r.stdout,
        new RegExp(`${f} ${f}\\.sigstore\\.json logIndex=\\d+`)
      )
      const bundle = JSON.parse(readFileSync(`${f}.sigstore.json`, 'utf8')) as {
        mediaType: string
      }
      assert.equal(
        bundle.mediaType,
        'application/vnd.dev.sigstore.bundle.v0.3+json'
      )
      const oracle = verifyWithSigstoreJs({
        trustedRoot: w.stack.trustedRoot,
        bundle,
        artifact: readFileSync(f),
        san: GITHUB_SAN,
        issuer: GITHUB_ISSUER
      })
      assert.equal(oracle.san, GITHUB_SAN)
      const v = await execNode(
        CLI,
        ['verify-blob', '--bundle', `${f}.sigstore.json`, ...who(), f],
        { env: env() }
      )
      assert.equal(v.code, 0, v.stderr)
    }
    // A's bundle does not verify B.
    const cross = await execNode(
      CLI,
      ['verify-blob', '--bundle', `${a}.sigstore.json`, ...who(), b],
      { env: env() }
    )
    assert.equal(cross.code, 12, cross.stderr)
  })

  test('key pair: --bundle and --output-signature; openssl and @sigstore/verify agree', async () => {
    const f = file('signed with a key')
    const kp = writeKeyPair(w.tmp, 'pw', 'blobkey')
    const bundlePath = join(w.tmp, 'custom.bundle')
    const sigPath = join(w.tmp, 'custom.sig')
    const r = await execNode(
      CLI,
      [
        'sign-blob',
        '--key',
        kp.keyPath,
        ...sigstore(),
        '--bundle',
        bundlePath,
        '--output-signature',
        sigPath,
        f
      ],
      { env: env({ COSIGN_PASSWORD: 'pw' }) }
    )
    assert.equal(r.code, 0, r.stderr)
    const sig = Buffer.from(readFileSync(sigPath, 'utf8'), 'base64')
    assert.equal(opensslVerify(kp.pubPath, readFileSync(f), sig, w.tmp), true)
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: JSON.parse(readFileSync(bundlePath, 'utf8')) as unknown,
      artifact: readFileSync(f),
      publicKeyPem: kp.pubPem
    })
    const v = await execNode(
      CLI,
      [
        'verify-blob',
        '--bundle',
        bundlePath,
        '--key',
        kp.pubPath,
        '--trusted-root',
        w.stack.trustedRootPath,
        f
      ],
      { env: env() }
    )
    assert.equal(v.code, 0, v.stderr)
  })

  test('usage errors: --bundle with several files, nothing to sign', async () => {
    const r = await execNode(
      CLI,
      ['sign-blob', '--bundle', 'x.json', file('1'), file('2')],
      { env: keyless() }
    )
    assert.equal(r.code, 2)
    const none = await execNode(CLI, ['sign-blob'], { env: keyless() })
    assert.equal(none.code, 2)
  })
})

describe('attest-blob / verify-blob-attestation', () => {
  let a: string
  let b: string
  let bundlePath: string
  before(async () => {
    a = file('binary linux/amd64')
    b = file('binary linux/arm64')
    const predicate = join(w.tmp, 'provenance.json')
    writeFileSync(predicate, JSON.stringify(SLSA_V1))
    bundlePath = join(w.tmp, 'release.intoto.jsonl')
    const r = await execNode(
      CLI,
      [
        'attest-blob',
        '--predicate',
        predicate,
        '--type',
        'slsaprovenance1',
        '--bundle',
        bundlePath,
        ...sigstore(),
        a,
        b
      ],
      { env: keyless() }
    )
    assert.equal(r.code, 0, r.stderr)
  })

  test('one in-toto v1 statement naming every file, verified by @sigstore/verify', () => {
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as {
      dsseEnvelope: { payload: string; payloadType: string }
    }
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    assert.equal(
      bundle.dsseEnvelope.payloadType,
      'application/vnd.in-toto+json'
    )
    const statement = JSON.parse(
      Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()
    ) as {
      _type: string
      predicateType: string
      subject: { name: string; digest: { sha256: string } }[]
      predicate: unknown
    }
    assert.equal(statement._type, 'https://in-toto.io/Statement/v1')
    assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1')
    assert.deepEqual(statement.predicate, SLSA_V1)
    assert.deepEqual(
      statement.subject.map(s => s.digest.sha256),
      [a, b].map(f => sha256Hex(readFileSync(f)))
    )
    assert.deepEqual(
      statement.subject.map(s => s.name),
      [a, b].map(f => f.split('/').pop())
    )
  })

  test('verify-blob-attestation: each file, by type; prints the statement', async () => {
    for (const f of [a, b]) {
      const v = await execNode(
        CLI,
        [
          'verify-blob-attestation',
          '--bundle',
          bundlePath,
          '--type',
          'slsaprovenance1',
          ...who(),
          f
        ],
        { env: env() }
      )
      assert.equal(v.code, 0, v.stderr)
      const st = JSON.parse(v.stdout) as { predicateType: string }
      assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1')
    }
    const byDigest = await execNode(
      CLI,
      [
        'verify-blob-attestation',
        '--bundle',
        bundlePath,
        '--type',
        'https://slsa.dev/provenance/v1',
        ...who(),
        `sha256:${sha256Hex(readFileSync(a))}`
      ],
      { env: env() }
    )
    assert.equal(byDigest.code, 0, byDigest.stderr)
  })

  test('rejected with codes: wrong type, file not named, wrong identity, tampered statement', async () => {
    const run = (args: string[], f: string, bundle = bundlePath) =>
      execNode(
        CLI,
        ['verify-blob-attestation', '--bundle', bundle, ...args, f],
        { env: env() }
      )
    const wrongType = await run(['--type', 'spdxjson', ...who()], a)
    assert.equal(wrongType.code, 12)
    assert.match(
      wrongType.stderr,
      /NO_MATCHING_ATTESTATIONS.*PREDICATE_TYPE_MISMATCH/s
    )
    const other = await run(['--type', 'slsaprovenance1', ...who()], file('x'))
    assert.equal(other.code, 12)
    assert.match(other.stderr, /ARTIFACT_DIGEST_MISMATCH/)
    const wrongWho = await run(
      [
        '--type',
        'slsaprovenance1',
        '--certificate-identity',
        'https://github.com/attacker/x/.github/workflows/a.yml@refs/heads/main',
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        '--trusted-root',
        w.stack.trustedRootPath
      ],
      a
    )
    assert.equal(wrongWho.code, 12)
    assert.match(wrongWho.stderr, /POLICY_IDENTITY_MISMATCH/)
    // The statement rewritten to claim another predicate: the signature fails.
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as {
      dsseEnvelope: { payload: string }
    }
    const st = JSON.parse(
      Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()
    ) as { predicate: { runDetails: { builder: { id: string } } } }
    st.predicate.runDetails.builder.id = 'https://evil.example/builder'
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString(
      'base64'
    )
    const tampered = join(w.tmp, 'tampered.intoto.json')
    writeFileSync(tampered, JSON.stringify(bundle))
    const t = await run(['--type', 'slsaprovenance1', ...who()], a, tampered)
    assert.equal(t.code, 12)
    assert.match(t.stderr, /SIGNATURE_INVALID|TLOG_BODY_MISMATCH/)
  })
})

describe('attest / verify-attestation (images)', () => {
  test('--format both: a cosign .att layer and a bundle referrer, one Rekor entry; both verified', async () => {
    const img = await freshImage(w, 'demo/attested')
    const sbom = join(w.tmp, 'sbom.cdx.json')
    writeFileSync(
      sbom,
      JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5' })
    )
    const rekorBefore = w.stack.counts.rekor
    const r = await execNode(
      CLI,
      [
        'attest',
        '--predicate',
        sbom,
        '--type',
        'cyclonedx',
        '--format',
        'both',
        ...sigstore(),
        ...reg(),
        img.ref
      ],
      { env: keyless() }
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(w.stack.counts.rekor - rekorBefore, 1, 'one Rekor entry')
    assert.match(r.stdout, /legacy .*sha256-[0-9a-f]{64}\.att logIndex=\d+/)
    assert.match(r.stdout, /bundle .*@sha256:[0-9a-f]{64} logIndex=\d+/)

    // The .att tag as cosign writes it.
    const att = (
      await w.client.getManifest(
        img.repo,
        `${img.digest.replace(':', '-')}.att`
      )
    ).manifest as ImageManifest
    assert.equal(att.layers.length, 1)
    const layer = att.layers[0]!
    assert.equal(layer.mediaType, 'application/vnd.dsse.envelope.v1+json')
    const ann = layer.annotations ?? {}
    assert.equal(ann['dev.cosignproject.cosign/signature'], '')
    assert.equal(ann.predicateType, 'https://cyclonedx.org/bom')
    assert.match(
      ann['dev.sigstore.cosign/certificate'] ?? '',
      /BEGIN CERTIFICATE/
    )
    assert.ok('dev.sigstore.cosign/chain' in ann)
    const envelope = await w.client.getBlob(img.repo, layer.digest)
    const legacy = legacyAttestationAsBundle(ann, envelope)
    assert.equal(
      legacy.envelopeHashMatches,
      true,
      'envelopeHash = layer sha256'
    )
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: legacy.bundle,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    const statement = JSON.parse(
      Buffer.from(
        (JSON.parse(fromUtf8(envelope)) as { payload: string }).payload,
        'base64'
      ).toString()
    ) as {
      _type: string
      subject: { name: string; digest: { sha256: string } }[]
    }
    assert.equal(statement._type, 'https://in-toto.io/Statement/v0.1')
    assert.deepEqual(statement.subject, [
      {
        name: `${w.registry.host}/${img.repo}`,
        digest: { sha256: img.digest.slice(7) }
      }
    ])

    // The referrer, with the predicate type annotation.
    const { descriptors } = await listReferrers(w.client, img.repo, img.digest)
    assert.equal(descriptors.length, 1)
    assert.equal(
      descriptors[0]?.annotations?.['dev.sigstore.bundle.predicateType'],
      'https://cyclonedx.org/bom'
    )
    const rm = (await w.client.getManifest(img.repo, descriptors[0].digest))
      .manifest as ImageManifest
    verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: JSON.parse(
        fromUtf8(await w.client.getBlob(img.repo, rm.layers[0]!.digest))
      ) as unknown,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })

    // verify-attestation: one statement per line, per storage format.
    const v = await execNode(
      CLI,
      [
        'verify-attestation',
        '--type',
        'cyclonedx',
        ...who(),
        ...reg(),
        img.ref
      ],
      { env: env() }
    )
    assert.equal(v.code, 0, v.stderr)
    const lines = v.stdout.trim().split('\n')
    assert.equal(lines.length, 2)
    for (const l of lines) {
      const s = JSON.parse(l) as { predicateType: string; predicate: unknown }
      assert.equal(s.predicateType, 'https://cyclonedx.org/bom')
      assert.deepEqual(s.predicate, {
        bomFormat: 'CycloneDX',
        specVersion: '1.5'
      })
    }

    // Wrong type and wrong identity: 12; an image never attested: 10.
    const wrongType = await execNode(
      CLI,
      ['verify-attestation', '--type', 'spdxjson', ...who(), ...reg(), img.ref],
      { env: env() }
    )
    assert.equal(wrongType.code, 12)
    assert.match(wrongType.stderr, /PREDICATE_TYPE_MISMATCH/)
    const wrongWho = await execNode(
      CLI,
      [
        'verify-attestation',
        '--type',
        'cyclonedx',
        '--certificate-identity',
        'someone@example.com',
        '--certificate-oidc-issuer',
        GITHUB_ISSUER,
        '--trusted-root',
        w.stack.trustedRootPath,
        ...reg(),
        img.ref
      ],
      { env: env() }
    )
    assert.equal(wrongWho.code, 12)
    assert.match(wrongWho.stderr, /POLICY_IDENTITY_MISMATCH/)
    const bare = await freshImage(w, 'demo/attested')
    const none = await execNode(
      CLI,
      ['verify-attestation', ...who(), ...reg(), bare.ref],
      { env: env() }
    )
    assert.equal(none.code, 10, none.stderr)
    assert.match(none.stderr, /NO_ATTESTATIONS_FOUND/)

    // tree shows both, text and JSON.
    const tree = await execNode(CLI, ['tree', ...reg(), img.ref], {
      env: env()
    })
    assert.equal(tree.code, 0, tree.stderr)
    assert.match(tree.stdout, /Attestations \(legacy tag .*\.att\)/)
    assert.match(tree.stdout, /predicateType=https:\/\/cyclonedx\.org\/bom/)
    assert.match(tree.stdout, /Referrers \(fallback tag\)/)
    const treeJson = await execNode(
      CLI,
      ['tree', '--output', 'json', ...reg(), img.ref],
      { env: env() }
    )
    const t = JSON.parse(treeJson.stdout) as {
      digest: string
      legacy: { kind: string; layers: { predicateType?: string }[] }[]
      referrers: { predicateType?: string; artifactType?: string }[]
    }
    assert.equal(t.digest, img.digest)
    assert.deepEqual(
      t.legacy.map(l => [l.kind, l.layers[0]?.predicateType]),
      [['attestations', 'https://cyclonedx.org/bom']]
    )
    assert.equal(
      t.referrers[0]?.artifactType,
      'application/vnd.dev.sigstore.bundle.v0.3+json'
    )

    // download attestation: the envelope and the bundle.
    const dl = await execNode(
      CLI,
      ['download', 'attestation', ...reg(), img.ref],
      { env: env() }
    )
    assert.equal(dl.code, 0, dl.stderr)
    const docs = dl.stdout
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as Record<string, unknown>)
    assert.equal(docs.length, 2)
    assert.ok(docs.some(d => d.payloadType === 'application/vnd.in-toto+json'))
    assert.ok(docs.some(d => 'dsseEnvelope' in d))
  })

  test('a tampered .att envelope is rejected; the second attestation still counts', async () => {
    const img = await freshImage(w, 'demo/attested')
    const pred = join(w.tmp, 'custom.txt')
    writeFileSync(pred, 'free text')
    for (let i = 0; i < 2; i++) {
      const r = await execNode(
        CLI,
        ['attest', '--predicate', pred, ...sigstore(), ...reg(), img.ref],
        { env: keyless() }
      )
      assert.equal(r.code, 0, r.stderr)
    }
    const tag = `${img.digest.replace(':', '-')}.att`
    const m = (await w.client.getManifest(img.repo, tag))
      .manifest as ImageManifest
    assert.equal(m.layers.length, 2, 'cosign appends every attestation')
    // Replace the first layer's envelope with one claiming another subject.
    const first = m.layers[0]!
    const env0 = JSON.parse(
      fromUtf8(await w.client.getBlob(img.repo, first.digest))
    ) as { payload: string }
    const st = JSON.parse(Buffer.from(env0.payload, 'base64').toString()) as {
      predicate: { Data: string }
    }
    st.predicate.Data = 'forged'
    env0.payload = Buffer.from(JSON.stringify(st)).toString('base64')
    const forged = utf8(JSON.stringify(env0))
    await w.client.uploadBlob(img.repo, forged)
    const { ociDigest } = await import('../../src/util/index.ts')
    m.layers[0] = { ...first, digest: ociDigest(forged), size: forged.length }
    await w.client.putManifest(
      img.repo,
      tag,
      utf8(JSON.stringify(m)),
      m.mediaType ?? 'application/vnd.oci.image.manifest.v1+json'
    )
    const v = await execNode(
      CLI,
      ['verify-attestation', '--output', 'json', ...who(), ...reg(), img.ref],
      { env: env() }
    )
    assert.equal(v.code, 0, v.stderr)
    const out = JSON.parse(v.stdout) as {
      images: { candidates: { ok: boolean; code?: string }[] }[]
    }
    const c = out.images[0]!.candidates
    assert.equal(c.filter(x => x.ok).length, 1)
    assert.match(
      c.find(x => !x.ok)?.code ?? '',
      /TLOG_BODY_MISMATCH|SIGNATURE_INVALID/
    )
  })

  test('no predicate in a GitHub job: SLSA provenance v1 from the workflow context', async () => {
    const img = await freshImage(w, 'demo/provenance')
    const gh = {
      GITHUB_ACTIONS: 'true',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'octo/app',
      GITHUB_REPOSITORY_ID: '42',
      GITHUB_REPOSITORY_OWNER_ID: '7',
      GITHUB_WORKFLOW_REF:
        'octo/app/.github/workflows/release.yml@refs/tags/v1.0.0',
      GITHUB_REF: 'refs/tags/v1.0.0',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_RUN_ID: '1234',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_EVENT_NAME: 'push',
      RUNNER_ENVIRONMENT: 'github-hosted'
    }
    const r = await execNode(
      CLI,
      ['attest', '--format', 'bundle', ...sigstore(), ...reg(), img.ref],
      { env: { ...keyless(), ...gh } }
    )
    assert.equal(r.code, 0, r.stderr)
    const v = await execNode(
      CLI,
      [
        'verify-attestation',
        '--type',
        'slsaprovenance1',
        ...who(),
        ...reg(),
        img.ref
      ],
      { env: env() }
    )
    assert.equal(v.code, 0, v.stderr)
    const st = JSON.parse(v.stdout.trim()) as {
      predicate: {
        buildDefinition: {
          buildType: string
          externalParameters: { workflow: Record<string, string> }
          resolvedDependencies: { uri: string; digest: { gitCommit: string } }[]
        }
        runDetails: {
          builder: { id: string }
          metadata: { invocationId: string }
        }
      }
    }
    const p = st.predicate
    assert.equal(
      p.buildDefinition.buildType,
      'https://actions.github.io/buildtypes/workflow/v1'
    )
    assert.deepEqual(p.buildDefinition.externalParameters.workflow, {
      ref: 'refs/tags/v1.0.0',
      repository: 'https://github.com/octo/app',
      path: '.github/workflows/release.yml'
    })
    assert.deepEqual(p.buildDefinition.resolvedDependencies, [
      {
        uri: 'git+https://github.com/octo/app@refs/tags/v1.0.0',
        digest: { gitCommit: 'a'.repeat(40) }
      }
    ])
    assert.equal(
      p.runDetails.builder.id,
      'https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.0.0'
    )
    assert.equal(
      p.runDetails.metadata.invocationId,
      'https://github.com/octo/app/actions/runs/1234/attempts/2'
    )
    // Outside CI, no predicate is a usage error before any network call.
    const fulcioBefore = w.stack.counts.fulcio
    const outside = await execNode(
      CLI,
      ['attest', ...sigstore(), ...reg(), img.ref],
      { env: keyless() }
    )
    assert.equal(outside.code, 2)
    assert.match(outside.stderr, /INPUT_PREDICATE_REQUIRED/)
    assert.equal(w.stack.counts.fulcio, fulcioBefore)
    assert.equal(existsSync(join(w.tmp, 'nothing')), false)
  })
})

describe('sigil-conformance sign-bundle', () => {
  const CONFORMANCE = join(root, 'dist/conformance/index.js')
  test('a file and an in-toto statement, services from a signing config; @sigstore/verify and verify-bundle accept both', async () => {
    const config = join(w.tmp, 'signing_config.json')
    writeFileSync(
      config,
      JSON.stringify({
        mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
        caUrls: [{ url: w.stack.fulcioUrl, majorApiVersion: 1 }],
        rekorTlogUrls: [{ url: w.stack.rekorUrl, majorApiVersion: 1 }],
        tsaUrls: []
      })
    )
    const artifact = file('conformance artifact')
    const statementPath = join(w.tmp, 'statement.json')
    writeFileSync(
      statementPath,
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [
          {
            name: 'conformance artifact',
            digest: { sha256: sha256Hex(readFileSync(artifact)) }
          }
        ],
        predicateType: 'https://example.com/predicate/v1',
        predicate: { ok: true }
      })
    )
    for (const [inToto, subject] of [
      [false, artifact],
      [true, statementPath]
    ] as const) {
      const out = join(w.tmp, `conformance-${inToto ? 'dsse' : 'msg'}.json`)
      const r = await execNode(
        CONFORMANCE,
        [
          'sign-bundle',
          '--identity-token',
          w.token,
          '--bundle',
          out,
          '--trusted-root',
          w.stack.trustedRootPath,
          '--signing-config',
          config,
          ...(inToto ? ['--in-toto'] : []),
          subject
        ],
        { env: env() }
      )
      assert.equal(r.code, 0, r.stderr)
      const bundle = JSON.parse(readFileSync(out, 'utf8')) as Record<
        string,
        unknown
      >
      assert.ok(
        inToto ? 'dsseEnvelope' in bundle : 'messageSignature' in bundle
      )
      verifyWithSigstoreJs({
        trustedRoot: w.stack.trustedRoot,
        bundle,
        ...(inToto ? {} : { artifact: readFileSync(artifact) }),
        san: GITHUB_SAN,
        issuer: GITHUB_ISSUER
      })
      const v = await execNode(
        CONFORMANCE,
        [
          'verify-bundle',
          '--bundle',
          out,
          '--certificate-identity',
          GITHUB_SAN,
          '--certificate-oidc-issuer',
          GITHUB_ISSUER,
          '--trusted-root',
          w.stack.trustedRootPath,
          artifact
        ],
        { env: env() }
      )
      assert.equal(v.code, 0, v.stderr)
    }
  })
})
