// Installing cosign for later steps, verified before anything runs: the
// release binary for this OS and architecture, its Sigstore bundle checked by
// Sigil's own verifier against the identity cosign's releases are signed
// with, and its SHA-256 against the release's checksums file. Nothing is
// executed, ever: not a bootstrap cosign (as sigstore/cosign-installer runs),
// not the installed one (its version is the release asked for).
//
// Facts about cosign's releases (sigstore/cosign .goreleaser.yml and
// release/cloudbuild.yaml; sigstore/cosign-installer action.yml, which
// verifies the same way with a bootstrap cosign):
// - binaries are release assets named cosign-<os>-<arch> (goreleaser builds'
//   `binary:`, archives `formats: [binary]`), Windows with `.exe`;
// - the checksums file is `cosign_checksums.txt` (`checksum.name_template:
//   "{{ .ProjectName }}_checksums.txt"`), sha256sum format;
// - from v3.0.1 each binary has a keyless Sigstore bundle `<asset>.sigstore.json`
//   (the `cosign-keyless` sign step: `sign-blob --bundle`), made in Google
//   Cloud Build as the service account keyless@projectsigstore.iam.gserviceaccount.com
//   (GOOGLE_SERVICE_ACCOUNT_NAME=keyless@${PROJECT_ID}), OIDC issuer
//   https://accounts.google.com: cosign-installer verifies v3.0.1+ with
//   `--certificate-identity=keyless@projectsigstore.iam.gserviceaccount.com
//   --certificate-oidc-issuer=https://accounts.google.com --bundle <asset>.sigstore.json`;
// - v2.x releases have no bundle: `<asset>-keyless.sig` + `<asset>-keyless.pem`
//   (the log entry only in Rekor, so verifiable only online) and a KMS
//   signature `<asset>.sig`. Sigil verifies bundles offline, so it installs
//   v3.0.1 and later and says so for older versions.
import type { HttpClient } from '../http/index.ts'
import {
  PolicyError,
  VerificationError,
  type TrustMaterial
} from '../sigstore/index.ts'
import { AppError, InputError, sha256Hex, type Logger } from '../util/index.ts'
import { verifyBlob } from './verify-blob.ts'
import { resolveTrust } from './trust-source.ts'

export const COSIGN_RELEASES_URL =
  'https://github.com/sigstore/cosign/releases/download'
/** The certificate SAN (an e-mail address) of cosign's release signatures. */
export const COSIGN_RELEASE_IDENTITY =
  'keyless@projectsigstore.iam.gserviceaccount.com'
export const COSIGN_RELEASE_ISSUER = 'https://accounts.google.com'
/** The release sigstore/cosign-installer installs by default, whose assets
 * (and checksums) it lists. */
export const DEFAULT_COSIGN_VERSION = 'v3.0.6'
/** The first release with a Sigstore bundle per binary. */
export const FIRST_BUNDLED_COSIGN = 'v3.0.1'
export const COSIGN_CHECKSUMS_FILE = 'cosign_checksums.txt'
/** Default time for each download, retries included (retry-budget): the
 * binary is 100-150 MB. */
export const DEFAULT_INSTALL_BUDGET_S = 300
/** cosign binaries are ~100-150 MB. */
const MAX_BINARY_BYTES = 512 * 1024 * 1024

/** A release that is not what it claims: not signed by cosign's release
 * identity, changed after signing, or not matching its checksums. */
export class InstallError extends AppError {}

export type InstallErrorCode =
  | 'INSTALL_COSIGN_DOWNLOAD_FAILED'
  | 'INSTALL_COSIGN_SIGNATURE_INVALID'
  | 'INSTALL_COSIGN_SIGNER_MISMATCH'
  | 'INSTALL_COSIGN_CHECKSUM_MISSING'
  | 'INSTALL_COSIGN_CHECKSUM_MISMATCH'

