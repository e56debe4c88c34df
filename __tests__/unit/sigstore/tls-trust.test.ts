// A Sigstore service (or GitHub's OIDC endpoint) whose TLS certificate this
// machine does not trust: reported as a TLS trust problem with the remedy
// that exists (SSL_CERT_FILE / NODE_EXTRA_CA_CERTS), never as "did not
// answer … check network access"; with SSL_CERT_FILE set, the same call works.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateEphemeralKey } from '../../../src/crypto/index.ts'
import { HttpClient } from '../../../src/http/index.ts'
import { SigstoreServiceError } from '../../../src/sigstore/errors.ts'
import { FulcioClient } from '../../../src/sigstore/fulcio/index.ts'
import { GitHubActionsIdentityProvider } from '../../../src/sigstore/oidc/index.ts'
import { RekorClient } from '../../../src/sigstore/rekor/client.ts'
import { TsaClient } from '../../../src/sigstore/tsa/client.ts'
import { githubClaims, makeJwt } from '../../support/oidc.ts'

let dir: string
let origin: string
let caFile: string
let close: () => Promise<void>

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-tls-'))
  caFile = join(dir, 'tls.crt')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1'
    ],
    { stdio: 'pipe' }
  )
  const server = createServer(
    { key: readFileSync(join(dir, 'tls.key')), cert: readFileSync(caFile) },
    (req, res) => {
      req.resume()
      req.on('end', () =>
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"message":"no"}')
      )
    }
  )
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () =>
    new Promise<void>(r => {
      server.closeAllConnections()
      server.close(() => r())
    })
})
after(async () => {
  await close?.()
  rmSync(dir, { recursive: true, force: true })
})

const client = (env: Record<string, string> = {}): HttpClient =>
  new HttpClient({ userAgent: 't', retries: 1, backoffBaseMs: 1, env })

function assertTlsProblem(e: unknown, code: string): true {
  assert.ok(e instanceof SigstoreServiceError, String(e))
  assert.equal(e.code, code)
  assert.match(
    e.message,
    /TLS certificate did not verify \(DEPTH_ZERO_SELF_SIGNED_CERT\)/
  )
  assert.doesNotMatch(e.message, /did not answer/)
  assert.match(e.remedy ?? '', /SSL_CERT_FILE or NODE_EXTRA_CA_CERTS/)
  assert.doesNotMatch(e.remedy ?? '', /network access|CA certificates option/)
  return true
}

describe('an untrusted TLS certificate on a Sigstore service', () => {
  it('Fulcio → FULCIO_TLS_UNTRUSTED, nothing pushed', async () => {
    const http = client()
    const key = generateEphemeralKey()
    await assert.rejects(
      new FulcioClient({ baseUrl: origin, http }).createSigningCertificate({
        identityToken: makeJwt(githubClaims()),
        publicKeyPem: key.publicKeyPem,
        proofOfPossession: new Uint8Array(64)
      }),
      e =>
        assertTlsProblem(e, 'FULCIO_TLS_UNTRUSTED') &&
        /nothing was pushed/.test((e as Error).message)
    )
    await http.close()
  })

  it('Rekor → REKOR_TLS_UNTRUSTED', async () => {
    const http = client()
    await assert.rejects(
      new RekorClient({ baseUrl: origin, http }).getEntryByUuid(
        'ab'.repeat(32)
      ),
      e => assertTlsProblem(e, 'REKOR_TLS_UNTRUSTED')
    )
    await http.close()
  })

  it('TSA → TSA_TLS_UNTRUSTED', async () => {
    const http = client()
    await assert.rejects(
      new TsaClient({ url: `${origin}/api/v1/timestamp`, http }).timestamp(
        new Uint8Array(64)
      ),
      e => assertTlsProblem(e, 'TSA_TLS_UNTRUSTED')
    )
    await http.close()
  })

  it('with SSL_CERT_FILE naming the CA, the same request gets its answer', async () => {
    const http = client({ SSL_CERT_FILE: caFile })
    await assert.rejects(
      new RekorClient({ baseUrl: origin, http }).getEntryByUuid(
        'ab'.repeat(32)
      ),
      (e: unknown) => {
        assert.ok(e instanceof SigstoreServiceError)
        assert.equal(e.code, 'REKOR_ENTRY_LOOKUP_FAILED')
        assert.match(e.message, /HTTP 401: no/)
        return true
      }
    )
    await http.close()
  })

  it("GitHub's OIDC endpoint → IDENTITY_TOKEN_UNAVAILABLE naming TLS, not the id-token permission", async () => {
    const http = client()
    await assert.rejects(
      new GitHubActionsIdentityProvider({
        http,
        env: {
          ACTIONS_ID_TOKEN_REQUEST_URL: `${origin}/token?api-version=2.0`,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-secret-123456'
        }
      }).getToken(),
      (e: unknown) => {
        assert.ok(e instanceof SigstoreServiceError)
        assert.equal(e.code, 'IDENTITY_TOKEN_UNAVAILABLE')
        assert.match(e.message, /TLS certificate did not verify/)
        assert.match(e.remedy ?? '', /SSL_CERT_FILE or NODE_EXTRA_CA_CERTS/)
        assert.doesNotMatch(e.remedy ?? '', /id-token: write/)
        return true
      }
    )
    await http.close()
  })
})
