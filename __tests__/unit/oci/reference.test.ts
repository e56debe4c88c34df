import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  formatReference,
  isLoopbackRegistry,
  parseReference,
  repositoryName,
  withDigest,
  type Reference
} from '../../../src/oci/index.ts'
import { InputError } from '../../../src/util/index.ts'

const D = `sha256:${'a'.repeat(64)}`
const D2 = `sha256:${'0123456789abcdef'.repeat(4)}`

const valid: [string, Reference][] = [
  [
    'alpine',
    { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }
  ],
  [
    'alpine:3.20',
    { registry: 'index.docker.io', repository: 'library/alpine', tag: '3.20' }
  ],
  [
    'library/alpine',
    { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }
  ],
  [
    'docker.io/alpine',
    { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }
  ],
  [
    'docker.io/library/alpine:edge',
    { registry: 'index.docker.io', repository: 'library/alpine', tag: 'edge' }
  ],
  [
    'registry-1.docker.io/foo/bar',
    { registry: 'index.docker.io', repository: 'foo/bar', tag: 'latest' }
  ],
  [
    'index.docker.io/foo/bar:1',
    { registry: 'index.docker.io', repository: 'foo/bar', tag: '1' }
  ],
  [
    'Docker.IO/alpine',
    { registry: 'index.docker.io', repository: 'library/alpine', tag: 'latest' }
  ],
  [
    'user/repo',
    { registry: 'index.docker.io', repository: 'user/repo', tag: 'latest' }
  ],
  [
    'ghcr.io/org/app:v1.2.3',
    { registry: 'ghcr.io', repository: 'org/app', tag: 'v1.2.3' }
  ],
  [
    `ghcr.io/org/app@${D}`,
    { registry: 'ghcr.io', repository: 'org/app', digest: D }
  ],
  [
    `ghcr.io/org/app:v1@${D}`,
    { registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest: D }
  ],
  [
    'GHCR.io/org/app',
    { registry: 'ghcr.io', repository: 'org/app', tag: 'latest' }
  ],
  [
    'localhost/app',
    { registry: 'localhost', repository: 'app', tag: 'latest' }
  ],
  [
    'localhost:5000/a/b/c:t',
    { registry: 'localhost:5000', repository: 'a/b/c', tag: 't' }
  ],
  [
    `127.0.0.1:5000/demo/hello@${D2}`,
    { registry: '127.0.0.1:5000', repository: 'demo/hello', digest: D2 }
  ],
  ['[::1]:5000/app:x', { registry: '[::1]:5000', repository: 'app', tag: 'x' }],
  [
    'registry.gitlab.com/group/sub/project/image:main',
    {
      registry: 'registry.gitlab.com',
      repository: 'group/sub/project/image',
      tag: 'main'
    }
  ],
  [
    'my-registry.example:443/a_b/c__d/e-f/g.h',
    {
      registry: 'my-registry.example:443',
      repository: 'a_b/c__d/e-f/g.h',
      tag: 'latest'
    }
  ],
  [
    'ghcr.io/o/a---b',
    { registry: 'ghcr.io', repository: 'o/a---b', tag: 'latest' }
  ],
  [
    'ghcr.io/o/app:_under',
    { registry: 'ghcr.io', repository: 'o/app', tag: '_under' }
  ],
  [
    `ghcr.io/o/app:${'t'.repeat(128)}`,
    { registry: 'ghcr.io', repository: 'o/app', tag: 't'.repeat(128) }
  ],
  [
    '  ghcr.io/o/app:v1  ',
    { registry: 'ghcr.io', repository: 'o/app', tag: 'v1' }
  ]
]

const invalid: [string, RegExp][] = [
  ['', /empty/],
  ['ghcr.io/Org/app', /lower-case/],
  ['Alpine', /lower-case/],
  ['ghcr.io/org/app:', /tag ""/],
  ['ghcr.io/org/app:.hidden', /tag/],
  ['ghcr.io/org/app:-x', /tag/],
  [`ghcr.io/org/app:${'t'.repeat(129)}`, /tag/],
  ['ghcr.io/org/app@sha256:abc', /digest/],
  [`ghcr.io/org/app@sha256:${'A'.repeat(64)}`, /digest/],
  [`ghcr.io/org/app@sha512:${'a'.repeat(128)}`, /digest/],
  [`ghcr.io/org/app@${D}@${D}`, /digest/],
  ['ghcr.io/org//app', /component ""/],
  ['ghcr.io/org/app/', /component ""/],
  ['ghcr.io/', /repository is empty/],
  ['ghcr.io/org/-app', /component/],
  ['ghcr.io/org/app_', /component/],
  ['ghcr.io/org/a..b', /component/],
  ['https://ghcr.io/org/app', /scheme/],
  ['ghcr.io/org/my app', /whitespace/],
  ['-bad.example/app', /registry/],
  ['host.example:99999/app', /registry/],
  [`ghcr.io/${'a'.repeat(250)}`, /longer than 255/]
]

describe('parseReference', () => {
  for (const [input, want] of valid) {
    test(`valid: ${JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input)}`, () => {
      assert.deepEqual(parseReference(input), want)
    })
  }
  for (const [input, why] of invalid) {
    test(`invalid: ${JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (e: unknown) => {
          assert.ok(e instanceof InputError)
          assert.equal(e.code, 'INPUT_INVALID_REFERENCE')
          assert.ok(
            e.message.includes(JSON.stringify(input)),
            'quotes the input'
          )
          assert.match(
            e.message,
            /expected \[registry\[:port\]\/\]repository\[:tag\]\[@sha256:<64 hex>\]/
          )
          assert.match(e.message, why)
          return true
        }
      )
    })
  }
})

test('formatReference, withDigest, repositoryName', () => {
  const ref = parseReference('alpine:3')
  assert.equal(formatReference(ref), 'index.docker.io/library/alpine:3')
  assert.equal(repositoryName(ref), 'index.docker.io/library/alpine')
  const pinned = withDigest(ref, D)
  assert.equal(formatReference(pinned), `index.docker.io/library/alpine:3@${D}`)
  assert.deepEqual(parseReference(formatReference(pinned)), pinned)
  assert.throws(() => withDigest(ref, 'sha256:nope'), TypeError)
})

test('isLoopbackRegistry', () => {
  for (const h of [
    'localhost',
    'localhost:5000',
    '127.0.0.1',
    '127.0.0.1:5000',
    '127.1.2.3:1',
    '[::1]:5000',
    '::1',
    'LOCALHOST:1'
  ]) {
    assert.equal(isLoopbackRegistry(h), true, h)
  }
  for (const h of [
    'ghcr.io',
    '10.0.0.1:5000',
    '128.0.0.1',
    'localhost.evil.com',
    '127.0.0.1.nip.io',
    '[::2]:5000'
  ]) {
    assert.equal(isLoopbackRegistry(h), false, h)
  }
})