/** `3.0.6`, `v3.0.6`, `v3.1.0-rc.1` → `v3.0.6` …; else INPUT_COSIGN_VERSION. */
export function parseCosignVersion(v: string): string {
  const s = v.trim()
  const m = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(s)
  if (!m) {
    throw new InputError(
      'INPUT_COSIGN_VERSION',
      `install-cosign: ${JSON.stringify(s)} is not a cosign release version`,
      {
        remedy: `Give a release tag such as ${DEFAULT_COSIGN_VERSION} (see https://github.com/sigstore/cosign/releases); "latest" is not accepted, so that a job installs what it was reviewed with.`
      }
    )
  }
  const [maj, min, pat] = [m[1], m[2], m[3]].map(Number) as [
    number,
    number,
    number
  ]
  const tag = `v${maj}.${min}.${pat}${m[4] ?? ''}`
  if (maj < 3 || (maj === 3 && min === 0 && pat < 1)) {
    throw new InputError(
      'INPUT_COSIGN_VERSION',
      `install-cosign: cosign ${tag} has no Sigstore bundle to verify (releases before ${FIRST_BUNDLED_COSIGN} sign with a detached signature whose log entry is only in Rekor)`,
      {
        remedy: `Install ${FIRST_BUNDLED_COSIGN} or later (e.g. ${DEFAULT_COSIGN_VERSION}); cosign v3 verifies v2 signatures too.`
      }
    )
  }
  return tag
}

/** The release asset for a Node platform/arch (process.platform, process.arch). */
export function cosignAssetName(platform: string, arch: string): string {
  const goArch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64'
  }
  const supported: Record<string, readonly string[]> = {
    linux: ['amd64', 'arm64', 'arm', 'ppc64le', 's390x', 'riscv64'],
    darwin: ['amd64', 'arm64'],
    windows: ['amd64']
  }
  const os = platform === 'win32' ? 'windows' : platform
  const a = goArch[arch]
  if (!a || !supported[os]?.includes(a)) {
    throw new InputError(
      'INPUT_COSIGN_PLATFORM',
      `install-cosign: cosign publishes no binary for ${platform}/${arch}`,
      {
        remedy:
          'Run the job on Linux (amd64, arm64, arm, ppc64le, s390x, riscv64), macOS (amd64, arm64) or Windows (amd64).'
      }
    )
  }
  return `cosign-${os}-${a}${os === 'windows' ? '.exe' : ''}`
}

/** The hex SHA-256 that a sha256sum-format checksums file gives `asset`. */
export function checksumOf(text: string, asset: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$/.exec(line)
    if (m && m[2] === asset) return m[1]?.toLowerCase()
  }
  return undefined
}

export interface FetchCosignOptions {
  version: string
  /** Release download base; `${baseUrl}/${version}/${asset}`. */
  baseUrl?: string
  platform: string
  arch: string
  /** The trusted root, or how to get it (asked only when a download has
   * to be verified: a cached install needs none). */
  trust: TrustMaterial | (() => Promise<TrustMaterial>)
  /** Expected certificate SAN and issuer (exact); default cosign's. */
  identity?: string
  issuer?: string
  http: HttpClient
  logger: Logger
}

/**
 * Where cosign comes from and who must have signed it, from the inputs
 * every front door shares (cosign-installer's names, plus Sigil's trust
 * inputs): the same for the CLI, the action and the GitLab component.
 * Trust is resolved only when a download has to be verified.
 */
export function cosignSourceFromInputs(
  raw: Readonly<Record<string, string | undefined>>,
  context: { env: NodeJS.ProcessEnv; logger: Logger; userAgent: string }
): Pick<
  FetchCosignOptions,
  'baseUrl' | 'identity' | 'issuer' | 'platform' | 'arch' | 'trust'
> {
  const given = (name: string): string | undefined => raw[name] || undefined
  const baseUrl = given('release-base-url')
  const identity = given('certificate-identity')
  const issuer = given('certificate-oidc-issuer')
  const trustedRootPath = given('trusted-root')
  const tufMirror = given('tuf-mirror')
  const tufRootPath = given('tuf-root')
  return {
    ...(baseUrl ? { baseUrl } : {}),
    ...(identity ? { identity } : {}),
    ...(issuer ? { issuer } : {}),
    platform: process.platform,
    arch: process.arch,
    trust: async () =>
      (
        await resolveTrust({
          purpose: 'verify',
          ...(trustedRootPath ? { trustedRootPath } : {}),
          ...(tufMirror ? { tufMirror } : {}),
          ...(tufRootPath ? { tufRootPath } : {}),
          ...context
        })
      ).trust
  }
}

export interface VerifiedCosign {
  version: string
  asset: string
  url: string
  bytes: Uint8Array
  sha256: string
  /** The signer, as the verified certificate names it. */
  identity: string
  issuer: string
  logIndex?: number
}

