// The demo behind `npm run demo`: a token-auth docker-registry and a
// real-crypto Fulcio/Rekor/TSA on loopback, a GitHub OIDC emulator, two
// images (one single-platform, one two-platform index), keyless signing
// through action.yml + dist/ exactly as the runner runs it, then independent
// verification with @sigstore/verify and `sigil verify`. Stops everything.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { runAction } from '../__tests__/support/run-action.ts'
import { startGitHubOidc, githubClaims } from '../__tests__/support/oidc.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  freshImage,
  freshIndex,
  oracleCheckAll,
  startWorld
} from '../__tests__/support/world.ts'

const root = join(import.meta.dirname, '..')
const bold = (s: string): string =>
  process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s
const step = (s: string): void => console.log(`\n${bold(`▶ ${s}`)}`)

step(
  'Starting a token-auth docker-registry, Fulcio, Rekor, TSA and a GitHub OIDC emulator on loopback'
)
const w = await startWorld({ mode: 'token' })
const oidc = await startGitHubOidc({ claims: githubClaims() })
let failed = false
try {
  console.log(
    `registry  ${w.registry.url} (token auth, user ${w.registry.username})`
  )
  console.log(
    `fulcio    ${w.stack.fulcioUrl}\nrekor     ${w.stack.rekorUrl}\ntrust     ${w.stack.trustedRootPath}`
  )

  step('Pushing a single-platform image and a two-platform index')
  const img = await freshImage(w, 'demo/app')
  const idx = await freshIndex(w, 'demo/multi')
  console.log(`${img.ref}\n${idx.ref} (children ${idx.children.join(', ')})`)

  step(
    'Signing both, keyless, through action.yml + dist/sign (the way the GitHub runner runs it)'
  )
  const t0 = performance.now()
  const run = await runAction(root, {
    inputs: {
      images: `${img.ref}\n${idx.ref}`,
      recursive: 'true',
      format: 'both',
      'fulcio-url': w.stack.fulcioUrl,
      'rekor-url': w.stack.rekorUrl,
      'trusted-root': w.stack.trustedRootPath,
      'registry-username': w.registry.username ?? '',
      'registry-password': w.registry.password ?? ''
    },
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken
    }
  })
  const ms = Math.round(performance.now() - t0)
  for (const line of run.stdout.split('\n')) {
    if (line && !line.startsWith('::')) console.log(`  ${line}`)
  }
  if (run.exitCode !== 0) {
    console.error(run.stdout + run.stderr)
    throw new Error(`the sign action failed (exit ${run.exitCode})`)
  }
  console.log(
    `\nexit code 0 in ${ms} ms; Fulcio requests: ${w.stack.counts.fulcio} (one certificate for ${run.outputs.digests?.split('\n').length} digests)`
  )
  console.log('outputs:')
  for (const k of [
    'digests',
    'signatures',
    'rekor-log-indexes',
    'certificate-identity',
    'certificate-issuer'
  ]) {
    console.log(
      `  ${k}:\n${(run.outputs[k] ?? '')
        .split('\n')
        .map(l => `    ${l}`)
        .join('\n')}`
    )
  }

  step(
    'Independent check: every legacy .sig layer and every bundle referrer with @sigstore/verify (offline)'
  )
  for (const digest of run.outputs.digests?.split('\n') ?? []) {
    const repo = digest === img.digest ? img.repo : idx.repo
    for (const r of await oracleCheckAll(w, repo, digest)) {
      const what = (
        r.format === 'legacy' ? 'legacy .sig' : 'bundle referrer'
      ).padEnd(15)
      console.log(`  ✔ ${digest.slice(0, 19)}… ${what} signed by ${r.san}`)
    }
  }

  step(
    'sigil verify (dist/cli) with the identity policy, then with a wrong identity'
  )
  // Asynchronous: the registry's token server runs in this process.
  const cli = (
    identity: string
  ): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise(resolve =>
      execFile(
        process.execPath,
        [
          join(root, 'dist/cli/index.js'),
          'verify',
          '--recursive',
          '--certificate-identity',
          identity,
          '--certificate-oidc-issuer',
          GITHUB_ISSUER,
          '--trusted-root',
          w.stack.trustedRootPath,
          '--registry-username',
          w.registry.username ?? '',
          '--registry-password',
          w.registry.password ?? '',
          idx.ref
        ],
        { encoding: 'utf8' },
        (err, stdout, stderr) =>
          resolve({
            status: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            stdout,
            stderr
          })
      )
    )
  const good = await cli(GITHUB_SAN)
  console.log(good.stderr.replace(/^/gm, '  ').trimEnd())
  console.log(`  exit code ${good.status}`)
  if (good.status !== 0)
    throw new Error('sigil verify rejected a good signature')
  const bad = await cli(
    'https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main'
  )
  console.log(
    `  wrong identity → exit code ${bad.status}: ${bad.stderr.trim().split('\n').at(-1)?.slice(0, 160)}…`
  )
  if (bad.status === 0)
    throw new Error('sigil verify accepted a wrong identity')

  step(
    'Done: signed, logged, stored in both formats, and verified independently'
  )
} catch (e) {
  failed = true
  console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`)
} finally {
  await Promise.all([w.stop(), oidc.stop()])
}
process.exitCode = failed ? 1 : 0
