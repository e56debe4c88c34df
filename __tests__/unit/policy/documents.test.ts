import assert from 'node:assert/strict'
import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  PolicyDocumentError,
  loadPolicies,
  readPolicies
} from '../../../src/policy/index.ts'
import { policiesDir } from '../../support/vectors.ts'

const samples = policiesDir()

describe(
  'the shared ClusterImagePolicy samples',
  { skip: samples.skip },
  () => {
    test('all 43 parse and pass the webhook validation', async () => {
      const dir = samples.dir!
      const files = (await readdir(dir)).filter(f => f.endsWith('.yaml'))
      assert.equal(files.length, 43)
      for (const f of files) {
        const set = await readPolicies([join(dir, f)])
        const errors = set.issues.filter(i => i.level === 'error')
        assert.deepEqual(errors, [], f)
        assert.equal(set.policies.length, 1, f)
      }
    })

    test('the directory loads as one set, with the deprecated short predicate types warned', async () => {
      const set = await readPolicies([samples.dir!])
      // Several samples share a name (they are applied one at a time in e2e).
      const dupes = set.issues.filter(i => /already given/.test(i.message))
      assert.ok(dupes.length > 0)
      const short = set.issues.filter(
        i => i.level === 'warning' && /deprecated value/.test(i.message)
      )
      assert.deepEqual(
        short.map(i => i.document.split('/').pop()),
        [
          'examples_policies_custom-key-attestation-sbom-spdxjson.yaml (ClusterImagePolicy "custom-key-attestation-sbom-spdxjson")',
          'examples_policies_keyless-attestation-sbom-spdxjson.yaml (ClusterImagePolicy "keyless-attestation-sbom-spdxjson")'
        ]
      )
    })

    test('fields come through typed, with policy-controller defaults', async () => {
      const one = async (f: string) =>
        (await loadPolicies([join(samples.dir!, f)])).policies[0]!
      const kk = await one(
        'test_testdata_policy-controller_e2e_cip-key-and-keyless-ignore-sct.yaml'
      )
      assert.deepEqual(
        kk.authorities.map(a => a.name),
        ['authority-0', 'authority-1']
      )
      assert.match(kk.authorities[0]!.key!.data!, /BEGIN PUBLIC KEY/)
      assert.equal(
        kk.authorities[0]!.ctlog!.url,
        'http://rekor.rekor-system.svc'
      )
      assert.equal(kk.authorities[1]!.keyless!.insecureIgnoreSCT, true)
      assert.deepEqual(kk.authorities[1]!.keyless!.identities, [
        {
          issuerRegExp: '.*kubernetes.default.*',
          subjectRegExp:
            '.*kubernetes.io/namespaces/default/serviceaccounts/default'
        }
      ])
      const warn = await one(
        'test_testdata_policy-controller_e2e_cip-keyless-warn.yaml'
      )
      assert.equal(warn.mode, 'warn')
      const src = await one(
        'test_testdata_policy-controller_e2e_cip-keyless-with-source.yaml'
      )
      assert.equal(src.apiVersion, 'policy.sigstore.dev/v1beta1')
      assert.deepEqual(src.authorities[0]!.source, [
        { oci: 'registry.local:5000/policy-controller/demo' }
      ])
      const fail = await one(
        'test_testdata_policy-controller_e2e_cip-static-fail.yaml'
      )
      assert.deepEqual(fail.authorities[0]!.static, { action: 'fail' })
      const gh = await one('examples_policies_signed-by-github-actions.yaml')
      assert.deepEqual(gh.globs, ['**'])
      assert.equal(
        gh.authorities[0]!.keyless!.url,
        'https://fulcio.sigstore.dev'
      )
      const spec = await one(
        'test_testdata_policy-controller_e2e_cip-include-spec.yaml'
      )
      assert.match(spec.ignored.join('\n'), /includeSpec/)
      const match = await one(
        'test_testdata_policy-controller_e2e_cip-match-resource-label.yaml'
      )
      assert.match(match.ignored.join('\n'), /spec\.match/)
      const att = await one(
        'test_testdata_policy-controller_e2e_cip-keyless-with-attestations-rego.yaml'
      )
      assert.equal(att.authorities[0]!.attestations[0]!.policy!.type, 'rego')
      const tsa = await one(
        'test_testdata_policy-controller_e2e_cip-key-tsa.yaml'
      )
      assert.deepEqual(tsa.authorities[0]!.rfc3161timestamp, {
        trustRootRef: 'my-sigstore-keys'
      })
    })
  }
)

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIcbqK2RAVZOfPzo+kbOhNYq8DK9f
B2BGbU7jAXEvYthJ3vRcYq8l7g9UAXXiz9P2awFuTa4COcZU2IdEDVU0uA==
-----END PUBLIC KEY-----`

async function check(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'sigil-policy-'))
  const f = join(dir, 'p.yaml')
  await writeFile(f, yaml)
  return (await readPolicies([f])).issues
}

const cip = (spec: string, version = 'v1alpha1'): string =>
  `apiVersion: policy.sigstore.dev/${version}
