// The GitLab adapter without gitlab-ci-local: input variables, the identity
// it announces, exit codes and messages, and the dotenv report it writes
// (driven through runGitlabWith against an in-memory loopback registry,
// signing with a key pair and no transparency log, so nothing leaves 127.0.0.1).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { SIGN_INPUTS, VERIFY_INPUTS } from '../../../src/cosign/inputs.ts'
import { generateKeyPair } from '../../../src/crypto/index.ts'
import {
  GITLAB_ID_TOKEN_REMEDY,
  SIGN_DOTENV,
  VERIFY_DOTENV,
  expectedGitlabIdentity,
  readGitlabInputs,
  runGitlabWith,
  variableName
} from '../../../src/gitlab/main.ts'
import { HttpClient } from '../../../src/http/index.ts'
import { RegistryClient } from '../../../src/oci/index.ts'
import { ociDigest } from '../../../src/util/index.ts'
import {
  GITLAB_ISSUER,
  GITLAB_SAN,
  gitlabClaims,
  makeGitLabIdToken,
  makeJwt
} from '../../support/oidc.ts'
import { startFaultProxy } from '../../support/fault-proxy.ts'
import { pushTestImage } from '../../support/registry.ts'

const root = join(import.meta.dirname, '../../..')
const DIGEST = `sha256:${'a'.repeat(64)}`

async function run(
  argv: string[],
  env: NodeJS.ProcessEnv
): Promise<{ code: number; out: string }> {
  let out = ''
  // never the public TUF mirror: the embedded root, or an explicit one
  const code = await runGitlabWith(
    argv,
    { SIGIL_TUF_OFFLINE: '1', ...env },
    s => {
      out += s
    }
  )
  return { code, out }
}

describe('input variables', () => {
  test('variableName: SIGIL_ + upper case, dashes to underscores', () => {
    assert.equal(variableName('images'), 'SIGIL_IMAGES')
    assert.equal(variableName('tlog-upload'), 'SIGIL_TLOG_UPLOAD')
    assert.equal(
      variableName('certificate-oidc-issuer-regexp'),
      'SIGIL_CERTIFICATE_OIDC_ISSUER_REGEXP'
    )
  })

  test('readGitlabInputs: one entry per input name, from SIGIL_* only', () => {
    const raw = readGitlabInputs(SIGN_INPUTS, {
      SIGIL_IMAGES: 'a\nb',
      SIGIL_TLOG_UPLOAD: 'false',
      SIGIL_REGISTRY_PASSWORD: 'secret',
      IMAGES: 'ignored',
      INPUT_IMAGES: 'ignored'
    })
    assert.deepEqual(Object.keys(raw), [...SIGN_INPUTS])
    assert.equal(raw.images, 'a\nb')
    assert.equal(raw['tlog-upload'], 'false')
    assert.equal(raw['registry-password'], 'secret')
    assert.equal(raw.format, undefined)
  })

  test('every variable the templates set is read by the adapter', () => {
    for (const [name, inputs] of [
      ['sign', SIGN_INPUTS],
      ['verify', VERIFY_INPUTS]
    ] as const) {
      const text = readFileSync(join(root, 'templates', `${name}.yml`), 'utf8')
      const job = Object.values(
        parseAllDocuments(text)[1]!.toJS() as Record<
          string,
          { variables: Record<string, string> }
        >
      )[0]!
      const read = new Set<string>(inputs.map(variableName))
      for (const v of Object.keys(job.variables))
        assert.ok(read.has(v), `${name}.yml sets ${v}, which nothing reads`)
    }
  })

  test('no dotenv report variable is named like an input variable', () => {
    // Dotenv variables override a later job's own `variables:` in GitLab:
    // a sign report named SIGIL_CERTIFICATE_IDENTITY replaced the verify
    // job's certificate-identity input with whoever signed.
    const inputs = new Set<string>(
      [...SIGN_INPUTS, ...VERIFY_INPUTS].map(variableName)
    )
    for (const k of [...SIGN_DOTENV, ...VERIFY_DOTENV])
      assert.ok(!inputs.has(k), `${k} would override an input`)
  })
})

