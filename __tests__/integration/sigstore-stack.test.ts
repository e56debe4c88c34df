// Issue acceptance for the loopback Sigstore stack: it issues certificates
// for test tokens; bundles signed with sigstore-js AND with our own clients
// (ephemeral key → Fulcio → Rekor hashedrekord / dsse → TSA → bundle v0.3)
// verify offline with @sigstore/verify, with the expected SAN and issuer.

import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { attest, sign } from 'sigstore'
import {
  generateEphemeralKey,
  generateKeyPair,
  parsePrivateKey
} from '../../src/crypto/index.ts'
import { HttpClient } from '../../src/http/index.ts'
import type { Bundle } from '../../src/sigstore/bundle/types.ts'
import {
  EnvIdentityProvider,
  FulcioClient,
  FulcioSigner,
  GitHubActionsIdentityProvider,
  RekorClient,
  TsaClient,
  buildDsseEntry,
  buildHashedRekordEntry,
  fromRekorV1Bundle,
  toRekorV1Bundle,
  type IdentityProvider
} from '../../src/sigstore/index.ts'
import type { TransparencyLogEntry } from '../../src/sigstore/bundle/types.ts'
import {
  parsePemBlocks,
  sha256,
  sha256Hex,
  toBase64,
  utf8
} from '../../src/util/index.ts'
import {
  GITHUB_ISSUER,
  GITHUB_SAN,
  GITLAB_ISSUER,
  GITLAB_SAN,
  githubClaims,
  makeGitLabIdToken,
  makeJwt,
  startGitHubOidc,
  type GitHubOidc
} from '../support/oidc.ts'
import { verifyWithSigstoreJs } from '../support/oracle.ts'
import {
  startSigstoreStack,
  type SigstoreStack
} from '../support/sigstore-stack.ts'

const V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json'
const http = new HttpClient({
  userAgent: 'sigil-test',
  retries: 1,
  timeoutMs: 10_000
})
const der = (pem: string) => parsePemBlocks(pem)[0]!.der

