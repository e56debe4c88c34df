// The benchmark's peer: a container-image signer built the way a typical
// sigstore-js-based action is, on `sign()` from the `sigstore` package. For
// each image: resolve the digest (HEAD manifest), build cosign's
// simple-signing payload, sign() it (sigstore-js asks Fulcio for a new
// certificate on every call and uploads a hashedrekord entry to Rekor), and
// push cosign's legacy `.sig` layout (payload blob, config blob, OCI manifest
// with the signature, certificate, chain and Rekor bundle annotations) with
// plain fetch. Plain ESM JS, run by Node 24 as a child process, like the CLI.
// usage: node bench/peer-signer.mjs --identity-token T --fulcio-url U
//          --rekor-url U --trusted-root F IMAGE...  (registry must be http)
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { sign } from 'sigstore'

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
].join(', ')
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'identity-token': { type: 'string' },
    'fulcio-url': { type: 'string' },
    'rekor-url': { type: 'string' },
    'trusted-root': { type: 'string' },
    'registry-username': { type: 'string' },
    'registry-password': { type: 'string' }
  }
})

const sha256 = b => createHash('sha256').update(b).digest('hex')
const pem = b64 =>
  `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`

// cosign's chain annotation: the CA chain (intermediates and root), here
// taken from the trusted root (sigstore-js's bundle holds the leaf only).
const trustedRoot = JSON.parse(readFileSync(values['trusted-root'], 'utf8'))
const chainPem = trustedRoot.certificateAuthorities
  .at(-1)
  .certChain.certificates.map(c => pem(c.rawBytes))
  .join('')

const auth =
  values['registry-username'] !== undefined
    ? {
        authorization: `Basic ${Buffer.from(
          `${values['registry-username']}:${values['registry-password'] ?? ''}`
        ).toString('base64')}`
      }
    : {}

async function registry(url, init = {}) {
  const res = await fetch(url, {
    ...init,
    headers: { ...auth, ...init.headers }
  })
  if (!res.ok) {
    throw new Error(
      `${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`
    )
  }
  return res
}

async function uploadBlob(base, repo, bytes) {
  const digest = `sha256:${sha256(bytes)}`
  const start = await registry(`${base}/v2/${repo}/blobs/uploads/`, {
    method: 'POST'
  })
  await start.arrayBuffer()
  const location = new URL(start.headers.get('location'), base)
  location.searchParams.set('digest', digest)
  const put = await registry(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes
  })
  await put.arrayBuffer()
  return { digest, size: bytes.length }
}

async function signImage(image) {
  const at = image.search(/[@:][^/]*$/)
  const name = at > 0 ? image.slice(0, at) : image
  const reference = at > 0 ? image.slice(at + 1) : 'latest'
  const slash = name.indexOf('/')
  const host = name.slice(0, slash)
  const repo = name.slice(slash + 1)
  const base = `http://${host}`

  // 1. Resolve the digest.
  const head = await registry(`${base}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: MANIFEST_ACCEPT }
  })
  const digest = head.headers.get('docker-content-digest')

  // 2. The simple-signing payload cosign signs.
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': name },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature'
      },
      optional: null
    })
  )

  // 3. sigstore-js: certificate from Fulcio, signature, Rekor entry.
  const bundle = await sign(payload, {
    fulcioURL: values['fulcio-url'],
    rekorURL: values['rekor-url'],
    identityToken: values['identity-token'],
    tlogUpload: true
  })
  const material = bundle.verificationMaterial
  // sign() writes a v0.2-style x509CertificateChain holding the leaf.
  const leafDer =
    material.certificate?.rawBytes ??
    material.x509CertificateChain.certificates[0].rawBytes
  const tlog = material.tlogEntries[0]
  const rekorBundle = {
    SignedEntryTimestamp: tlog.inclusionPromise.signedEntryTimestamp,
    Payload: {
      body: tlog.canonicalizedBody,
      integratedTime: Number(tlog.integratedTime),
      logIndex: Number(tlog.logIndex),
      logID: Buffer.from(tlog.logId.keyId, 'base64').toString('hex')
    }
  }

  // 4. The legacy `.sig` layout.
  const layer = await uploadBlob(base, repo, payload)
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      config: {}
    })
  )
  const cfg = await uploadBlob(base, repo, config)
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...cfg },
    layers: [
      {
        mediaType: SIMPLE_SIGNING,
        ...layer,
        annotations: {
          'dev.cosignproject.cosign/signature':
            bundle.messageSignature.signature,
          'dev.sigstore.cosign/bundle': JSON.stringify(rekorBundle),
          'dev.sigstore.cosign/certificate': pem(leafDer),
          'dev.sigstore.cosign/chain': chainPem
        }
      }
    ]
  }
  const tag = `${digest.replace(':', '-')}.sig`
  const put = await registry(`${base}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': OCI_MANIFEST },
    body: JSON.stringify(manifest)
  })
  await put.arrayBuffer()
  console.log(`${name}@${digest}: signature written to ${name}:${tag}`)
}

for (const image of positionals) await signImage(image)