describe('expectedGitlabIdentity', () => {
  test('https:// + ci_config_ref_uri, with the double slash', () => {
    assert.equal(expectedGitlabIdentity(makeGitLabIdToken()), GITLAB_SAN)
    assert.equal(
      expectedGitlabIdentity(
        makeGitLabIdToken({
          ci_config_ref_uri:
            'gitlab.example.com/acme/app//ci/release.yml@refs/tags/v1.2.3'
        })
      ),
      'https://gitlab.example.com/acme/app//ci/release.yml@refs/tags/v1.2.3'
    )
  })

  test('undefined without the claim or for a non-JWT', () => {
    const claims = gitlabClaims()
    delete claims.ci_config_ref_uri
    assert.equal(expectedGitlabIdentity(makeJwt(claims)), undefined)
    assert.equal(expectedGitlabIdentity('not-a-jwt'), undefined)
    assert.equal(expectedGitlabIdentity(''), undefined)
  })
})

describe('runGitlabWith: failures', () => {
  test('unknown command → 2, USAGE', async () => {
    const r = await run(['publish'], {})
    assert.equal(r.code, 2)
    assert.match(r.out, /ERROR \[USAGE\]: usage: sigil-gitlab sign\|verify/)
  })

  for (const [vars, code, message] of [
    [{ SIGIL_FORMAT: 'nope' }, 'INPUT_INVALID_FORMAT', /"format"/],
    [
      { SIGIL_CONCURRENCY: 'x' },
      'INPUT_INVALID_NUMBER',
      /input "concurrency" \(SIGIL_CONCURRENCY\) must be/
    ],
    [{ SIGIL_RECURSIVE: 'yes' }, 'INPUT_INVALID_BOOLEAN', /"recursive"/],
    [
      { SIGIL_FULCIO_URL: 'http://fulcio.example' },
      'INPUT_INVALID_URL',
      /"fulcio-url"/
    ],
    [
      { SIGIL_IMAGES: '' },
      'INPUT_NO_IMAGES',
      /set input "images" \(SIGIL_IMAGES\)/
    ]
  ] as const) {
    test(`sign with ${JSON.stringify(vars)} → 2, [${code}]`, async () => {
      const r = await run(['sign'], {
        SIGIL_IMAGES: `reg.example/app@${DIGEST}`,
        SIGSTORE_ID_TOKEN: makeGitLabIdToken(),
        ...vars
      })
      assert.equal(r.code, 2, r.out)
      assert.ok(r.out.includes(`ERROR [${code}]`), r.out)
      assert.match(r.out, message)
    })
  }

  test('verify without identity and issuer → 2, INPUT_POLICY_REQUIRED', async () => {
    const r = await run(['verify'], {
      SIGIL_IMAGES: `reg.example/app@${DIGEST}`
    })
    assert.equal(r.code, 2, r.out)
    assert.match(r.out, /ERROR \[INPUT_POLICY_REQUIRED\]/)
  })

  test('sign without SIGSTORE_ID_TOKEN → 3 and the id_tokens YAML', async () => {
    const r = await run(['sign'], {
      SIGIL_IMAGES: `reg.example/app@${DIGEST}`,
      CI_SERVER_URL: 'https://gitlab.com'
    })
    assert.equal(r.code, 3, r.out)
    assert.match(r.out, /ERROR \[IDENTITY_TOKEN_UNAVAILABLE\]/)
    assert.ok(r.out.includes(GITLAB_ID_TOKEN_REMEDY), r.out)
    assert.match(r.out, /id_tokens:\n\s+SIGSTORE_ID_TOKEN:\n\s+aud: sigstore/)
  })

  test('sign prints the identity and the token issuer before anything else', async () => {
    const r = await run(['sign'], {
      SIGSTORE_ID_TOKEN: makeGitLabIdToken(),
      // The token's iss wins over the job's server URL.
      CI_SERVER_URL: 'https://gitlab.example.com'
    })
    assert.equal(r.code, 2, r.out)
    assert.ok(r.out.includes(`Signing identity: ${GITLAB_SAN}\n`), r.out)
    assert.ok(
      r.out.includes(
        `certificate-identity: ${GITLAB_SAN}  certificate-oidc-issuer: ${GITLAB_ISSUER}\n`
      ),
      r.out
    )
    assert.match(r.out, /INPUT_NO_IMAGES/)
  })
})

// --- dotenv report: a minimal in-memory OCI registry on 127.0.0.1 --------

interface Stored {
  body: Buffer
  type: string
}

