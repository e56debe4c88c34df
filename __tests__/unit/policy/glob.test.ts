import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileGlob, globMatches } from '../../../src/policy/index.ts'

// policy-controller pkg/apis/glob/glob_test.go, case for case.
const D =
  'sha256:5504f2a95018e3d8a52d80d9e1a128c6ea337581808ff9fe96f5628ce2336350'
const cases: [string, string, boolean][] = [
  ['foo', 'index.docker.io/library/foo:latest', true],
  ['foo', 'index.docker.io/library/foo:*', true],
  ['foo', 'index.docker.io/library/*', true],
  ['foo', 'index.docker.io/library/*:latest', true],
  ['foo', 'index.docker.io/*/*', true],
  ['foo', 'index.docker.io/**', true],
  ['foo', 'index.docker.**', true],
  ['foo', 'inde**', true],
  ['foo', '**', true],
  ['foo', 'foo', true],
  ['foo', 'foo*', true],
  ['foo', 'foo**', true],
  ['myuser/myapp', 'index.docker.io/myuser/myapp:latest', true],
  ['myuser/myapp', 'index.docker.io/myuser/myapp:*', true],
  ['myuser/myapp', 'index.docker.io/myuser/*', true],
  ['myuser/myapp', 'index.docker.io/myuser/*:latest', true],
  ['myuser/myapp', 'index.docker.io/*/*', true],
  ['myuser/myapp', 'index.docker.io/**', true],
  ['myuser/myapp', 'myuser/myapp', true],
  ['myuser/myapp', 'myuser/myapp*', true],
  ['ghcr.io/foo/bar', 'ghcr.io/*/*', true],
  ['ghcr.io/foo/bar', 'ghcr.io/**', true],
  ['ghcr.io/foo', 'ghcr.io/*/*', false],
  ['ghcr.io/foo', 'ghcr.io/**', true],
  ['ghcr.io/foo', 'ghc**', true],
  ['ghcr.io/foo', '*/**', true],
  ['ghcr.io/foo', 'ghcr.io/foo*', true],
  ['prefix-ghcr.io/foo', 'ghcr.io/foo', false],
  ['ghcr.io/foo-suffix', 'ghcr.io/foo', false],
  ['ghcrxio/foo', 'ghcr.io/**', false],
  ['invalid&name', '**', false],
  ['invalid-glob', '.+', false],
  ['invalid-glob', '[a-z]*', false],
  ['foo', '*', true],
  ['myuser/myapp', '*/*', true],
  [`ghcr.io/foo@${D}`, `ghcr.io/foo@${D}`, true],
  // docker.io aliases normalise to index.docker.io
  ['docker.io/library/busybox:1.36', 'index.docker.io/library/busybox:*', true],
  // a tag glob does not match a digest reference
  [`ghcr.io/foo@${D}`, 'ghcr.io/foo:*', false]
]

for (const [image, glob, want] of cases) {
  test(`glob ${glob} ${want ? 'matches' : 'does not match'} ${image}`, () => {
    assert.equal(globMatches(glob, [image]), want)
  })
}

test('invalid globs are rejected with a reason', () => {
  assert.equal(typeof compileGlob('.+'), 'string')
  assert.equal(typeof compileGlob('[a-z]*'), 'string')
  assert.ok(compileGlob('ghcr.io/**') instanceof RegExp)
})

test('an image matches by what was written or by the digest it resolved to', () => {
  const names = ['localhost:5000/app:v1', `localhost:5000/app@${D}`]
  assert.equal(globMatches('localhost:5000/app:v*', names), true)
  assert.equal(globMatches(`localhost:5000/app@${D}`, names), true)
  assert.equal(globMatches('localhost:5000/other**', names), false)
})
