// `verify --policy`: ClusterImagePolicy documents against images in a real
// registry signed through the real-crypto loopback Sigstore stack, through
// the bundled CLI (every authority type, warn mode, no-match, several
// policies, source repositories, trust roots, wrong identity) and the verify
// action as the runner runs it. (GitLab: gitlab.test.ts.)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signImages, type SignImagesOptions } from '../../src/cosign/index.ts'
import { generateKeyPair } from '../../src/crypto/index.ts'
import { StaticIdentityProvider } from '../../src/sigstore/index.ts'
import { nullLogger } from '../../src/util/index.ts'
import {
  loadPolicies,
  verifyImagesWithPolicies,
  type AttestationVerifier
} from '../../src/policy/index.ts'
import { execNode } from '../support/exec.ts'
import { runAction } from '../support/run-action.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  signOptions,
  startWorld,
  type World
} from '../support/world.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
let w: World
let dir: string
const kp = generateKeyPair('')
const other = generateKeyPair('')

before(async () => {
  w = await startWorld()
  dir = mkdtempSync(join(w.tmp, 'policies-'))
})
after(async () => {
  await w?.stop()
})

async function sign(
  images: string[],
  extra: Partial<SignImagesOptions> = {}
): Promise<void> {
  const r = await signImages(signOptions(w, images, extra), {
    http: w.runtime.http,
    logger: nullLogger,
    registryFor: w.runtime.registryFor,
    identity: new StaticIdentityProvider(w.token)
  })
  assert.ok(
    r.images.every(i => i.status === 'signed'),
    JSON.stringify(r)
  )
}

let n = 0
/** Writes YAML documents to a fresh file; returns its path. */
function policyFile(...docs: string[]): string {
  const f = join(dir, `p${++n}.yaml`)
  writeFileSync(f, docs.join('---\n'))
  return f
}

const indent = (text: string, by: number): string =>
  text
    .trimEnd()
    .split('\n')
    .map(l => `${' '.repeat(by)}${l}`)
    .join('\n')

