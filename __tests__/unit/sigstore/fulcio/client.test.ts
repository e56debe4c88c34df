import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { X509Certificate, verify } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateEphemeralKey } from '../../../../src/crypto/index.ts'
import { HttpClient } from '../../../../src/http/index.ts'
import { SigstoreServiceError } from '../../../../src/sigstore/errors.ts'
import {
  FulcioClient,
  FulcioSigner,
  requestCertificate
} from '../../../../src/sigstore/fulcio/index.ts'
import {
  StaticIdentityProvider,
  type IdentityProvider
} from '../../../../src/sigstore/oidc/index.ts'
import {
  describeError,
  parsePemBlocks,
  toBase64,
  utf8
} from '../../../../src/util/index.ts'
import { GITHUB_SAN, githubClaims, makeJwt } from '../../../support/oidc.ts'
import {
  startSigstoreStack,
  type SigstoreStack
} from '../../../support/sigstore-stack.ts'

const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 0,
  timeoutMs: 5000
})

/** A one-route server answering every request with `reply`. */
async function fakeFulcio(
  reply: (body: string) => { status: number; body: string }
): Promise<{ url: string; bodies: string[]; server: Server }> {
  const bodies: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => {
        const body = Buffer.concat(chunks).toString()
        bodies.push(body)
        const r = reply(body)
        res
          .writeHead(r.status, { 'content-type': 'application/json' })
          .end(r.body)
      })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    server
  }
}

describe('FulcioClient against the loopback stack', () => {
  let stack: SigstoreStack
  before(async () => {
    stack = await startSigstoreStack({ subjectClaim: 'job_workflow_url' })
  })
  after(() => stack.stop())

  it('issues a chain (leaf first) for our key with the expected SAN', async () => {
    const key = generateEphemeralKey()
    const token = makeJwt(githubClaims())
    const fulcio = new FulcioClient({ baseUrl: `${stack.fulcioUrl}/`, http })
    const res = await fulcio.createSigningCertificate({
      identityToken: token,
      publicKeyPem: key.publicKeyPem,
      proofOfPossession: key.sign(utf8('repo:acme/app:ref:refs/heads/main'))
    })
    assert.equal(res.chainPem.length, 2)
    assert.equal(res.detachedSct, undefined)
    for (const pem of res.chainPem) {
      assert.match(
        pem,
        /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/
      )
    }
    const leaf = new X509Certificate(res.chainPem[0]!)
    const root = new X509Certificate(res.chainPem[1]!)
    assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey))
    assert.equal(leaf.subjectAltName, `URI:${GITHUB_SAN}`)
    assert.deepEqual(
      new Uint8Array(leaf.publicKey.export({ type: 'spki', format: 'der' })),
      key.publicKeySpki
    )
  })

  it('an injected 500 → FULCIO_CERTIFICATE_REQUEST_FAILED naming the URL and message', async () => {
    stack.failNext('fulcio', 500)
    const key = generateEphemeralKey()
    await assert.rejects(
      new FulcioClient({
        baseUrl: stack.fulcioUrl,
        http
      }).createSigningCertificate({
        identityToken: makeJwt(githubClaims()),
        publicKeyPem: key.publicKeyPem,
        proofOfPossession: new Uint8Array([1])
      }),
      (e: unknown) =>
        e instanceof SigstoreServiceError &&
        e.code === 'FULCIO_CERTIFICATE_REQUEST_FAILED' &&
        e.message.includes(`${stack.fulcioUrl}/api/v2/signingCert`) &&
        e.message.includes('injected failure') &&
        e.message.includes('HTTP 500')
    )
  })

  it('is retried on 5xx by the HTTP layer (retry-safe POST)', async () => {
    const retrying = new HttpClient({
      userAgent: 't',
      retries: 2,
      backoffBaseMs: 1,
      backoffMaxMs: 5
    })
    const before = stack.counts.fulcio
    stack.failNext('fulcio', 503)
    const key = generateEphemeralKey()
    const res = await new FulcioClient({
      baseUrl: stack.fulcioUrl,
      http: retrying
    }).createSigningCertificate({
      identityToken: makeJwt(githubClaims()),
      publicKeyPem: key.publicKeyPem,
      proofOfPossession: key.sign(utf8('x'))
    })
    assert.equal(res.chainPem.length, 2)
    assert.equal(stack.counts.fulcio - before, 2)
  })

  it('a reset connection → FULCIO_UNREACHABLE saying nothing was pushed', async () => {
    // Twice: a reset on a reused keep-alive connection is resent once on a
    // fresh one by the transport (see transport.test.ts).
    stack.failNext('fulcio', 'reset', 2)
    const key = generateEphemeralKey()
    await assert.rejects(
      new FulcioClient({
        baseUrl: stack.fulcioUrl,
        http
      }).createSigningCertificate({
        identityToken: makeJwt(githubClaims()),
        publicKeyPem: key.publicKeyPem,
        proofOfPossession: new Uint8Array([1])
      }),
      (e: unknown) =>
        e instanceof SigstoreServiceError &&
        e.code === 'FULCIO_UNREACHABLE' &&
        /Fulcio/.test(e.message) &&
        /nothing was pushed/.test(e.message)
    )
    stack.failNext('fulcio', 'reset', 0) // whichever reset was not used
  })
})

