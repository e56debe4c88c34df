// Static checks of .github/workflows/release.yml, which only runs on a tag
// push on GitHub: one vMAJOR.MINOR.PATCH tag yields the npm package and its
// tarball, the image tags the GitLab templates use, the moving major tag and
// the plain semver tag from which .gitlab-ci.yml makes the catalog release.
// The tag-parsing step itself is run here with bash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = join(import.meta.dirname, '../../..')

interface Step {
  name?: string
  id?: string
  uses?: string
  run?: string
  with?: Record<string, string>
  env?: Record<string, string>
}
const wf = parse(
  readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')
) as {
  on: unknown
  permissions: unknown
  jobs: Record<string, { permissions: Record<string, string>; steps: Step[] }>
}
const job = wf.jobs['release']!
const steps = job.steps
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
}
const index = (pred: (s: Step) => boolean, what: string): number => {
  const i = steps.findIndex(pred)
  assert.ok(i >= 0, `no step ${what}`)
  return i
}
const named = (name: string): Step => steps[index(s => s.name === name, name)]!

/** Runs the "version from the tag" step as the runner would. */
function versionStep(tag: string): {
  status: number
  outputs: Record<string, string>
  out: string
} {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-release-'))
  try {
    const output = join(dir, 'output')
    writeFileSync(output, '')
    const r = spawnSync(
      'bash',
      ['-e', '-c', named('version from the tag').run!],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, GITHUB_REF_NAME: tag, GITHUB_OUTPUT: output }
      }
    )
    const outputs = Object.fromEntries(
      readFileSync(output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(l => l.split('=') as [string, string])
    )
    return { status: r.status ?? 1, outputs, out: r.stdout + r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('runs on vX.Y.Z tag pushes only, least privilege, actions pinned by commit', () => {
  assert.deepEqual(wf.on, { push: { tags: ['v*.*.*'] } })
  assert.deepEqual(wf.permissions, {})
  assert.deepEqual(job.permissions, {
    contents: 'write',
    packages: 'write',
    'id-token': 'write'
  })
  for (const s of steps) {
    if (s.uses && !s.uses.startsWith('./'))
      assert.match(s.uses, /@[0-9a-f]{40}$/, s.uses)
  }
})

test('the tag must be vMAJOR.MINOR.PATCH and equal package.json version', () => {
  const ok = versionStep(`v${pkg.version}`)
  assert.equal(ok.status, 0, ok.out)
  assert.deepEqual(ok.outputs, {
    version: pkg.version,
    major: pkg.version.split('.')[0]!
  })
  const other = versionStep('v99.0.0')
  assert.notEqual(other.status, 0)
  assert.match(other.out, /package\.json says/)
  for (const bad of ['v1.2', 'v1.2.3-rc.1', '1.2.3']) {
    const r = versionStep(bad)
    assert.notEqual(r.status, 0, bad)
    assert.match(r.out, /is not vMAJOR\.MINOR\.PATCH/)
  }
})

test('order: version check, npm ci, fresh dist/, npm test, then anything published', () => {
  const check = index(s => s.id === 'version', 'version')
  const ci = index(s => s.run === 'npm ci', 'npm ci')
  const dist = index(s => s.name === 'dist/ matches the tagged sources', 'dist')
  const tests = index(s => s.run === 'npm test', 'npm test')
  assert.ok(check < ci && ci < dist && dist < tests)
  const publishing = steps.filter(
    s => /npm publish|git push|gh release/.test(s.run ?? '') || s.with?.['push']
  )
  assert.equal(publishing.length, 5)
  for (const s of publishing) assert.ok(steps.indexOf(s) > tests, s.name)
  assert.equal(steps[tests]!.env?.['CI'], 'true')
})

test('the npm tarball is published and attached to the GitHub release', () => {
  const pack = index(s => s.run === 'npm pack', 'npm pack')
  const tarball = `sigil-\${{ steps.version.outputs.version }}.tgz`
  assert.equal(
    pkg.name,
    'sigil',
    'npm pack names the tarball after the package'
  )
  const publish = named('publish the npm package')
  assert.ok(
    publish.run!.includes(
      `npm publish --provenance --access public "${tarball}"`
    )
  )
  const release = named('GitHub release with the npm tarball')
  assert.ok(
    release.run!.includes(`gh release create "$GITHUB_REF_NAME" "${tarball}"`)
  )
  assert.match(release.run!, /--verify-tag/)
  assert.ok(steps.indexOf(publish) > pack && steps.indexOf(release) > pack)
})

test('image tags include the component version the GitLab templates default to', () => {
  const build = steps.find(s => s.id === 'build')!
  const tags = build.with!['tags']!.trim().split('\n')
  assert.deepEqual(tags, [
    'ghcr.io/sigil-sign/sigil:${{ steps.version.outputs.version }}',
    'ghcr.io/sigil-sign/sigil:v${{ steps.version.outputs.version }}',
    'ghcr.io/sigil-sign/sigil:${{ steps.version.outputs.major }}'
  ])
  for (const t of ['sign', 'verify']) {
    const text = readFileSync(join(root, 'templates', `${t}.yml`), 'utf8')
    assert.match(
      text,
      /default: ghcr\.io\/sigil-sign\/sigil:\$\[\[ component\.version \]\]/
    )
  }
  const sign = named('sign the image with Sigil itself')
  assert.equal(sign.uses, './')
  assert.equal(
    sign.with!['images'],
    'ghcr.io/sigil-sign/sigil@${{ steps.build.outputs.digest }}'
  )
})

test('the major tag moves; the plain semver tag triggers the GitLab catalog release', () => {
  const major = named('move the major tag').run!
  assert.match(
    major,
    /git tag -f "v\$\{\{ steps\.version\.outputs\.major \}\}"/
  )
  assert.match(
    major,
    /git push -f origin "refs\/tags\/v\$\{\{ steps\.version\.outputs\.major \}\}"/
  )
  const catalog = named('tag the GitLab catalog version')
  assert.match(
    catalog.run!,
    /git push origin "refs\/tags\/\$\{\{ steps\.version\.outputs\.version \}\}"/
  )
  assert.equal(
    catalog.env?.['GITLAB_PUSH_URL'],
    '${{ secrets.GITLAB_PUSH_URL }}'
  )
  // .gitlab-ci.yml releases from exactly such a tag.
  const gitlab = parse(readFileSync(join(root, '.gitlab-ci.yml'), 'utf8')) as {
    release: { rules: { if: string }[]; release: { tag_name: string } }
  }
  const rule = /^\$CI_COMMIT_TAG =~ \/(.+)\/$/.exec(gitlab.release.rules[0]!.if)
  assert.ok(rule, gitlab.release.rules[0]!.if)
  const semver = new RegExp(rule[1]!)
  const { outputs } = versionStep(`v${pkg.version}`)
  assert.match(outputs['version']!, semver)
  assert.doesNotMatch(
    `v${pkg.version}`,
    semver,
    'the GitHub tag itself does not release the component'
  )
  assert.equal(gitlab.release.release.tag_name, '$CI_COMMIT_TAG')
})