async function startMemoryRegistry(): Promise<{
  host: string
  stop(): Promise<void>
}> {
  const manifests = new Map<string, Stored>()
  const blobs = new Map<string, Buffer>()
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      // Repositories named slow/… answer late (work still in flight when
      // another image has already failed the run).
      if ((req.url ?? '').startsWith('/v2/slow/')) setTimeout(handle, 300)
      else handle()
    })
    const handle = (): void => {
      const url = new URL(req.url ?? '/', 'http://x')
      const body = Buffer.concat(chunks)
      const method = req.method ?? 'GET'
      const send = (
        status: number,
        headers: Record<string, string> = {},
        payload?: Buffer
      ): void => {
        res.writeHead(status, {
          'content-length': String(payload?.length ?? 0),
          ...headers
        })
        res.end(method === 'HEAD' ? undefined : payload)
      }
      const unknown = (code: string): void =>
        send(
          404,
          { 'content-type': 'application/json' },
          Buffer.from(JSON.stringify({ errors: [{ code, message: code }] }))
        )
      let m: RegExpExecArray | null
      if (url.pathname === '/v2/') return send(200)
      if ((m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname))) {
        const digest = url.searchParams.get('digest')
        if (digest) {
          blobs.set(digest, body)
          return send(201, { location: `/v2/${m[1]}/blobs/${digest}` })
        }
        return send(202, {
          location: `/v2/${m[1]}/blobs/uploads/${randomUUID()}`
        })
      }
      if ((m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(url.pathname))) {
        const blob = blobs.get(m[2]!)
        if (!blob) return unknown('BLOB_UNKNOWN')
        return send(
          200,
          {
            'docker-content-digest': m[2]!,
            'content-type': 'application/octet-stream'
          },
          blob
        )
      }
      if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname))) {
        const [, repo, ref] = m as unknown as [string, string, string]
        if (method === 'PUT') {
          const digest = ociDigest(new Uint8Array(body))
          const stored = {
            body,
            type: String(req.headers['content-type'] ?? '')
          }
          manifests.set(`${repo}@${ref}`, stored)
          manifests.set(`${repo}@${digest}`, stored)
          return send(201, {
            'docker-content-digest': digest,
            location: `/v2/${repo}/manifests/${digest}`
          })
        }
        const stored = manifests.get(`${repo}@${ref}`)
        if (!stored) return unknown('MANIFEST_UNKNOWN')
        return send(
          200,
          {
            'content-type': stored.type,
            'docker-content-digest': ociDigest(new Uint8Array(stored.body))
          },
          stored.body
        )
      }
      return unknown('NAME_UNKNOWN')
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