kind: ClusterImagePolicy
metadata:
  name: t
spec:
${spec
  .split('\n')
  .map(l => `  ${l}`)
  .join('\n')}
`

const keyAuthority = `  - key:
      data: |
${KEY.split('\n')
  .map(l => `        ${l}`)
  .join('\n')}`

describe('rejected as the admission webhook rejects', () => {
  const cases: [string, string, RegExp, RegExp?][] = [
    [
      'no key, keyless or static',
      cip('images: [{glob: "**"}]\nauthorities:\n- name: x'),
      /expected exactly one, got neither: key, keyless, static/
    ],
    [
      'key and keyless together',
      cip(
        `images: [{glob: "**"}]\nauthorities:\n${keyAuthority}\n    keyless: {url: "https://fulcio.sigstore.dev", identities: [{issuer: a, subject: b}]}`
      ),
      /expected exactly one, got both: key, keyless, static/
    ],
    [
      'an invalid glob',
      cip(
        'images: [{glob: "ghcr.io/[a-z]*"}]\nauthorities: [{static: {action: pass}}]'
      ),
      /spec\.images\[0\]\.glob: invalid value "ghcr\.io\/\[a-z\]\*": glob is invalid/
    ],
    [
      'a lookaround regexp',
      cip(
        'images: [{glob: "**"}]\nauthorities:\n- keyless:\n    identities: [{issuer: a, subjectRegExp: "(?!evil).*"}]'
      ),
      /identities\[0\]\.subjectRegExp: uses a backreference or lookaround/
    ],
    [
      'an identity without issuer',
      cip(
        'images: [{glob: "**"}]\nauthorities:\n- keyless:\n    identities: [{subject: a}]'
      ),
      /missing field\(s\): issuer, issuerRegExp/
    ],
    [
      'keyless without identities',
      cip(
        'images: [{glob: "**"}]\nauthorities:\n- keyless: {url: "https://fulcio.sigstore.dev"}'
      ),
      /keyless\.identities: missing field/
    ],
    [
      'a misspelt field',
      cip(
        'images: [{glob: "**"}]\nauthorities:\n- keyless:\n    identities: [{issuer: a, subjectRegexp: b}]'
      ),
      /unknown field "subjectRegexp"[\s\S]*spelled "subjectRegExp"/
    ],
    [
      'static with ctlog',
      cip(
        'images: [{glob: "**"}]\nauthorities:\n- static: {action: pass}\n  ctlog: {url: "https://rekor.sigstore.dev"}'
      ),
      /expected exactly one, got both: static, ctlog/
    ],
    [
      'an unknown static action',
      cip('images: [{glob: "**"}]\nauthorities: [{static: {action: allow}}]'),
      /static\.action: invalid value "allow"/
    ],
    [
      'an unknown mode',
      cip(
        'mode: audit\nimages: [{glob: "**"}]\nauthorities: [{static: {action: pass}}]'
      ),
      /spec\.mode: invalid value "audit"/
    ],
    [
      'an attestation policy with includeSpec',
      cip(
        `images: [{glob: "**"}]\nauthorities:\n${keyAuthority}\n    attestations:\n    - name: a\n      predicateType: https://slsa.dev/provenance/v1\n      policy: {type: cue, data: "x: 1", includeSpec: true}`
      ),
      /attestations\[0\]\.policy\.includeSpec: must not set the field/
    ],
    [
      'an attestation without predicateType',
      cip(
        `images: [{glob: "**"}]\nauthorities:\n${keyAuthority}\n    attestations:\n    - name: a`
      ),
      /attestations\[0\]\.predicateType: missing field/
    ],
    [
      'a policy of an unknown type',
      cip(
        'images: [{glob: "**"}]\nauthorities: [{static: {action: pass}}]\npolicy: {type: jq, data: "."}'
      ),
      /spec\.policy\.type: invalid value "jq"/
    ],
    [
      'a key that is not a public key',
      cip('images: [{glob: "**"}]\nauthorities:\n- key: {data: "not a key"}'),
      /key\.data: invalid value: not a PEM public key/
    ],
    [
      'a bad hash algorithm',
      cip(
        `images: [{glob: "**"}]\nauthorities:\n${keyAuthority}\n      hashAlgorithm: md5`
      ),
      /key\.hashAlgorithm: invalid value "md5"/
    ],
    [
      'two sources',
      cip(
        `images: [{glob: "**"}]\nauthorities:\n${keyAuthority}\n    source: [{oci: "ghcr.io/a/b"}, {oci: "ghcr.io/c/d"}]`
      ),
      /only single source is supported/
    ],
    [
      'a TrustRoot at v1beta1',
      'apiVersion: policy.sigstore.dev/v1beta1\nkind: TrustRoot\nmetadata: {name: r}\nspec: {sigstoreKeys: {certificateAuthorities: []}}\n',
      /apiVersion: "policy\.sigstore\.dev\/v1beta1" is not a TrustRoot version/
    ],
    [
      'another kind of document',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n',
      /"ConfigMap" is not a policy-controller document/
    ],
    [
      'a YAML syntax error',
      cip('images: [{glob: "**"}\nauthorities: [{static: {action: pass}}]'),
      /not valid YAML/
    ],
    [
      'no images',
      cip('authorities: [{static: {action: pass}}]'),
      /spec\.images: missing field/
    ]
  ]
  for (const [what, yaml, want] of cases) {
    test(what, async () => {
      const issues = await check(yaml)
      const errors = issues.filter(i => i.level === 'error')
      assert.ok(errors.length > 0, `no error for ${what}`)
      const text = errors
        .map(i => `${i.path}: ${i.message}${i.fix ? ` fix: ${i.fix}` : ''}`)
        .join('\n')
      assert.match(text, want)
      assert.ok(errors.every(i => i.document.includes('p.yaml')))
    })
  }

  test('loadPolicies stops a verify run with every error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-policy-'))
    const f = join(dir, 'p.yaml')
    await writeFile(
      f,
      cip(
        'mode: audit\nimages: [{glob: "ghcr.io/[x]"}]\nauthorities: [{static: {action: pass}}]'
      )
    )
    await assert.rejects(loadPolicies([f]), (e: unknown) => {
      assert.ok(e instanceof PolicyDocumentError)
      assert.equal(e.code, 'INPUT_POLICY_INVALID')
      assert.match(e.message, /2 errors/)
      assert.match(e.message, /spec\.mode/)
      assert.match(e.message, /spec\.images\[0\]\.glob/)
      return true
    })
  })

  test('multi-document files and directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-policy-'))
    await writeFile(
      join(dir, 'a.yaml'),
      `${cip('images: [{glob: "**"}]\nauthorities: [{static: {action: pass}}]')}---\n${cip('images: [{glob: "ghcr.io/**"}]\nauthorities: [{static: {action: fail}}]', 'v1beta1').replace('name: t', 'name: u')}---\n`
    )
    await writeFile(join(dir, 'notes.txt'), 'not a policy')
    const set = await loadPolicies([dir])
    assert.deepEqual(
      set.policies.map(p => [p.name, p.apiVersion]),
      [
        ['t', 'policy.sigstore.dev/v1alpha1'],
        ['u', 'policy.sigstore.dev/v1beta1']
      ]
    )
    assert.match(
      set.policies[1]!.document,
      /a\.yaml#2 \(ClusterImagePolicy "u"\)/
    )
  })

  test('a trustRootRef without its TrustRoot is a warning', async () => {
    const issues = await check(
      cip(
        'images: [{glob: "**"}]\nauthorities:\n- keyless:\n    trustRootRef: mine\n    identities: [{issuer: a, subject: b}]'
      )
    )
    assert.deepEqual(
      issues.map(i => [i.level, i.path]),
      [['warning', 'spec.authorities[0].keyless.trustRootRef']]
    )
  })
})
