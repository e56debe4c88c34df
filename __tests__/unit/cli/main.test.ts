// The CLI in-process (runCliWith): --help on every command (and only help:
// no files, no network), help generated from the parser's own flag table and
// action.yml's descriptions, exit codes, messages that name CLI flags, and
// verify-blob's verdicts and JSON output on a real public-good bundle.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCliWith, type CliIo } from '../../../src/cli/main.ts'
import { runConformanceWith } from '../../../src/cli/conformance.ts'
import {
  COMMANDS,
  CONFORMANCE_HELP,
  renderHelp,
  specOf,
  type CommandName
} from '../../../src/cli/help.ts'
import {
  EXIT,
  SIGN_INPUTS,
  SIGN_INPUT_DOCS,
  VERIFY_INPUTS,
  VERIFY_INPUT_DOCS
} from '../../../src/cosign/index.ts'
import { vectorsDir, vectorsSkipReason } from '../../support/vectors.ts'

const DIGEST = `sha256:${'a'.repeat(64)}`
// Discard port on loopback: a command that reached the network would fail.
const NOWHERE = `127.0.0.1:9/app@${DIGEST}`

async function cli(
  argv: string[],
  env: NodeJS.ProcessEnv = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: s => {
      stdout += s
    },
    stderr: s => {
      stderr += s
    },
    // never the public TUF mirror: the embedded root, or an explicit one
    env: { SIGIL_TUF_OFFLINE: '1', ...env }
  }
  const code = await runCliWith(argv, io)
  return { code, stdout, stderr }
}