describe('FulcioClient wire format', () => {
  const key = generateEphemeralKey()
  let leafPem: string
  before(async () => {
    const stack = await startSigstoreStack()
    try {
      const r = await new FulcioClient({
        baseUrl: stack.fulcioUrl,
        http
      }).createSigningCertificate({
        identityToken: makeJwt({ iss: 'https://issuer', sub: 'me' }),
        publicKeyPem: key.publicKeyPem,
        proofOfPossession: key.sign(utf8('me'))
      })
      leafPem = r.chainPem[0]!
    } finally {
      await stack.stop()
    }
  })

  it('sends the v2 JSON with the token only in the body', async () => {
    const token = makeJwt({ iss: 'https://issuer', sub: 'me' })
    const f = await fakeFulcio(() => ({
      status: 200,
      body: JSON.stringify({
        signedCertificateEmbeddedSct: { chain: { certificates: [leafPem] } }
      })
    }))
    try {
      const pop = key.sign(utf8('me'))
      await new FulcioClient({ baseUrl: f.url, http }).createSigningCertificate(
        {
          identityToken: token,
          publicKeyPem: key.publicKeyPem,
          proofOfPossession: pop
        }
      )
      assert.deepEqual(JSON.parse(f.bodies[0]!), {
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: {
          publicKey: { algorithm: 'ECDSA', content: key.publicKeyPem },
          proofOfPossession: toBase64(pop)
        }
      })
    } finally {
      f.server.close()
    }
  })

  it('parses the detached-SCT form and re-armours single-line PEM', async () => {
    const oneLine = `-----BEGIN CERTIFICATE-----\n${toBase64(parsePemBlocks(leafPem)[0]!.der)}\n-----END CERTIFICATE-----`
    const sct = toBase64(utf8('{"sct_version":0}'))
    const f = await fakeFulcio(() => ({
      status: 200,
      body: JSON.stringify({
        signedCertificateDetachedSct: {
          chain: { certificates: [oneLine] },
          signedCertificateTimestamp: sct
        }
      })
    }))
    try {
      const r = await new FulcioClient({
        baseUrl: f.url,
        http
      }).createSigningCertificate({
        identityToken: makeJwt({ iss: 'i', sub: 'me' }),
        publicKeyPem: key.publicKeyPem,
        proofOfPossession: new Uint8Array([1])
      })
      assert.equal(r.chainPem[0], leafPem)
      assert.equal(Buffer.from(r.detachedSct!).toString(), '{"sct_version":0}')
    } finally {
      f.server.close()
    }
  })

  it('malformed answers and refusals → FULCIO_CERTIFICATE_REQUEST_FAILED', async () => {
    const cases: { status: number; body: string; match: RegExp }[] = [
      { status: 200, body: 'not json', match: /not JSON/ },
      { status: 200, body: '{}', match: /neither/ },
      {
        status: 200,
        body: JSON.stringify({
          signedCertificateEmbeddedSct: { chain: { certificates: [] } }
        }),
        match: /no PEM/
      },
      {
        status: 200,
        body: JSON.stringify({
          signedCertificateEmbeddedSct: { chain: { certificates: ['junk'] } }
        }),
        match: /no PEM/
      },
      {
        status: 200,
        body: JSON.stringify({
          signedCertificateDetachedSct: { chain: { certificates: [leafPem] } }
        }),
        match: /detached SCT/
      },
      {
        status: 401,
        body: JSON.stringify({
          code: 16,
          message: 'There was an error processing the identity token'
        }),
        match: /identity token/
      },
      { status: 400, body: 'plain text reason', match: /plain text reason/ }
    ]
    for (const c of cases) {
      const token = makeJwt({ iss: 'i', sub: 'me' })
      const f = await fakeFulcio(() => c)
      try {
        await assert.rejects(
          new FulcioClient({ baseUrl: f.url, http }).createSigningCertificate({
            identityToken: token,
            publicKeyPem: key.publicKeyPem,
            proofOfPossession: new Uint8Array([1])
          }),
          (e: unknown) => {
            assert.ok(e instanceof SigstoreServiceError)
            assert.equal(e.code, 'FULCIO_CERTIFICATE_REQUEST_FAILED')
            assert.match(e.message, c.match)
            assert.ok(!describeError(e).includes(token))
            return true
          }
        )
      } finally {
        f.server.close()
      }
    }
  })
})