async function download(
  http: HttpClient,
  url: string,
  what: string,
  maxBodyBytes?: number
): Promise<Uint8Array> {
  let res
  try {
    res = await http.request({
      method: 'GET',
      url,
      ...(maxBodyBytes ? { maxBodyBytes, timeoutMs: 300_000 } : {})
    })
  } catch (e) {
    throw new InstallError(
      'INSTALL_COSIGN_DOWNLOAD_FAILED',
      `install-cosign: could not download ${what} from ${url}`,
      {
        cause: e,
        remedy:
          'Check that the runner reaches the release host (or set the base URL to a mirror).'
      }
    )
  }
  if (res.status !== 200) {
    throw new InstallError(
      'INSTALL_COSIGN_DOWNLOAD_FAILED',
      `install-cosign: ${what} ${url} answered HTTP ${res.status}`,
      {
        remedy:
          res.status === 404
            ? 'Check the version (a release tag of sigstore/cosign, v3.0.1 or later) and, with a mirror, that it holds the binary, its .sigstore.json bundle and cosign_checksums.txt.'
            : 'Retry later, or use a mirror.'
      }
    )
  }
  return res.body
}

/**
 * Downloads the cosign binary of `version` for `platform`/`arch` and returns
 * its bytes only once its bundle verified against the release identity and
 * its SHA-256 matched the checksums file. Throws InstallError otherwise.
 */
export async function fetchVerifiedCosign(
  o: FetchCosignOptions
): Promise<VerifiedCosign> {
  const version = parseCosignVersion(o.version)
  const asset = cosignAssetName(o.platform, o.arch)
  const base = (o.baseUrl || COSIGN_RELEASES_URL).replace(/\/+$/, '')
  const identity = o.identity || COSIGN_RELEASE_IDENTITY
  const issuer = o.issuer || COSIGN_RELEASE_ISSUER
  const at = (f: string): string =>
    `${base}/${encodeURIComponent(version)}/${encodeURIComponent(f)}`
  const url = at(asset)
  o.logger.info(`Downloading cosign ${version} (${asset}) from ${base}`)
  const [checksums, bundleBytes] = await Promise.all([
    download(o.http, at(COSIGN_CHECKSUMS_FILE), 'the checksums file'),
    download(o.http, at(`${asset}.sigstore.json`), 'the Sigstore bundle')
  ])
  const bytes = await download(o.http, url, 'the binary', MAX_BINARY_BYTES)
  let bundle: unknown
  try {
    bundle = JSON.parse(Buffer.from(bundleBytes).toString('utf8'))
  } catch (e) {
    throw new InstallError(
      'INSTALL_COSIGN_SIGNATURE_INVALID',
      `install-cosign: ${asset}.sigstore.json of cosign ${version} is not JSON; nothing was installed`,
      { cause: e }
    )
  }
  let result
  try {
    result = await verifyBlob({
      bundle,
      artifact: { bytes },
      trust: typeof o.trust === 'function' ? await o.trust() : o.trust,
      policy: { identity: { exact: identity }, issuer: { exact: issuer } }
    })
  } catch (e) {
    if (e instanceof PolicyError) {
      throw new InstallError(
        'INSTALL_COSIGN_SIGNER_MISMATCH',
        `install-cosign: ${asset} of cosign ${version} is signed, but not by ${identity} (issuer ${issuer}): ${e.message}; nothing was installed`,
        {
          cause: e,
          remedy:
            'Do not use this download. If the base URL is a mirror, it serves a binary cosign did not release.'
        }
      )
    }
    if (e instanceof VerificationError || e instanceof AppError) {
      throw new InstallError(
        'INSTALL_COSIGN_SIGNATURE_INVALID',
        `install-cosign: ${asset} of cosign ${version} does not match its Sigstore bundle: ${e.message}; nothing was installed`,
        {
          cause: e,
          remedy:
            'The binary or its bundle was altered or damaged in transit or on the mirror; do not use it.'
        }
      )
    }
    throw e
  }
  const sha256 = sha256Hex(bytes)
  const want = checksumOf(Buffer.from(checksums).toString('utf8'), asset)
  if (!want) {
    throw new InstallError(
      'INSTALL_COSIGN_CHECKSUM_MISSING',
      `install-cosign: ${COSIGN_CHECKSUMS_FILE} of cosign ${version} lists no ${asset}; nothing was installed`
    )
  }
  if (want !== sha256) {
    throw new InstallError(
      'INSTALL_COSIGN_CHECKSUM_MISMATCH',
      `install-cosign: ${asset} of cosign ${version} has SHA-256 ${sha256}, ${COSIGN_CHECKSUMS_FILE} says ${want}; nothing was installed`,
      {
        remedy:
          'The release files disagree: a mirror out of sync or altered. Do not use it.'
      }
    )
  }
  const signer = result.identity
  o.logger.info(
    `Verified cosign ${version}: signed by ${signer?.subjectAlternativeName ?? identity} (issuer ${signer?.issuer ?? issuer}), SHA-256 ${sha256} as in ${COSIGN_CHECKSUMS_FILE}`
  )
  const idx = result.tlogEntries[0]?.logIndex
  return {
    version,
    asset,
    url,
    bytes,
    sha256,
    identity: signer?.subjectAlternativeName ?? identity,
    issuer: signer?.issuer ?? issuer,
    ...(idx !== undefined ? { logIndex: Number(idx) } : {})
  }
}