const tmp = mkdtempSync(join(tmpdir(), 'sigil-cli-unit-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

describe('--help', () => {
  const commands = Object.keys(COMMANDS) as CommandName[]
  for (const name of commands) {
    for (const flag of ['--help', '-h']) {
      test(`sigil ${name} ${flag}: the usage on stdout, exit 0, nothing else done`, async () => {
        const dir = mkdtempSync(join(tmp, 'help-'))
        const cwd = process.cwd()
        process.chdir(dir)
        try {
          // Arguments that would otherwise write files or reach the network.
          const r = await cli([name, NOWHERE, '--bogus-flag', flag], {
            COSIGN_PASSWORD: 'x',
            SIGSTORE_ID_TOKEN: 'not-used'
          })
          assert.equal(r.code, EXIT.OK, r.stderr)
          assert.equal(r.stderr, '')
          assert.equal(r.stdout, renderHelp(COMMANDS[name]))
          assert.match(r.stdout, new RegExp(`^Usage: sigil ${name}`))
          assert.ok(r.stdout.endsWith('\n'))
          assert.deepEqual(readdirSync(dir), [], 'no files written')
        } finally {
          process.chdir(cwd)
        }
      })
    }
  }

  test('every flag the parser accepts is in the help, with its alias', () => {
    for (const [name, help] of [
      ...Object.entries(COMMANDS),
      ['sigil-conformance', CONFORMANCE_HELP] as const
    ]) {
      const text = renderHelp(help)
      for (const [flag, spec] of Object.entries(specOf(help))) {
        assert.match(
          text,
          new RegExp(
            `^  ${spec.alias ? `-${spec.alias}, ` : ''}--${flag}\\b`,
            'm'
          ),
          `${name}: --${flag} is not documented`
        )
      }
    }
  })

  test('shared flags use action.yml descriptions and defaults; environment variables are shown', () => {
    // The attestation and file inputs are commands of their own on the CLI:
    // attest / attest-blob (--predicate, --type), sign-blob (FILE..., --bundle).
    const own = new Set([
      'predicate',
      'predicate-type',
      'predicate-policy',
      'subject-path',
      'bundle-path'
    ])
    const attest = renderHelp(COMMANDS.attest).replace(/\n\s+/g, ' ')
    for (const input of ['predicate', 'predicate-type'])
      assert.ok(attest.includes(SIGN_INPUT_DOCS[input]!.description), input)
    const sign = renderHelp(COMMANDS.sign).replace(/\n\s+/g, ' ')
    for (const input of SIGN_INPUTS.filter(i => !own.has(i))) {
      const doc = SIGN_INPUT_DOCS[input]!
      assert.ok(sign.includes(doc.description), `sign: ${input}`)
      if (doc.default && !doc.description.includes(`default ${doc.default}`))
        assert.ok(sign.includes(`default: ${doc.default}`), `${input} default`)
    }
    // verify-attestation's --policy is the predicate-policy input (cosign's name).
    const verifyAttestation = renderHelp(
      COMMANDS['verify-attestation']
    ).replace(/\n\s+/g, ' ')
    assert.match(
      verifyAttestation,
      /--policy FILE A CEL policy every verified statement must pass/
    )
    assert.doesNotMatch(verifyAttestation, /--no-match|ClusterImagePolicy/)
    const verify = renderHelp(COMMANDS.verify).replace(/\n\s+/g, ' ')
    for (const input of VERIFY_INPUTS.filter(i => !own.has(i)))
      assert.ok(
        verify.includes(VERIFY_INPUT_DOCS[input]!.description),
        `verify: ${input}`
      )
    assert.match(sign, /--key-password PASSWORD .*environment: COSIGN_PASSWORD/)
    assert.match(sign, /environment: SIGSTORE_ID_TOKEN/)
    assert.match(sign, /environment: COSIGN_REPOSITORY/)
    assert.match(sign, /-d, --verbose .*environment: SIGIL_DEBUG/)
    assert.match(renderHelp(COMMANDS['generate-key-pair']), /COSIGN_PASSWORD/)
  })

  test('sigil --help: commands, -d/--verbose, exit codes, ends with a newline', async () => {
    const r = await cli(['--help'])
    assert.equal(r.code, 0)
    assert.ok(r.stdout.endsWith('\n'))
    assert.match(r.stdout, /-d\/--verbose/)
    for (const name of Object.keys(COMMANDS))
      assert.match(r.stdout, new RegExp(`^  ${name}\\b`, 'm'))
    assert.match(r.stdout, /^ {2}6 {4}the private key could not be decrypted/m)
    assert.equal(
      (await cli(['help', 'verify'])).stdout,
      renderHelp(COMMANDS.verify)
    )
    const none = await cli([])
    assert.equal(none.code, EXIT.USAGE)
    assert.match(none.stderr, /^Usage: sigil/)
  })

  test('sigil-conformance --help', async () => {
    let out = ''
    let err = ''
    const code = await runConformanceWith(
      ['verify-bundle', '--help'],
      s => (err += s),
      s => (out += s)
    )
    assert.equal(code, 0)
    assert.equal(err, '')
    assert.equal(out, renderHelp(CONFORMANCE_HELP))
  })
})

describe('messages name CLI flags', () => {
  test('no policy → INPUT_POLICY_REQUIRED naming --certificate-identity, remedy in flags', async () => {
    const r = await cli(['verify', NOWHERE])
    assert.equal(r.code, EXIT.USAGE)
    assert.match(r.stderr, /\[INPUT_POLICY_REQUIRED\]/)
    assert.match(
      r.stderr,
      /--certificate-identity or --certificate-identity-regexp/
    )
    assert.match(r.stderr, /--certificate-oidc-issuer https:\/\/token\.actions/)
    assert.doesNotMatch(r.stderr, /input "/)
  })

  test('bad values name the flag', async () => {
    const r = await cli(['sign', '--concurrency', '0', NOWHERE])
    assert.equal(r.code, EXIT.USAGE)
    assert.match(r.stderr, /\[INPUT_INVALID_NUMBER\]: --concurrency must be/)
    const c = await cli([
      'verify',
      '--key',
      'k.pub',
      '--certificate-identity',
      'x',
      NOWHERE
    ])
    assert.match(
      c.stderr,
      /\[INPUT_CONFLICT\]: --key cannot be combined with --certificate-identity/
    )
  })

  test('an invalid reference names IMAGE once and the reference once', async () => {
    const r = await cli(['verify', '--key', 'env://NOPE_KEY', 'Bad Ref'], {
      NOPE_KEY: 'unused'
    })
    assert.equal(r.code, EXIT.USAGE, r.stderr)
    assert.match(
      r.stderr,
      /\[INPUT_INVALID_REFERENCE\]: IMAGE: invalid image reference "Bad Ref"/
    )
    assert.equal(r.stderr.split('Bad Ref').length - 1, 1, r.stderr)
  })

  test('over-broad issuer regexp: the warning suggests an issuer flag, not a workflow URL', async () => {
    const r = await cli([
      'verify',
      '--certificate-identity',
      'x',
      '--certificate-oidc-issuer-regexp',
      '.*',
      'Bad Ref'
    ])
    assert.match(
      r.stderr,
      /warning: --certificate-oidc-issuer-regexp "\.\*" is over-broad: it accepts tokens from any issuer\. Name the issuer instead, e\.g\. --certificate-oidc-issuer https:\/\/token\.actions\.githubusercontent\.com/
    )
    assert.doesNotMatch(r.stderr.split('\n')[0] ?? '', /workflows/)
  })
})

describe('exit codes', () => {
  test('an unknown flag is a usage error (2)', async () => {
    const r = await cli(['verify', '--nope'])
    assert.equal(r.code, EXIT.USAGE)
    assert.match(r.stderr, /\[USAGE\]: unknown flag "--nope"/)
  })

  test('an encrypted key with the wrong password: its own code (6), before any network', async () => {
    // verify-blob reads no key password; sign does, and fails on the key
    // before the certificate or registry matter (the registry is nowhere).
    const { generateKeyPair } = await import('../../../src/crypto/index.ts')
    const keyPath = join(tmp, 'pw.key')
    writeFileSync(keyPath, generateKeyPair('right').privateKeyPem)
    const r = await cli(
      [
        'sign',
        '--key',
        keyPath,
        '--tlog-upload=false',
        '--retry-budget',
        '1',
        NOWHERE
      ],
      {
        COSIGN_PASSWORD: 'wrong'
      }
    )
    assert.equal(r.code, EXIT.KEY_PASSWORD, r.stderr)
    assert.match(r.stderr, /\[KEY_DECRYPTION_FAILED\]/)
  })
})

describe(
  'verify-blob on a real public-good bundle',
  { skip: vectorsSkipReason() },
  () => {
    const dir = vectorsDir() ?? ''
    const bundle = join(dir, 'sigstore-python/bundle_v3_github.whl.sigstore')
    const artifact = join(dir, 'sigstore-python/bundle_v3_github.whl')
    const identity =
      'https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2'
    const issuer = 'https://token.actions.githubusercontent.com'
    const policy = [
      '--certificate-identity',
      identity,
      '--certificate-oidc-issuer',
      issuer
    ]

    test('--output json prints the verified result', async () => {
      const r = await cli([
        'verify-blob',
        '--bundle',
        bundle,
        ...policy,
        '--output',
        'json',
        artifact
      ])
      assert.equal(r.code, 0, r.stderr)
      const out = JSON.parse(r.stdout) as {
        ok: boolean
        artifact: string
        identity: { subject: string; issuer: string }
        logIndex: number
        tlogEntries: unknown[]
      }
      assert.equal(out.ok, true)
      assert.equal(out.artifact, artifact)
      assert.deepEqual(out.identity, { subject: identity, issuer })
      assert.equal(typeof out.logIndex, 'number')
      assert.equal(out.tlogEntries.length, 1)
      assert.match(r.stderr, /^Verified OK/)
    })

    test('identity mismatch → 12, like image verify', async () => {
      const r = await cli([
        'verify-blob',
        '--bundle',
        bundle,
        '--certificate-identity',
        'https://github.com/evil/x',
        '--certificate-oidc-issuer',
        issuer,
        artifact
      ])
      assert.equal(r.code, EXIT.NO_MATCHING_SIGNATURES, r.stderr)
      assert.match(
        r.stderr,
        /\[NO_MATCHING_SIGNATURES\].*certificate identity mismatch/
      )
    })

    test('digest mismatch and tampered artifact → 12', async () => {
      const other = await cli([
        'verify-blob',
        '--bundle',
        bundle,
        ...policy,
        `sha256:${'0'.repeat(64)}`
      ])
      assert.equal(other.code, EXIT.NO_MATCHING_SIGNATURES, other.stderr)
      const tampered = join(tmp, 'tampered.whl')
      const bytes = readFileSync(artifact)
      bytes[100]! ^= 1
      writeFileSync(tampered, bytes)
      const bad = await cli([
        'verify-blob',
        '--bundle',
        bundle,
        ...policy,
        tampered
      ])
      assert.equal(bad.code, EXIT.NO_MATCHING_SIGNATURES, bad.stderr)
      const digest = `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`
      const ok = await cli([
        'verify-blob',
        '--bundle',
        bundle,
        ...policy,
        digest
      ])
      assert.equal(ok.code, 0, ok.stderr)
    })
  }
)