describe('runGitlabWith: dotenv report and result file', () => {
  let registry: Awaited<ReturnType<typeof startMemoryRegistry>>
  let tmp: string
  const refs: string[] = []
  const digests: string[] = []
  const { privateKeyPem, publicKeyPem } = generateKeyPair('pw')

  before(async () => {
    registry = await startMemoryRegistry()
    tmp = mkdtempSync(join(tmpdir(), 'sigil-gitlab-unit-'))
    const client = new RegistryClient(registry.host, {
      http: new HttpClient({ userAgent: 'sigil-test', retries: 0 })
    })
    for (const n of [1, 2]) {
      const img = await pushTestImage(client, `demo/app${n}`, 'v1', `img ${n}`)
      refs.push(`${registry.host}/demo/app${n}@${img.digest}`)
      digests.push(img.digest)
    }
  })
  after(async () => {
    await registry?.stop()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  test('sign: one line per variable, lists space-separated, JSON result', async () => {
    const dotenvPath = join(tmp, 'sign.env')
    const resultPath = join(tmp, 'sign.json')
    const r = await run(['sign'], {
      SIGIL_IMAGES: refs.join('\n'),
      SIGIL_KEY: 'env://TEST_COSIGN_KEY',
      TEST_COSIGN_KEY: privateKeyPem,
      COSIGN_PASSWORD: 'pw',
      SIGIL_TLOG_UPLOAD: 'false',
      SIGIL_CONCURRENCY: '1',
      SIGIL_DOTENV: dotenvPath,
      SIGIL_RESULT_FILE: resultPath
    })
    assert.equal(r.code, 0, r.out)
    assert.match(r.out, /signed 2 image\(s\)/)
    // References by digest resolve to themselves: no "X → X" line.
    assert.doesNotMatch(r.out, / → /)
    const text = readFileSync(dotenvPath, 'utf8')
    const sig = (i: number): string =>
      `${registry.host}/demo/app${i + 1}:${digests[i]!.replace(':', '-')}.sig`
    assert.equal(
      text,
      [
        `SIGIL_DIGESTS=${digests.join(' ')}`,
        'SIGIL_FAILED=',
        `SIGIL_SIGNATURES=${sig(0)} ${sig(1)}`,
        'SIGIL_REKOR_LOG_INDEXES=',
        'SIGIL_SIGNING_IDENTITY=',
        'SIGIL_SIGNING_ISSUER=',
        ''
      ].join('\n')
    )
    const result = JSON.parse(readFileSync(resultPath, 'utf8'))
    assert.equal(result.keyless, false)
    assert.deepEqual(
      result.images.map((i: { digest: string }) => i.digest),
      digests
    )
    assert.ok(!text.includes(privateKeyPem) && !r.out.includes('pw\n'))
  })

  test('sign: a partial run lists the failed image in SIGIL_FAILED and exits 4', async () => {
    const proxy = await startFaultProxy(`http://${registry.host}`, {
      rules: [
        {
          method: 'PUT',
          path: /\/demo\/app2\/manifests\/sha256-/,
          faults: [{ kind: 'status', status: 400 }]
        }
      ]
    })
    try {
      const dotenvPath = join(tmp, 'partial.env')
      const resultPath = join(tmp, 'partial.json')
      const viaProxy = refs.map(r => r.replace(registry.host, proxy.host))
      const r = await run(['sign'], {
        SIGIL_IMAGES: viaProxy.join('\n'),
        SIGIL_KEY: 'env://TEST_COSIGN_KEY',
        TEST_COSIGN_KEY: privateKeyPem,
        COSIGN_PASSWORD: 'pw',
        SIGIL_TLOG_UPLOAD: 'false',
        SIGIL_DOTENV: dotenvPath,
        SIGIL_RESULT_FILE: resultPath
      })
      assert.equal(r.code, 4, r.out)
      const text = readFileSync(dotenvPath, 'utf8')
      assert.match(text, new RegExp(`^SIGIL_DIGESTS=${digests[0]}$`, 'm'))
      assert.match(text, new RegExp(`^SIGIL_FAILED=${viaProxy[1]}$`, 'm'))
      const result = JSON.parse(readFileSync(resultPath, 'utf8')) as {
        images: { status: string; error?: { code: string } }[]
      }
      assert.deepEqual(
        result.images.map(i => [i.status, i.error?.code]),
        [
          ['signed', undefined],
          ['failed', 'REGISTRY_ERROR']
        ]
      )
      assert.match(r.out, /1 of 2 images could not be signed/)
    } finally {
      await proxy.stop()
    }
  })

  test('verify: SIGIL_VERIFIED lists every verified digest on one line', async () => {
    const dotenvPath = join(tmp, 'verify.env')
    const resultPath = join(tmp, 'verify.json')
    const r = await run(['verify'], {
      SIGIL_IMAGES: refs.join(','),
      SIGIL_KEY: 'env://TEST_COSIGN_PUB',
      TEST_COSIGN_PUB: publicKeyPem,
      SIGIL_INSECURE_IGNORE_TLOG: 'true',
      SIGIL_DOTENV: dotenvPath,
      SIGIL_RESULT_FILE: resultPath
    })
    assert.equal(r.code, 0, r.out)
    assert.equal(
      readFileSync(dotenvPath, 'utf8'),
      `SIGIL_VERIFIED=${digests.join(' ')}\nSIGIL_IDENTITIES=\n`
    )
    assert.equal(JSON.parse(readFileSync(resultPath, 'utf8')).ok, true)
  })

  test('verify with another key → 12, report still written (artifacts: when: always)', async () => {
    const dotenvPath = join(tmp, 'verify-bad.env')
    const resultPath = join(tmp, 'verify-bad.json')
    const r = await run(['verify'], {
      SIGIL_IMAGES: refs[0],
      SIGIL_KEY: 'env://TEST_COSIGN_PUB',
      TEST_COSIGN_PUB: generateKeyPair('x').publicKeyPem,
      SIGIL_INSECURE_IGNORE_TLOG: 'true',
      SIGIL_DOTENV: dotenvPath,
      SIGIL_RESULT_FILE: resultPath
    })
    assert.equal(r.code, 12, r.out)
    assert.match(r.out, /ERROR \[NO_MATCHING_SIGNATURES\]/)
    assert.equal(
      readFileSync(dotenvPath, 'utf8'),
      'SIGIL_VERIFIED=\nSIGIL_IDENTITIES=\n'
    )
    const result = JSON.parse(readFileSync(resultPath, 'utf8'))
    assert.equal(result.ok, false)
    assert.equal(result.images[0].error.code, 'NO_MATCHING_SIGNATURES')
  })

  test('an image with no signature → 10, NO_SIGNATURES_FOUND', async () => {
    const client = new RegistryClient(registry.host, {
      http: new HttpClient({ userAgent: 'sigil-test', retries: 0 })
    })
    const img = await pushTestImage(client, 'demo/unsigned', 'v1', 'unsigned')
    const r = await run(['verify'], {
      SIGIL_IMAGES: `${registry.host}/demo/unsigned@${img.digest}`,
      SIGIL_KEY: 'env://TEST_COSIGN_PUB',
      TEST_COSIGN_PUB: publicKeyPem,
      SIGIL_INSECURE_IGNORE_TLOG: 'true',
      SIGIL_DOTENV: join(tmp, 'unsigned.env'),
      SIGIL_RESULT_FILE: join(tmp, 'unsigned.json')
    })
    assert.equal(r.code, 10, r.out)
    assert.match(r.out, /ERROR \[NO_SIGNATURES_FOUND\]/)
  })

  test('a wrong key password → 6, KEY_DECRYPTION_FAILED', async () => {
    const r = await run(['sign'], {
      SIGIL_IMAGES: refs[0],
      SIGIL_KEY: 'env://TEST_COSIGN_KEY',
      TEST_COSIGN_KEY: privateKeyPem,
      COSIGN_PASSWORD: 'not-pw',
      SIGIL_TLOG_UPLOAD: 'false'
    })
    assert.equal(r.code, 6, r.out)
    assert.match(r.out, /ERROR \[KEY_DECRYPTION_FAILED\]/)
  })

  test('verify naming a missing signature-repository: the remedy names the input and its variable', async () => {
    const r = await run(['verify'], {
      SIGIL_IMAGES: refs[0],
      SIGIL_KEY: 'env://TEST_COSIGN_PUB',
      TEST_COSIGN_PUB: publicKeyPem,
      SIGIL_INSECURE_IGNORE_TLOG: 'true',
      SIGIL_SIGNATURE_REPOSITORY: `${registry.host}/demo/elsewhere`,
      SIGIL_DOTENV: join(tmp, 'elsewhere.env'),
      SIGIL_RESULT_FILE: join(tmp, 'elsewhere.json')
    })
    assert.equal(r.code, 10, r.out)
    assert.match(
      r.out,
      /point input "signature-repository" \(SIGIL_SIGNATURE_REPOSITORY\) at/
    )
  })

  test('nothing is logged after the error by work the failure left in flight', async () => {
    const client = new RegistryClient(registry.host, {
      http: new HttpClient({ userAgent: 'sigil-test', retries: 0 })
    })
    await pushTestImage(client, 'slow/app', 'v1', 'slow')
    let out = ''
    const code = await runGitlabWith(
      ['sign'],
      {
        // A tag, whose resolution (slow) ends in a warning, while the key
        // fails at once (wrong password): the run fails with resolution in
        // flight.
        SIGIL_IMAGES: `${registry.host}/slow/app:v1`,
        SIGIL_KEY: 'env://TEST_COSIGN_KEY',
        TEST_COSIGN_KEY: privateKeyPem,
        COSIGN_PASSWORD: 'wrong',
        SIGIL_TLOG_UPLOAD: 'false'
      },
      s => {
        out += s
      }
    )
    const atReturn = out
    // Let the slow resolution finish and log what it would.
    await new Promise(resolve => setTimeout(resolve, 700))
    assert.equal(code, 6, out)
    assert.match(atReturn, /ERROR \[KEY_DECRYPTION_FAILED\]/)
    assert.ok(
      atReturn.trimEnd().endsWith('(an empty string if it has none).\u001b[0m'),
      'the error (and its remedy) is the last thing printed'
    )
    assert.equal(out, atReturn, 'nothing after the error')
  })
})