describe('requestCertificate and FulcioSigner', () => {
  let stack: SigstoreStack
  before(async () => {
    stack = await startSigstoreStack({ subjectClaim: 'job_workflow_url' })
  })
  after(() => stack.stop())

  it('binds the certificate to the key and reports the token identity', async () => {
    const key = generateEphemeralKey()
    const issued = await requestCertificate({
      identityProvider: new StaticIdentityProvider(makeJwt(githubClaims())),
      key,
      fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http })
    })
    assert.equal(
      issued.identity.issuer,
      'https://token.actions.githubusercontent.com'
    )
    assert.equal(issued.identity.challenge, 'repo:acme/app:ref:refs/heads/main')
    assert.ok(issued.notAfter.getTime() > Date.now())
  })

  it('fails closed when Fulcio certifies a different key', async () => {
    const fulcio = new FulcioClient({ baseUrl: stack.fulcioUrl, http })
    const other = generateEphemeralKey()
    const lying = {
      baseUrl: fulcio.baseUrl,
      createSigningCertificate: (
        req: Parameters<FulcioClient['createSigningCertificate']>[0]
      ) =>
        fulcio.createSigningCertificate({
          ...req,
          publicKeyPem: other.publicKeyPem
        })
    }
    await assert.rejects(
      requestCertificate({
        identityProvider: new StaticIdentityProvider(makeJwt(githubClaims())),
        key: generateEphemeralKey(),
        fulcio: lying
      }),
      {
        code: 'FULCIO_CERTIFICATE_REQUEST_FAILED',
        message: /different public key/
      }
    )
  })

  it('propagates identity failures before calling Fulcio', async () => {
    const before = stack.counts.fulcio
    const failing: IdentityProvider = {
      getToken: () =>
        Promise.reject(
          new SigstoreServiceError('IDENTITY_TOKEN_UNAVAILABLE', 'no token')
        )
    }
    await assert.rejects(
      new FulcioSigner({
        identityProvider: failing,
        fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http })
      }).certificate(),
      { code: 'IDENTITY_TOKEN_UNAVAILABLE' }
    )
    assert.equal(stack.counts.fulcio, before)
  })

  it('ten concurrent signatures cause exactly one Fulcio request', async () => {
    const before = stack.counts.fulcio
    const signer = new FulcioSigner({
      identityProvider: new StaticIdentityProvider(makeJwt(githubClaims())),
      fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http })
    })
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => signer.sign(utf8(`image ${i}`)))
    )
    assert.equal(stack.counts.fulcio - before, 1)
    assert.equal(new Set(results.map(r => r.certificate.chainPem[0])).size, 1)
    const leaf = new X509Certificate(results[0]!.certificate.chainPem[0]!)
    results.forEach((r, i) => {
      assert.ok(
        verify('sha256', utf8(`image ${i}`), leaf.publicKey, r.signature)
      )
    })
  })

  it('re-issues once the certificate nears expiry, and retries after a failure', async () => {
    let clock = Date.now()
    const signer = new FulcioSigner({
      identityProvider: new StaticIdentityProvider(makeJwt(githubClaims())),
      fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http }),
      now: () => new Date(clock)
    })
    const start = stack.counts.fulcio
    stack.failNext('fulcio', 500)
    await assert.rejects(signer.certificate(), {
      code: 'FULCIO_CERTIFICATE_REQUEST_FAILED'
    })
    const first = await signer.certificate()
    assert.equal((await signer.certificate()).chainPem[0], first.chainPem[0])
    clock = first.notAfter.getTime() - 30_000
    const second = await signer.certificate()
    assert.notEqual(second.chainPem[0], first.chainPem[0])
    assert.equal(stack.counts.fulcio - start, 3)
  })
})
