import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { registryEnv } from '../../../src/actions/common.ts'
import { resolveCredentials } from '../../../src/oci/index.ts'

const home = mkdtempSync(join(tmpdir(), 'sigil-home-'))
after(() => rmSync(home, { recursive: true, force: true }))

test('github-token: GITHUB_TOKEN for ghcr.io after explicit and docker login credentials', async () => {
  const env = registryEnv({ HOME: home, GITHUB_ACTOR: 'octocat' }, 'ghs_job')
  assert.deepEqual(await resolveCredentials('ghcr.io', { env }), {
    username: 'octocat',
    password: 'ghs_job'
  })
  // Only ghcr.io gets it.
  assert.equal(await resolveCredentials('registry.example', { env }), undefined)
  // A GITHUB_TOKEN the workflow set wins over the input.
  assert.equal(
    registryEnv({ GITHUB_TOKEN: 'from-env' }, 'ghs_job').GITHUB_TOKEN,
    'from-env'
  )
  // An empty input (a fork's pull request, or the test harness) adds nothing.
  assert.equal(registryEnv({}, '').GITHUB_TOKEN, undefined)
  // docker login credentials for ghcr.io come first.
  mkdirSync(join(home, '.docker'))
  writeFileSync(
    join(home, '.docker/config.json'),
    JSON.stringify({
      auths: {
        'ghcr.io': { auth: Buffer.from('bot:pat').toString('base64') }
      }
    })
  )
  assert.deepEqual(await resolveCredentials('ghcr.io', { env }), {
    username: 'bot',
    password: 'pat'
  })
  // And explicit inputs before everything.
  assert.deepEqual(
    await resolveCredentials('ghcr.io', {
      env,
      explicit: { username: 'me', password: 'pw' }
    }),
    { username: 'me', password: 'pw' }
  )
})

test('fail(): warnings so far come before the ::error::, later ones go to debug', async () => {
  const { fail } = await import('../../../src/actions/common.ts')
  const { actionsLogger } = await import('../../../src/actions/logger.ts')
  const { AppError } = await import('../../../src/util/index.ts')
  const lines: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = (chunk: string | Uint8Array): boolean => {
    lines.push(String(chunk))
    return true
  }
  const exitCode = process.exitCode
  try {
    actionsLogger.warn('before the failure')
    fail(new AppError('SOMETHING_FAILED', 'it failed'))
    // Work the failure abandoned, finishing late.
    actionsLogger.warn('a late warning')
    actionsLogger.info('certificate identity: https://example/late')
  } finally {
    process.stdout.write = write
    process.exitCode = exitCode
  }
  const out = lines.join('')
  const error = out.indexOf('::error::[SOMETHING_FAILED] it failed')
  assert.ok(error > out.indexOf('::warning::before the failure'), out)
  assert.ok(out.indexOf('::warning::before the failure') >= 0, out)
  const after = out.slice(error)
  assert.doesNotMatch(after, /::warning::/)
  assert.doesNotMatch(after, /^certificate identity/m)
  assert.match(after, /::debug::\(after the failure, warning\) a late warning/)
})