/** PAE(type, body) per the DSSE spec. */
function pae(type: string, body: Uint8Array): Uint8Array {
  const t = utf8(type)
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${t.length} `),
    t,
    Buffer.from(` ${body.length} `),
    body
  ])
}

interface Signed {
  bundle: Bundle
  entry: TransparencyLogEntry
}

/** Our pipeline for a blob: Fulcio cert, hashedrekord entry, TSA, v0.3 bundle. */
async function signBlobOurselves(
  stack: SigstoreStack,
  identityProvider: IdentityProvider,
  artifact: Uint8Array,
  withTimestamp = true
): Promise<Signed> {
  const signer = new FulcioSigner({
    identityProvider,
    fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http })
  })
  const { signature, certificate } = await signer.sign(artifact)
  const entry = await new RekorClient({
    baseUrl: stack.rekorUrl,
    http
  }).createEntry(
    buildHashedRekordEntry({
      payloadSha256Hex: sha256Hex(artifact),
      signature,
      verifierPem: certificate.chainPem[0]!
    })
  )
  const tsr = withTimestamp
    ? await new TsaClient({ url: stack.tsaTimestampUrl, http }).timestamp(
        signature
      )
    : undefined
  return {
    entry,
    bundle: {
      mediaType: V03,
      verificationMaterial: {
        certificate: { rawBytes: toBase64(der(certificate.chainPem[0]!)) },
        tlogEntries: [entry],
        ...(tsr
          ? {
              timestampVerificationData: {
                rfc3161Timestamps: [{ signedTimestamp: toBase64(tsr) }]
              }
            }
          : {})
      },
      messageSignature: {
        messageDigest: {
          algorithm: 'SHA2_256',
          digest: toBase64(sha256(artifact))
        },
        signature: toBase64(signature)
      }
    }
  }
}

describe('Sigstore stack + sigstore-js (GitHub-shaped identity)', () => {
  let stack: SigstoreStack
  let gh: GitHubOidc
  before(async () => {
    stack = await startSigstoreStack({ subjectClaim: 'job_workflow_url' })
    gh = await startGitHubOidc()
  })
  after(async () => {
    await stack.stop()
    await gh.stop()
  })

  it('issues a certificate for a test token that chains to the trusted root', async () => {
    const signer = new FulcioSigner({
      identityProvider: new EnvIdentityProvider('T', {
        env: { T: makeJwt(githubClaims()) }
      }),
      fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http })
    })
    const { chainPem } = await signer.certificate()
    const leaf = new X509Certificate(chainPem[0]!)
    const rootDer = Buffer.from(
      (stack.trustedRoot.certificateAuthorities[0] as any).certChain
        .certificates[0].rawBytes,
      'base64'
    )
    assert.ok(leaf.verify(new X509Certificate(rootDer).publicKey))
    assert.equal(leaf.subjectAltName, `URI:${GITHUB_SAN}`)
  })

  it('a bundle signed by sigstore-js verifies offline with @sigstore/verify', async () => {
    const artifact = Buffer.from('hello from sigstore-js')
    const identityToken = makeJwt(githubClaims())
    const opts = {
      fulcioURL: stack.fulcioUrl,
      rekorURL: stack.rekorUrl,
      identityToken,
      timeout: 10_000,
      retry: 0
    }
    const bundle = await sign(artifact, opts)
    const ok = verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle,
      artifact,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    assert.equal(ok.san, GITHUB_SAN)
    assert.throws(
      () =>
        verifyWithSigstoreJs({
          trustedRoot: stack.trustedRoot,
          bundle,
          artifact: Buffer.from('tampered')
        }),
      { name: 'VerificationError', code: 'SIGNATURE_ERROR' }
    )
    const dsse = await attest(
      Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}'),
      'application/vnd.in-toto+json',
      {
        ...opts,
        tsaServerURL: stack.tsaUrl
      }
    )
    verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle: dsse,
      san: GITHUB_SAN,
      timestampThreshold: 1
    })
  })

  it('our clients: GitHub OIDC → Fulcio → hashedrekord → TSA → v0.3 bundle verifies', async () => {
    const artifact = utf8(
      '{"critical":{"type":"cosign container image signature"}}'
    )
    const provider = new GitHubActionsIdentityProvider({
      http,
      env: {
        ACTIONS_ID_TOKEN_REQUEST_URL: gh.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: gh.requestToken
      }
    })
    const { bundle } = await signBlobOurselves(stack, provider, artifact)
    assert.equal(gh.lastAudience, 'sigstore')
    const ok = verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle,
      artifact,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER,
      timestampThreshold: 1
    })
    assert.deepEqual(ok, { san: GITHUB_SAN, issuer: GITHUB_ISSUER })
    // the oracle is discriminating: wrong identity or bytes fail
    assert.throws(
      () =>
        verifyWithSigstoreJs({
          trustedRoot: stack.trustedRoot,
          bundle,
          artifact,
          san: 'https://github.com/evil/x'
        }),
      (e: any) => e.code === 'UNTRUSTED_SIGNER_ERROR'
    )
    assert.throws(
      () =>
        verifyWithSigstoreJs({
          trustedRoot: stack.trustedRoot,
          bundle,
          artifact: utf8('other')
        }),
      (e: any) => e.code === 'SIGNATURE_ERROR'
    )
  })

  it('our clients: a DSSE (in-toto) bundle with a dsse Rekor entry verifies', async () => {
    const statement = utf8(
      JSON.stringify({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [
          { name: 'registry.local/app', digest: { sha256: 'ab'.repeat(32) } }
        ],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: {}
      })
    )
    const payloadType = 'application/vnd.in-toto+json'
    const signer = new FulcioSigner({
      identityProvider: new EnvIdentityProvider('T', {
        env: { T: makeJwt(githubClaims()) }
      }),
      fulcio: new FulcioClient({ baseUrl: stack.fulcioUrl, http })
    })
    const { signature, certificate } = await signer.sign(
      pae(payloadType, statement)
    )
    const envelope = {
      payloadType,
      payload: toBase64(statement),
      signatures: [{ keyid: '', sig: toBase64(signature) }]
    }
    const entry = await new RekorClient({
      baseUrl: stack.rekorUrl,
      http
    }).createEntry(
      buildDsseEntry({
        envelopeJson: JSON.stringify(envelope),
        verifierPem: certificate.chainPem[0]!
      })
    )
    assert.deepEqual(entry.kindVersion, { kind: 'dsse', version: '0.0.1' })
    const bundle: Bundle = {
      mediaType: V03,
      verificationMaterial: {
        certificate: { rawBytes: toBase64(der(certificate.chainPem[0]!)) },
        tlogEntries: [entry]
      },
      dsseEnvelope: {
        payload: envelope.payload,
        payloadType,
        signatures: [{ sig: envelope.signatures[0]!.sig }]
      }
    }
    const ok = verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle,
      san: GITHUB_SAN,
      issuer: GITHUB_ISSUER
    })
    assert.equal(ok.san, GITHUB_SAN)
  })

  it("the legacy Rekor bundle round trip keeps what cosign's SET check needs", async () => {
    const artifact = utf8('legacy')
    const { bundle, entry } = await signBlobOurselves(
      stack,
      new EnvIdentityProvider('T', { env: { T: makeJwt(githubClaims()) } }),
      artifact,
      false
    )
    const legacy = JSON.parse(JSON.stringify(toRekorV1Bundle(entry)))
    const back = fromRekorV1Bundle(legacy)
    // A v0.1 bundle carries only the inclusion promise: the oracle checks the SET.
    const v01 = {
      ...bundle,
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: {
          certificates: [bundle.verificationMaterial.certificate!]
        },
        tlogEntries: [back]
      }
    }
    verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle: v01,
      artifact,
      san: GITHUB_SAN
    })
    const forged = structuredClone(v01)
    forged.verificationMaterial.tlogEntries[0]!.integratedTime = String(
      Number(back.integratedTime) + 1
    )
    assert.throws(
      () =>
        verifyWithSigstoreJs({
          trustedRoot: stack.trustedRoot,
          bundle: forged,
          artifact
        }),
      { name: 'VerificationError', code: 'TLOG_INCLUSION_PROMISE_ERROR' }
    )
  })

  it('a key-pair (cosign.key) hashedrekord bundle verifies with the public key', async () => {
    const { privateKeyPem, publicKeyPem } = generateKeyPair('pw')
    const key = parsePrivateKey(privateKeyPem, 'pw')
    const artifact = utf8('key-pair signed')
    const signature = key.sign(artifact)
    const entry = await new RekorClient({
      baseUrl: stack.rekorUrl,
      http
    }).createEntry(
      buildHashedRekordEntry({
        payloadSha256Hex: sha256Hex(artifact),
        signature,
        verifierPem: publicKeyPem
      })
    )
    const bundle: Bundle = {
      mediaType: V03,
      verificationMaterial: {
        publicKey: { hint: toBase64(sha256(key.publicKeySpki)) },
        tlogEntries: [entry]
      },
      messageSignature: {
        messageDigest: {
          algorithm: 'SHA2_256',
          digest: toBase64(sha256(artifact))
        },
        signature: toBase64(signature)
      }
    }
    verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle,
      artifact,
      publicKeyPem
    })
    const other = generateEphemeralKey().publicKeyPem
    assert.throws(
      () =>
        verifyWithSigstoreJs({
          trustedRoot: stack.trustedRoot,
          bundle,
          artifact,
          publicKeyPem: other
        }),
      { name: 'VerificationError', code: 'SIGNATURE_ERROR' }
    )
  })
})

describe('Sigstore stack (GitLab-shaped identity)', () => {
  let stack: SigstoreStack
  before(async () => {
    stack = await startSigstoreStack({ subjectClaim: 'ci_config_url' })
  })
  after(() => stack.stop())

  it('SIGSTORE_ID_TOKEN → our pipeline → verifies as the GitLab SAN and issuer', async () => {
    const artifact = utf8('gitlab artifact')
    const { bundle } = await signBlobOurselves(
      stack,
      new EnvIdentityProvider('SIGSTORE_ID_TOKEN', {
        env: { SIGSTORE_ID_TOKEN: makeGitLabIdToken() }
      }),
      artifact
    )
    const ok = verifyWithSigstoreJs({
      trustedRoot: stack.trustedRoot,
      bundle,
      artifact,
      san: GITLAB_SAN,
      issuer: GITLAB_ISSUER,
      timestampThreshold: 1
    })
    assert.deepEqual(ok, { san: GITLAB_SAN, issuer: GITLAB_ISSUER })
    assert.deepEqual(stack.counts, { fulcio: 1, rekor: 1, tsa: 1, rekor2: 0 })
  })
})