/** The file name cosign gets on PATH. */
export function cosignExecutableName(platform: string): string {
  return platform === 'win32' ? 'cosign.exe' : 'cosign'
}

/** What install-cosign records next to the binary it wrote: a later run of
 * the same version finds it there (no download) when the file still hashes
 * to what was verified. */
export const INSTALL_RECORD = '.sigil-cosign.json'

interface InstallRecord {
  version: string
  asset: string
  sha256: string
  identity: string
  issuer: string
}

export interface InstalledCosign {
  path: string
  dir: string
  version: string
  sha256: string
  cached: boolean
}

/** The cosign a previous run installed into `dir`, if it is `version` for
 * this platform and unchanged since it was verified. */
export async function findInstalledCosign(
  dir: string,
  version: string,
  platform: string,
  arch: string
): Promise<InstalledCosign | undefined> {
  const { readFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const tag = parseCosignVersion(version)
  const asset = cosignAssetName(platform, arch)
  const path = join(dir, cosignExecutableName(platform))
  let rec: InstallRecord
  let bytes: Uint8Array
  try {
    rec = JSON.parse(
      await readFile(join(dir, INSTALL_RECORD), 'utf8')
    ) as InstallRecord
    if (rec.version !== tag || rec.asset !== asset) return undefined
    bytes = await readFile(path)
  } catch {
    return undefined
  }
  if (sha256Hex(bytes) !== rec.sha256) return undefined
  return { path, dir, version: tag, sha256: rec.sha256, cached: true }
}

/** Writes a verified cosign into `dir` (created), executable, and the record
 * findInstalledCosign reads. The file appears whole or not at all. */
export async function writeVerifiedCosign(
  dir: string,
  v: VerifiedCosign,
  platform: string
): Promise<InstalledCosign> {
  const { mkdir, rename, writeFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  await mkdir(dir, { recursive: true })
  const path = join(dir, cosignExecutableName(platform))
  const tmp = `${path}.${process.pid}.partial`
  await writeFile(tmp, v.bytes, { mode: 0o755 })
  await rename(tmp, path)
  const rec: InstallRecord = {
    version: v.version,
    asset: v.asset,
    sha256: v.sha256,
    identity: v.identity,
    issuer: v.issuer
  }
  await writeFile(
    join(dir, INSTALL_RECORD),
    `${JSON.stringify(rec, null, 2)}\n`
  )
  return { path, dir, version: v.version, sha256: v.sha256, cached: false }
}

export interface InstallCosignOptions extends FetchCosignOptions {
  /** Directory the binary goes into (created). */
  dir: string
}

/** cosign `version` in `dir`: what a previous run verified there (nothing
 * downloaded), else downloaded, verified and written. */
export async function installCosign(
  o: InstallCosignOptions
): Promise<InstalledCosign> {
  const found = await findInstalledCosign(o.dir, o.version, o.platform, o.arch)
  if (found) {
    o.logger.info(
      `cosign ${found.version} is already installed at ${found.path} (verified, SHA-256 ${found.sha256}); nothing downloaded`
    )
    return found
  }
  return writeVerifiedCosign(o.dir, await fetchVerifiedCosign(o), o.platform)
}