function cip(
  name: string,
  glob: string,
  authorities: string,
  extra = ''
): string {
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: ${name}
spec:
  images:
  - glob: "${glob}"
${extra}  authorities:
${indent(authorities, 2)}
`
}

const keyAuthority = (pem: string, extra = ''): string =>
  `- name: release-key
  key:
    data: |
${indent(pem, 6)}
${extra}`

const keylessAuthority = (identity: string, extra = ''): string =>
  `- name: github
  keyless:
    url: ${w.stack.fulcioUrl}
    identities:
    - issuer: ${GITHUB_ISSUER}
      ${identity}
  ctlog:
    url: ${w.stack.rekorUrl}
${extra}`

interface Json {
  ok: boolean
  images: {
    reference: string
    status: string
    noMatch?: string
    error?: { code: string; message: string }
    policies: {
      policy: string
      status: string
      reason?: string
      notes: string[]
      authorities: {
        name: string
        type: string
        status: string
        code?: string
        reason?: string
        signatures?: { identity?: { subject: string; issuer: string } }[]
      }[]
    }[]
  }[]
}

async function verify(
  images: string[],
  policies: string[],
  flags: string[] = []
): Promise<{ code: number; json: Json; stderr: string; stdout: string }> {
  const r = await execNode(
    CLI,
    [
      'verify',
      '--trusted-root',
      w.stack.trustedRootPath,
      ...policies.flatMap(p => ['--policy', p]),
      ...flags,
      '-o',
      'json',
      ...images
    ],
    { env: { PATH: process.env.PATH, HOME: w.tmp } }
  )
  let json: Json = { ok: false, images: [] }
  try {
    json = JSON.parse(r.stdout) as Json
  } catch {
    // a usage error prints no result
  }
  return { code: r.code, json, stderr: r.stderr, stdout: r.stdout }
}

const host = (): string => w.registry.host

describe('verify --policy (CLI)', () => {
  let keyless: { ref: string; digest: string; repo: string }
  let keyed: { ref: string; digest: string; repo: string }

  before(async () => {
    keyless = await freshImage(w, 'pol/keyless')
    keyed = await freshImage(w, 'pol/keyed')
    await sign([keyless.ref])
    await sign([keyed.ref], { key: { pem: kp.privateKeyPem, password: '' } })
  })

  test('keyless: the GitHub identity passes (exact subject, and a regexp searched as Go does)', async () => {
    const exact = policyFile(
      cip(
        'exact',
        `${host()}/pol/**`,
        keylessAuthority(`subject: ${GITHUB_SAN}`)
      )
    )
    const r = await verify([keyless.ref], [exact])
    assert.equal(r.code, 0, r.stderr)
    const img = r.json.images[0]!
    assert.equal(img.status, 'passed')
    assert.equal(img.policies[0]!.policy, 'exact')
    assert.deepEqual(
      img.policies[0]!.authorities[0]!.signatures?.[0]?.identity,
      {
        subject: GITHUB_SAN,
        issuer: GITHUB_ISSUER
      }
    )
    // policy-controller's regexps are unanchored searches
    const re = policyFile(
      cip(
        're',
        `${host()}/pol/**`,
        keylessAuthority('subjectRegExp: acme/app/')
      )
    )
    assert.equal((await verify([keyless.ref], [re])).code, 0)
  })

  test('keyless: a wrong identity fails, saying who signed', async () => {
    const f = policyFile(
      cip(
        'wrong',
        `${host()}/pol/**`,
        keylessAuthority(
          'subject: https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main'
        )
      )
    )
    const r = await verify([keyless.ref], [f])
    assert.equal(r.code, 12)
    const img = r.json.images[0]!
    assert.equal(img.status, 'failed')
    assert.equal(img.error?.code, 'POLICY_DENIED')
    const a = img.policies[0]!.authorities[0]!
    assert.equal(a.status, 'failed')
    assert.match(a.reason ?? '', /identity mismatch/)
    assert.match(r.stderr, /POLICY_DENIED/)
  })

  test('key: with ctlog the log entry is required and verified; without, the key alone', async () => {
    const withLog = policyFile(
      cip(
        'key',
        `${host()}/pol/keyed*`,
        keyAuthority(
          kp.publicKeyPem,
          `  ctlog:\n    url: ${w.stack.rekorUrl}\n`
        )
      )
    )
    const r = await verify([keyed.ref], [withLog])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.images[0]!.policies[0]!.authorities[0]!.type, 'key')
    const noLog = policyFile(
      cip('key', `${host()}/pol/keyed*`, keyAuthority(kp.publicKeyPem))
    )
    assert.equal((await verify([keyed.ref], [noLog])).code, 0)
    const wrongKey = policyFile(
      cip('key', `${host()}/pol/keyed*`, keyAuthority(other.publicKeyPem))
    )
    const bad = await verify([keyed.ref], [wrongKey])
    assert.equal(bad.code, 12)
    assert.equal(
      bad.json.images[0]!.policies[0]!.authorities[0]!.status,
      'failed'
    )
  })

  test('one authority of several suffices; static pass and fail', async () => {
    const f = policyFile(
      cip(
        'any',
        `${host()}/pol/**`,
        `${keyAuthority(other.publicKeyPem)}${keylessAuthority(`subject: ${GITHUB_SAN}`)}`
      )
    )
    const r = await verify([keyless.ref], [f])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      r.json.images[0]!.policies[0]!.authorities.map(a => a.status),
      ['failed', 'passed']
    )
    const pass = policyFile(
      cip('pass', `${host()}/**`, '- static: {action: pass}')
    )
    assert.equal((await verify([keyless.ref], [pass])).code, 0)
    const fail = policyFile(
      cip('fail', `${host()}/**`, '- static: {action: fail, message: frozen}')
    )
    const r2 = await verify([keyless.ref], [fail])
    assert.equal(r2.code, 12)
    assert.match(
      r2.json.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /disallowed by static policy: frozen/
    )
  })

  test('every matching policy must pass; mode: warn reports without failing', async () => {
    const good = cip(
      'good',
      `${host()}/pol/**`,
      keylessAuthority(`subject: ${GITHUB_SAN}`)
    )
    const bad = cip(
      'bad',
      `${host()}/pol/keyless*`,
      keyAuthority(other.publicKeyPem)
    )
    const unrelated = cip('unrelated', 'ghcr.io/**', '- static: {action: fail}')
    const r = await verify([keyless.ref], [policyFile(good, bad, unrelated)])
    assert.equal(r.code, 12)
    assert.deepEqual(
      r.json.images[0]!.policies.map(p => [p.policy, p.status]),
      [
        ['good', 'passed'],
        ['bad', 'failed']
      ]
    )
    const warn = cip(
      'bad',
      `${host()}/pol/keyless*`,
      keyAuthority(other.publicKeyPem),
      '  mode: warn\n'
    )
    const w2 = await verify([keyless.ref], [policyFile(good, warn)])
    assert.equal(w2.code, 0, w2.stderr)
    assert.equal(w2.json.images[0]!.status, 'warned')
    assert.equal(w2.json.images[0]!.policies[1]!.status, 'warned')
    assert.match(w2.stderr, /warning: .*ClusterImagePolicy "bad" warned/)
  })

  test('no-match: deny by default, allow, warn', async () => {
    const f = policyFile(
      cip('elsewhere', 'ghcr.io/**', '- static: {action: pass}')
    )
    const deny = await verify([keyless.ref], [f])
    assert.equal(deny.code, 12)
    assert.equal(deny.json.images[0]!.error?.code, 'POLICY_NO_MATCH')
    assert.match(deny.stderr, /--no-match/)
    const allow = await verify([keyless.ref], [f], ['--no-match', 'allow'])
    assert.equal(allow.code, 0)
    assert.equal(allow.json.images[0]!.status, 'passed')
    const warn = await verify([keyless.ref], [f], ['--no-match', 'warn'])
    assert.equal(warn.code, 0)
    assert.equal(warn.json.images[0]!.status, 'warned')
    assert.match(warn.stderr, /warning: no ClusterImagePolicy matches/)
  })

  test('source[].oci: signatures in another repository', async () => {
    const img = await freshImage(w, 'pol/elsewhere')
    await sign([img.ref], { signatureRepository: `${host()}/pol/signatures` })
    const there = policyFile(
      cip(
        'src',
        `${host()}/pol/elsewhere*`,
        keylessAuthority(
          `subject: ${GITHUB_SAN}`,
          `  source:\n  - oci: ${host()}/pol/signatures\n`
        )
      )
    )
    assert.equal((await verify([img.ref], [there])).code, 0)
    const here = policyFile(
      cip(
        'src',
        `${host()}/pol/elsewhere*`,
        keylessAuthority(`subject: ${GITHUB_SAN}`)
      )
    )
    const r = await verify([img.ref], [here])
    assert.equal(r.code, 12)
    assert.match(
      r.json.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /no signatures found/
    )
  })

  test('signatureFormat: bundle reads bundle referrers; the default reads .sig, and says so', async () => {
    const img = await freshImage(w, 'pol/bundled')
    await sign([img.ref], { format: 'bundle' })
    const legacy = policyFile(
      cip(
        'b',
        `${host()}/pol/bundled*`,
        keylessAuthority(`subject: ${GITHUB_SAN}`)
      )
    )
    const r = await verify([img.ref], [legacy])
    assert.equal(r.code, 12)
    assert.match(
      r.json.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /set signatureFormat: bundle/
    )
    const bundle = policyFile(
      cip(
        'b',
        `${host()}/pol/bundled*`,
        keylessAuthority(
          `subject: ${GITHUB_SAN}`,
          '  signatureFormat: bundle\n'
        )
      )
    )
    assert.equal((await verify([img.ref], [bundle])).code, 0)
  })

  test('TrustRoot documents (sigstoreKeys) and an inline ca-cert as the keyless trust', async () => {
    const tr = w.stack.trustedRoot as unknown as {
      certificateAuthorities: {
        certChain: { certificates: { rawBytes: string }[] }
      }[]
      tlogs: { baseUrl: string; publicKey: { rawBytes: string } }[]
      ctlogs: { baseUrl: string; publicKey: { rawBytes: string } }[]
      timestampAuthorities?: {
        certChain: { certificates: { rawBytes: string }[] }
      }[]
    }
    const pem = (label: string, b64: string): string =>
      `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`
    const chain = (c: {
      certChain: { certificates: { rawBytes: string }[] }
    }): string =>
      c.certChain.certificates.map(x => pem('CERTIFICATE', x.rawBytes)).join('')
    const b64 = (s: string): string => Buffer.from(s).toString('base64')
    const log = (l: {
      baseUrl: string
      publicKey: { rawBytes: string }
    }): string =>
      `{baseURL: "${l.baseUrl}", hashAlgorithm: sha-256, publicKey: ${b64(pem('PUBLIC KEY', l.publicKey.rawBytes))}}`
    const trustRoot = `apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata:
  name: loopback
spec:
  sigstoreKeys:
    certificateAuthorities:
    - subject: {organization: test, commonName: test}
      uri: ${w.stack.fulcioUrl}
      certChain: ${b64(chain(tr.certificateAuthorities[0]!))}
    tLogs: [${tr.tlogs.map(log).join(', ')}]
    ctLogs: [${tr.ctlogs.map(log).join(', ')}]
    timestampAuthorities:
${(tr.timestampAuthorities ?? []).map(t => `    - subject: {organization: test, commonName: tsa}\n      uri: ${w.stack.tsaUrl}\n      certChain: ${b64(chain(t))}`).join('\n')}
`
    const withRef = cip(
      'tr',
      `${host()}/pol/keyless*`,
      `- keyless:
    trustRootRef: loopback
    identities: [{issuer: "${GITHUB_ISSUER}", subject: "${GITHUB_SAN}"}]
  ctlog:
    trustRootRef: loopback
`
    )
    const r = await verify([keyless.ref], [policyFile(trustRoot, withRef)])
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`)
    const missing = await verify([keyless.ref], [policyFile(withRef)])
    assert.equal(missing.code, 12)
    assert.match(
      missing.json.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /TrustRoot "loopback", which was not given/
    )
    const caCert = cip(
      'ca',
      `${host()}/pol/keyless*`,
      `- keyless:
    ca-cert:
      data: |
${indent(chain(tr.certificateAuthorities[0]!), 8)}
    identities: [{issuer: "${GITHUB_ISSUER}", subject: "${GITHUB_SAN}"}]
`
    )
    assert.equal((await verify([keyless.ref], [policyFile(caCert)])).code, 0)
    // A key signature timestamped by the TSA, verified with the TrustRoot's
    // TSA and no transparency log (policy-controller's rfc3161timestamp).
    const img = await freshImage(w, 'pol/tsa')
    await sign([img.ref], {
      key: { pem: kp.privateKeyPem, password: '' },
      tlogUpload: false,
      timestampServerUrl: w.stack.tsaTimestampUrl
    })
    const tsa = cip(
      'tsa',
      `${host()}/pol/tsa*`,
      keyAuthority(
        kp.publicKeyPem,
        '  rfc3161timestamp:\n    trustRootRef: loopback\n'
      )
    )
    const t = await verify([img.ref], [policyFile(trustRoot, tsa)])
    assert.equal(t.code, 0, `${t.stderr}\n${t.stdout}`)
    // Without a timestamp the same policy refuses the key signature.
    const bare = await freshImage(w, 'pol/tsa-none')
    await sign([bare.ref], {
      key: { pem: kp.privateKeyPem, password: '' },
      tlogUpload: false
    })
    const none = await verify(
      [bare.ref],
      [policyFile(trustRoot, tsa.replace('pol/tsa*', 'pol/tsa-none*'))]
    )
    assert.equal(none.code, 12, none.stdout)
    assert.match(
      none.json.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /timestamp/i
    )
  })

  test('what sigil cannot honour fails closed, with the fix; skip-unsupported-policies turns CUE/Rego into a warning', async () => {
    const cue = cip(
      'cue',
      `${host()}/pol/keyless*`,
      keylessAuthority(`subject: ${GITHUB_SAN}`),
      ''
    ).replace(
      /\n$/,
      '\n  policy:\n    type: cue\n    includeSpec: true\n    data: |\n      spec: "serviceAccount": "default"\n'
    )
    const f = policyFile(cue)
    const r = await verify([keyless.ref], [f])
    assert.equal(r.code, 12)
    const p = r.json.images[0]!.policies[0]!
    assert.equal(p.authorities[0]!.status, 'passed')
    assert.match(
      p.reason ?? '',
      /CUE policy.*authorities github was checked, the CUE policy was NOT evaluated/
    )
    assert.match(p.reason ?? '', /skip-unsupported-policies/)
    const skipped = await verify(
      [keyless.ref],
      [f],
      ['--skip-unsupported-policies']
    )
    assert.equal(skipped.code, 0, skipped.stderr)
    assert.match(
      skipped.json.images[0]!.policies[0]!.notes.join('\n'),
      /includeSpec/
    )
    assert.match(
      skipped.json.images[0]!.policies[0]!.notes.join('\n'),
      /skipped/
    )
    assert.match(skipped.stderr, /warning: .*NOT evaluated/)

    const secret = policyFile(
      cip(
        's',
        `${host()}/pol/**`,
        '- key:\n    secretRef: {name: cosign-pub}\n'
      )
    )
    const s = await verify([keyless.ref], [secret])
    assert.equal(s.code, 12)
    assert.match(
      s.json.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /inline the public key as key\.data/
    )
  })

  test('an invalid policy stops the run before any registry call (exit 2); policy and identity flags conflict', async () => {
    const f = policyFile(
      cip('x', `${host()}/[bad]`, '- static: {action: pass}')
    )
    const r = await verify(['127.0.0.1:1/nowhere:tag'], [f])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /INPUT_POLICY_INVALID/)
    assert.match(r.stderr, /spec\.images\[0\]\.glob/)
    const c = await verify(
      [keyless.ref],
      [f],
      ['--certificate-identity', GITHUB_SAN]
    )
    assert.equal(c.code, 2)
    assert.match(
      c.stderr,
      /--policy cannot be combined with --certificate-identity/
    )
  })

  test('text output: per image, policy and authority', async () => {
    const f = policyFile(
      cip(
        'text',
        `${host()}/pol/**`,
        keylessAuthority(`subject: ${GITHUB_SAN}`)
      )
    )
    const r = await execNode(
      CLI,
      [
        'verify',
        '--trusted-root',
        w.stack.trustedRootPath,
        '--policy',
        f,
        keyless.ref
      ],
      { env: { PATH: process.env.PATH, HOME: w.tmp } }
    )
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^PASS .*pol\/keyless@sha256:/m)
    assert.match(r.stdout, /^ {2}PASS ClusterImagePolicy "text"/m)
    assert.match(
      r.stdout,
      new RegExp(
        `^ {4}pass authority "github" \\(keyless\\): ${GITHUB_SAN.replace(/[.?]/g, '\\$&')}`,
        'm'
      )
    )
  })
})

describe('attestation authorities: the pluggable verifier contract', () => {
  test('statements from the plugged-in verifier are matched by predicate type (cosign short names too); their CUE policy fails closed or is skipped', async () => {
    const img = await freshImage(w, 'pol/attested')
    const f = policyFile(
      cip(
        'att',
        `${host()}/pol/attested*`,
        keylessAuthority(
          `subject: ${GITHUB_SAN}`,
          '  attestations:\n  - name: prov\n    predicateType: https://slsa.dev/provenance/v1\n  - name: sbom\n    predicateType: spdxjson\n    policy: {type: cue, data: "predicateType: \\"https://spdx.dev/Document\\""}\n'
        )
      )
    )
    const set = await loadPolicies([f])
    const seen: string[] = []
    const verifier =
      (types: string[]): AttestationVerifier =>
      async req => {
        seen.push(
          `${req.signatureRepository.repository} ${req.options.anyPolicy?.length} ${req.attestations.map(a => a.name).join(',')}`
        )
        return types.map(predicateType => ({
          predicateType,
          statement: { predicateType },
          location: `${req.target.repository}@sha256:att`
        }))
      }
    const run = (types: string[], skip: boolean) =>
      verifyImagesWithPolicies(
        {
          images: [img.ref],
          recursive: false,
          concurrency: 2,
          trust: w.trust,
          policies: set,
          noMatch: 'deny',
          skipUnsupportedPolicies: skip
        },
        {
          logger: nullLogger,
          registryFor: w.runtime.registryFor,
          attestationVerifier: verifier(types)
        }
      )
    const both = ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document']
    const skipped = await run(both, true)
    assert.equal(skipped.ok, true, JSON.stringify(skipped))
    assert.deepEqual(
      skipped.images[0]!.policies[0]!.authorities[0]!.attestations?.map(
        a => a.name
      ),
      ['prov', 'sbom']
    )
    assert.deepEqual(seen[0], 'pol/attested 1 prov,sbom')
    const closed = await run(both, false)
    assert.equal(closed.ok, false)
    assert.equal(
      closed.images[0]!.policies[0]!.authorities[0]!.code,
      'POLICY_ATTESTATION_POLICY_FAILED'
    )
    assert.match(
      closed.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /"sbom" policy .*CUE policy was NOT evaluated/
    )
    const missing = await run(['https://slsa.dev/provenance/v1'], true)
    assert.equal(missing.ok, false)
    assert.match(
      missing.images[0]!.policies[0]!.authorities[0]!.reason ?? '',
      /no verified attestation of predicate type spdxjson/
    )
  })
})

describe('verify action with policy', () => {
  test('passes with the result output and a per-authority summary; a no-match image fails the step', async () => {
    const img = await freshImage(w, 'act/app')
    await sign([img.ref])
    const f = policyFile(
      cip(
        'action',
        `${host()}/act/**`,
        keylessAuthority(`subject: ${GITHUB_SAN}`)
      )
    )
    const ok = await runAction(join(root, 'verify'), {
      inputs: {
        images: img.ref,
        policy: f,
        'trusted-root': w.stack.trustedRootPath
      }
    })
    assert.equal(ok.exitCode, 0, ok.stdout)
    assert.deepEqual(ok.unexpected, [])
    assert.equal(ok.outputs.verified, img.digest)
    assert.equal(ok.outputs.identities, `${GITHUB_SAN} (${GITHUB_ISSUER})`)
    const result = JSON.parse(ok.outputs.result ?? '{}') as Json
    assert.equal(
      result.images[0]!.policies[0]!.authorities[0]!.status,
      'passed'
    )
    assert.match(ok.summary, /policy verification passed/)
    assert.match(ok.summary, /github \(keyless\)/)

    const elsewhere = policyFile(
      cip('other', 'ghcr.io/**', '- static: {action: pass}')
    )
    const bad = await runAction(join(root, 'verify'), {
      inputs: {
        images: img.ref,
        policy: elsewhere,
        'trusted-root': w.stack.trustedRootPath
      }
    })
    assert.equal(bad.exitCode, 1)
    assert.ok(
      bad.commands.some(
        c => c.command === 'error' && /POLICY_NO_MATCH/.test(c.message)
      ),
      bad.stdout
    )
    assert.equal(bad.outputs.verified, '')
    assert.match(bad.summary, /no policy matches \(no-match: deny\)/)
  })
})

describe('verify --policy: attestations authorities', () => {
  test('a verified attestation of the predicate type passes; none, another type, or an unevaluated predicate policy fails', async () => {
    const img = await freshImage(w, 'pol/attested')
    await sign([img.ref])
    const authority = (predicateType: string, policy = ''): string =>
      policyFile(
        cip(
          `att-${n}`,
          `${host()}/pol/attested*`,
          keylessAuthority(
            `subject: ${GITHUB_SAN}`,
            `  attestations:\n  - name: prov\n    predicateType: ${predicateType}\n${policy}`
          )
        )
      )
    const slsa = authority('https://slsa.dev/provenance/v1')

    // Signed but not attested: the authority has nothing to evaluate.
    const none = await verify([img.ref], [slsa])
    assert.equal(none.code, 12, none.stderr)
    assert.equal(
      none.json.images[0]!.policies[0]!.authorities[0]!.code,
      'POLICY_NO_ATTESTATIONS'
    )

    const predicate = join(dir, 'provenance.json')
    writeFileSync(
      predicate,
      JSON.stringify({
        buildDefinition: {
          buildType: 'https://example.com/build/v1',
          externalParameters: {}
        },
        runDetails: { builder: { id: 'https://example.com/builder' } }
      })
    )
    const attested = await execNode(
      CLI,
      [
        'attest',
        '--predicate',
        predicate,
        '--type',
        'slsaprovenance1',
        '--format',
        'both',
        '--fulcio-url',
        w.stack.fulcioUrl,
        '--rekor-url',
        w.stack.rekorUrl,
        '--trusted-root',
        w.stack.trustedRootPath,
        img.ref
      ],
      {
        env: { PATH: process.env.PATH, HOME: w.tmp, SIGSTORE_ID_TOKEN: w.token }
      }
    )
    assert.equal(attested.code, 0, attested.stderr)

    const ok = await verify([img.ref], [slsa])
    assert.equal(ok.code, 0, ok.stderr)
    const a = ok.json.images[0]!.policies[0]!.authorities[0]!
    assert.equal(a.status, 'passed')
    // Both stored forms verified (the .att layer and the bundle referrer).
    const where = (a as { attestations?: { location: string }[] }).attestations
    assert.ok(where && where.length >= 1, JSON.stringify(a))

    const spdx = await verify(
      [img.ref],
      [authority('https://spdx.dev/Document')]
    )
    assert.equal(spdx.code, 12)
    const sa = spdx.json.images[0]!.policies[0]!.authorities[0]!
    assert.equal(sa.code, 'POLICY_NO_ATTESTATIONS')
    assert.match(sa.reason ?? '', /found: https:\/\/slsa\.dev\/provenance\/v1/)

    // Another signer's identity: the attestations do not verify for it.
    const wrong = policyFile(
      cip(
        `att-wrong`,
        `${host()}/pol/attested*`,
        keylessAuthority(
          'subject: https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main',
          '  attestations:\n  - name: prov\n    predicateType: https://slsa.dev/provenance/v1\n'
        )
      )
    )
    const w2 = await verify([img.ref], [wrong])
    assert.equal(w2.code, 12)
    assert.equal(w2.json.images[0]!.policies[0]!.status, 'failed')

    // A CUE policy over the predicate: no engine, so it fails closed.
    const cue = await verify(
      [img.ref],
      [
        authority(
          'https://slsa.dev/provenance/v1',
          '    policy:\n      type: cue\n      data: |\n        predicateType: "https://slsa.dev/provenance/v1"\n'
        )
      ]
    )
    assert.equal(cue.code, 12)
    assert.equal(
      cue.json.images[0]!.policies[0]!.authorities[0]!.code,
      'POLICY_ATTESTATION_POLICY_FAILED'
    )
  })
})
