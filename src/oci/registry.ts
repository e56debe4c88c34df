// RegistryClient: the distribution-spec operations Sigil needs on one
// registry (manifests, blobs, tags, referrers API), with authentication kept
// private. No Sigstore or cosign knowledge; the referrers tag fallback lives
// in referrers.ts. Every failure is a RegistryError with the distribution code.
// Spec: opencontainers/distribution-spec spec.md; cosign-spec §10.
import {
  HttpError,
  attemptsNote,
  isJsonBody,
  type HttpClient,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse
} from '../http/index.ts'
import {
  nullLogger,
  ociDigest,
  redactUrl,
  sleep,
  type Logger
} from '../util/index.ts'
import { Authenticator, parseChallenges, pullScope, pushScope } from './auth.ts'
import type { Credentials } from './credentials.ts'
import {
  RegistryError,
  distributionErrors,
  permissionRemedy,
  type Permission,
  type RegistryErrorCode
} from './errors.ts'
import {
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
  baseMediaType,
  isIndexMediaType
} from './media-types.ts'
import {
  DOCKER_HUB,
  canonicalRegistry,
  isLoopbackRegistry,
  isValidRepository,
  isValidTag
} from './reference.ts'
import {
  isDigest,
  type Descriptor,
  type ImageIndex,
  type Manifest
} from './types.ts'

/** The answer was not HTTP at all (e.g. a TLS alert read as a response). */
function isHttpParseError(e: unknown): boolean {
  for (let cur = e, i = 0; cur && i < 5; i++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('HPE_')) return true
    cur = (cur as { cause?: unknown }).cause
  }
  return false
}

export interface RegistryClientOptions {
  http: HttpClient
  logger?: Logger
  /** Fixed credentials, or a lookup run once on the first challenge. */
  credentials?: Credentials | (() => Promise<Credentials | undefined>)
  /** Permit plain http to a non-loopback registry (the user opted in). */
  allowHttp?: boolean
  /** Default: https, except for loopback hosts (localhost, 127.0.0.0/8,
   * ::1) and, when allowHttp is set, any host: those are spoken to over
   * http, and over https instead when the first request finds a TLS server
   * there. 'http' elsewhere needs allowHttp. */
  scheme?: 'http' | 'https'
}

export interface ManifestResult {
  descriptor: Descriptor
  bytes: Uint8Array
  manifest: Manifest
  /** For If-Match on a later PUT, when the registry sends one. */
  etag?: string
}

export interface GetManifestOptions {
  /** Retry 404 a few times: a GET right after our own PUT may not see it yet. */
  retryUnknown?: boolean
}

export interface PutManifestOptions {
  /** Sent as If-Match (registries that honour it answer 412 on a change). */
  ifMatch?: string
  /** false: one attempt, no automatic retry (a read-merge-write caller
   * re-reads before writing again; a stale repeat could drop a layer that
   * another writer added in between). */
  retry?: boolean
}

export interface PutManifestResult {
  digest: string
  /** The OCI-Subject header: the registry processed the manifest's subject. */
  subject?: string
}

const MAX_MANIFEST_BYTES = 8 * 1024 * 1024
const DEFAULT_MAX_BLOB_BYTES = 128 * 1024 * 1024
const MAX_PAGES = 1000
const UNKNOWN_RETRY_DELAYS_MS = [100, 250, 500, 1000]
const SUCCESS = new Set([200, 201, 202, 204])
/** Waits before a manifest PUT answered "blob unknown" is sent again. */
const BLOB_RACE_DELAYS_MS = [50, 100, 200, 400]
/** Upload sessions opened for one blob before giving up. */
const UPLOAD_SESSIONS = 3

/** Blobs up to this size are uploaded without checking for them first. */
const SMALL_BLOB_BYTES = 64 * 1024

export class RegistryClient {
  readonly #uploads = new Map<
    string,
    Promise<{ digest: string; size: number }>
  >()
  /** Canonical host[:port], as in references. */
  readonly registry: string
  #origin: string
  /** http chosen by default (loopback, allowHttp): the first request checks
   * that no TLS server answers there instead. */
  readonly #probeScheme: boolean
  #schemeSettled: Promise<unknown> | undefined
  readonly #http: HttpClient
  readonly #logger: Logger
  readonly #auth: Authenticator

  constructor(registry: string, options: RegistryClientOptions) {
    this.registry = canonicalRegistry(registry)
    const loopback = isLoopbackRegistry(this.registry)
    if (options.scheme === 'http' && !loopback && options.allowHttp !== true) {
      throw new RegistryError(
        'REGISTRY_INSECURE',
        `refusing plain http to ${this.registry}: only loopback registries may use http unless insecure registries are explicitly allowed`
      )
    }
    const secure = options.scheme
      ? options.scheme === 'https'
      : !(loopback || options.allowHttp === true)
    // Docker Hub's API host; `index.docker.io` is only its canonical name.
    const apiHost =
      this.registry === DOCKER_HUB ? 'registry-1.docker.io' : this.registry
    this.#origin = `${secure ? 'https' : 'http'}://${apiHost}`
    this.#probeScheme = !options.scheme && !secure
    this.#http = options.http
    this.#logger = options.logger ?? nullLogger
    this.#auth = new Authenticator({
      http: options.http,
      origin: this.origin,
      registry: this.registry,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      allowHttpRealm: options.allowHttp === true,
      logger: this.#logger
    })
  }

  /** Forget which blobs of `repository` were uploaded: the next upload of
   * each is sent again (the registry said it does not have one). */
  forgetUploads(repository: string): void {
    for (const key of [...this.#uploads.keys()])
      if (key.startsWith(`${repository}@`)) this.#uploads.delete(key)
  }

  /** Digest of the manifest a tag names now; undefined when it answers 404. */
  async headManifest(
    repository: string,
    tag: string
  ): Promise<string | undefined> {
    const res = await this.#send(
      {
        method: 'HEAD',
        url: this.#manifestUrl(repository, tag),
        headers: { accept: MANIFEST_ACCEPT }
      },
      [pullScope(repository)]
    )
    if (res.status === 404) return undefined
    const digest = res.headers['docker-content-digest']
    if (res.status === 200 && digest && isDigest(digest)) return digest
    if (res.status === 200)
      return (await this.getManifest(repository, tag)).descriptor.digest
    throw await this.#fail(
      res,
      'HEAD',
      'check',
      repository,
      tag,
      'pull',
      'REGISTRY_MANIFEST_UNKNOWN'
    )
  }

  /** Scheme and API host, e.g. `https://ghcr.io`. */
  get origin(): string {
    return this.#origin
  }

  /**
   * Plain http was chosen for a loopback (or explicitly allowed) registry:
   * send the run's first request over http (instead of a separate ping),
   * and move to https when a TLS server answers there (Go's and nginx's TLS
   * servers reply 400 naming HTTPS to a plain request; others send a TLS
   * alert, which does not parse as HTTP). A 401 teaches the authenticator
   * the registry's challenge, a 2xx that it is open (no ping needed); the
   * answer is the probe's own unless it was a 401 or the scheme moved.
   */
  async #settleScheme(
    probe: HttpRequest = { method: 'GET', url: `${this.#origin}/v2/` }
  ): Promise<HttpResponse | undefined> {
    let res: HttpResponse | undefined
    try {
      res = await this.#http.request(probe)
      // A 400 to a HEAD has no body to say why: ask /v2/ to find out.
      if (res.status === 400 && probe.method === 'HEAD') {
        const ping = await this.#auth.ping()
        if (ping.status === 400 && /https/i.test(ping.text())) res = ping
      }
    } catch (e) {
      if (!isHttpParseError(e))
        throw new RegistryError(
          'REGISTRY_UNREACHABLE',
          `cannot reach registry ${this.registry}: ${(e as Error).message}`,
          { cause: e, remedy: (e as HttpError).remedy }
        )
    }
    if (res && !(res.status === 400 && /https/i.test(res.text()))) {
      if (res.status === 401 || (res.status >= 200 && res.status < 300))
        this.#auth.adoptPing(res)
      return res.status === 401 ? undefined : res
    }
    const secure = this.#origin.replace(/^http:/, 'https:')
    this.#logger.debug(
      `registry ${this.registry} answers over TLS: using ${secure}`
    )
    this.#origin = secure
    this.#auth.setOrigin(secure)
    return undefined
  }

  /**
   * Descriptor of a tag or digest, read from the manifest bytes: GET (by
   * digest, the bytes checked against it), the digest computed from the bytes
   * and the index-or-manifest decision taken from the body. A HEAD answer's
   * Content-Type is never trusted: a registry or proxy could otherwise make
   * an index look like a single image and skip its platforms.
   */
  async resolve(repository: string, tagOrDigest: string): Promise<Descriptor> {
    return (await this.getManifest(repository, tagOrDigest)).descriptor
  }

  /**
   * Fails unless this client may push to `repository`; asked before anything
   * public happens. An open registry (no challenge) costs nothing. Otherwise
   * a blob upload is started with the push scope (the token the writes then
   * reuse) and cancelled at once: 401/403 is REGISTRY_DENIED or
   * REGISTRY_UNAUTHORIZED with the permission remedy.
   */
  async checkPush(repository: string): Promise<void> {
    this.#checkRepository(repository)
    if (this.#probeScheme) {
      // Let the run's first real request (started in the same turn) be the
      // probe; ping only when there is none.
      if (!this.#schemeSettled) await new Promise(r => setImmediate(r))
      await (this.#schemeSettled ??= this.#settleScheme())
    }
    if (!(await this.#auth.challenge())) return
    const scopes = [pushScope(repository)]
    const res = await this.#send(
      {
        method: 'POST',
        url: `${this.origin}/v2/${repository}/blobs/uploads/`,
        retrySafe: true
      },
      scopes
    )
    if (res.status !== 202)
      throw await this.#fail(
        res,
        'POST',
        'push to',
        repository,
        undefined,
        'push',
        'REGISTRY_NAME_UNKNOWN'
      )
    const location = res.headers.location
    if (!location) return
    try {
      await this.#send(
        { method: 'DELETE', url: new URL(location, this.origin) },
        scopes
      )
    } catch {
      // an abandoned upload session expires on its own
    }
  }

  /** The manifest bytes, parsed, with a descriptor computed from the bytes. */
  async getManifest(
    repository: string,
    ref: string,
    options: GetManifestOptions = {}
  ): Promise<ManifestResult> {
    return (await this.#manifest(repository, ref, options, false))!
  }

  /** Like getManifest, but undefined when the registry answers 404. */
  findManifest(
    repository: string,
    ref: string,
    options: GetManifestOptions = {}
  ): Promise<ManifestResult | undefined> {
    return this.#manifest(repository, ref, options, true)
  }

  async #manifest(
    repository: string,
    ref: string,
    options: GetManifestOptions,
    allowMissing: boolean
  ): Promise<ManifestResult | undefined> {
    const res = await this.#fetchManifest(repository, ref, options)
    if (res.status === 404 && allowMissing) return undefined
    if (res.status !== 200)
      throw await this.#fail(
        res,
        'GET',
        'get manifest',
        repository,
        ref,
        'pull',
        'REGISTRY_MANIFEST_UNKNOWN'
      )
    return this.#parseManifest(res, repository, ref)
  }

  async putManifest(
    repository: string,
    tagOrDigest: string,
    bytes: Uint8Array,
    mediaType: string,
    options: PutManifestOptions = {}
  ): Promise<PutManifestResult> {
    const digest = ociDigest(bytes)
    if (isDigest(tagOrDigest) && tagOrDigest !== digest) {
      throw new TypeError(
        `putManifest: bytes hash to ${digest}, not ${tagOrDigest}`
      )
    }
    const headers: Record<string, string> = { 'content-type': mediaType }
    if (options.ifMatch) headers['if-match'] = options.ifMatch
    const url = this.#manifestUrl(repository, tagOrDigest)
    const put = (): Promise<HttpResponse> =>
      this.#send(
        {
          method: 'PUT',
          url,
          headers,
          body: bytes,
          ...(options.retry === false ? { retry: false } : {})
        },
        [pushScope(repository)]
      )
    let res = await put()
    // distribution's filesystem store rewrites a blob's link file each time
    // the blob is uploaded again (concurrent signers upload the same
    // payloads and empty configs), and a manifest PUT that reads the file
    // meanwhile finds the blob "unknown": a moment later it is there.
    for (const ms of options.retry === false ? [] : BLOB_RACE_DELAYS_MS) {
      if (res.status !== 400 || !/MANIFEST_BLOB_UNKNOWN/.test(res.text())) break
      this.#logger.debug(
        `${this.registry}/${repository}: a blob of the manifest is not visible yet; retrying in ${ms} ms`
      )
      await sleep(ms)
      res = await put()
    }
    if (res.status === 412) {
      throw new RegistryError(
        'REGISTRY_PRECONDITION_FAILED',
        `${this.registry}/${repository}:${tagOrDigest} changed while we were updating it (HTTP 412)`,
        {
          status: 412,
          cause: HttpError.fromResponse({ method: 'PUT', url }, res)
        }
      )
    }
    if (!SUCCESS.has(res.status))
      throw await this.#fail(
        res,
        'PUT',
        'push manifest',
        repository,
        tagOrDigest,
        'push'
      )
    const echoed = res.headers['docker-content-digest']
    if (echoed?.startsWith('sha256:') && echoed !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `${this.registry}/${repository} stored our manifest ${digest} as ${echoed}`
      )
    }
    const subject = res.headers['oci-subject']
    return subject ? { digest, subject } : { digest }
  }

  blobExists(repository: string, digest: string): Promise<boolean> {
    return this.#blobExists(repository, digest, 'pull')
  }

  /** The blob, verified against its digest. Redirects to storage are followed
   * without our credentials when they leave the registry's origin. */
  async getBlob(
    repository: string,
    digest: string,
    maxBytes: number = DEFAULT_MAX_BLOB_BYTES
  ): Promise<Uint8Array> {
    const url = this.#blobUrl(repository, digest)
    const res = await this.#send(
      {
        method: 'GET',
        url,
        maxBodyBytes: maxBytes,
        complete: r => ociDigest(r.body) === digest
      },
      [pullScope(repository)]
    )
    if (res.status !== 200)
      throw await this.#fail(
        res,
        'GET',
        'get blob',
        repository,
        digest,
        'pull',
        'REGISTRY_BLOB_UNKNOWN'
      )
    const actual = ociDigest(res.body)
    if (actual !== digest) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `blob ${this.registry}/${repository}@${digest} has digest ${actual}`
      )
    }
    return res.body
  }

  /** Monolithic upload (POST, then PUT ?digest=); skipped when present. */
  /**
   * Uploads a blob once per client: concurrent and repeated uploads of the
   * same digest to the same repository share one request (distribution
   * fails concurrent uploads of one digest with DIGEST_INVALID).
   */
  uploadBlob(
    repository: string,
    bytes: Uint8Array
  ): Promise<{ digest: string; size: number }> {
    const key = `${repository}@${ociDigest(bytes)}`
    let upload = this.#uploads.get(key)
    if (!upload) {
      upload = this.#uploadBlob(repository, bytes)
      this.#uploads.set(key, upload)
      // A failed upload may be tried again later.
      upload.catch(() => this.#uploads.delete(key))
    }
    return upload
  }

  async #uploadBlob(
    repository: string,
    bytes: Uint8Array
  ): Promise<{ digest: string; size: number }> {
    const digest = ociDigest(bytes)
    const size = bytes.byteLength
    // For small blobs (signature payloads, configs, bundles) a HEAD costs as
    // much as the upload itself, and re-uploading an existing blob is
    // harmless; only larger blobs are checked first.
    if (
      size > SMALL_BLOB_BYTES &&
      (await this.#blobExists(repository, digest, 'push'))
    )
      return { digest, size }
    const scopes = [pushScope(repository)]
    // A session can die under us (a registry restart, a PUT whose answer was
    // lost and whose repeat finds the session closed): check whether the
    // blob arrived anyway, otherwise open a new session.
    for (let session = 1; ; session++) {
      const res = await this.#uploadSession(repository, bytes, digest, scopes)
      if (res === 'done') return { digest, size }
      if (await this.blobExists(repository, digest)) return { digest, size }
      const sessionGone =
        res.status === 404 ||
        distributionErrors(
          HttpError.fromResponse({ method: 'PUT', url: res.url }, res).body
        ).some(e => e.code === 'BLOB_UPLOAD_UNKNOWN')
      if (!sessionGone || session >= UPLOAD_SESSIONS)
        throw await this.#fail(
          res,
          'PUT',
          'upload blob',
          repository,
          digest,
          'push',
          'REGISTRY_BLOB_UNKNOWN'
        )
      this.#logger.debug(
        `upload session for ${digest} on ${this.registry}/${repository} is gone; starting another`
      )
    }
  }

  /** One upload session: 'done', or the failed PUT's response. */
  async #uploadSession(
    repository: string,
    bytes: Uint8Array,
    digest: string,
    scopes: string[]
  ): Promise<'done' | HttpResponse> {
    const size = bytes.byteLength
    // Small blobs try the single-request monolithic upload (POST with
    // ?digest= and the body, 201 when done); a registry that answers 202
    // instead has opened a session, and the PUT below completes it.
    const small = size <= SMALL_BLOB_BYTES
    const start = await this.#send(
      {
        method: 'POST',
        url: `${this.origin}/v2/${repository}/blobs/uploads/${small ? `?digest=${encodeURIComponent(digest)}` : ''}`,
        ...(small
          ? {
              headers: { 'content-type': 'application/octet-stream' },
              body: bytes
            }
          : {}),
        retrySafe: true
      },
      scopes
    )
    if (small && start.status === 201) return 'done'
    if (start.status !== 202)
      throw await this.#fail(
        start,
        'POST',
        'start blob upload',
        repository,
        digest,
        'push',
        'REGISTRY_NAME_UNKNOWN'
      )
    const location = this.#location(start, 'blob upload')
    // Keep the session's own query (e.g. _state) and append the digest.
    const put = new URL(location)
    put.hash = ''
    put.search = `${location.search}${location.search ? '&' : '?'}digest=${encodeURIComponent(digest)}`
    const res = await this.#send(
      {
        method: 'PUT',
        url: put,
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes
      },
      scopes
    )
    return SUCCESS.has(res.status) ? 'done' : res
  }

  /** Cross-repository mount; false when the registry started an upload instead. */
  async mountBlob(
    repository: string,
    digest: string,
    fromRepository: string
  ): Promise<boolean> {
    this.#checkRepository(fromRepository)
    this.#checkDigest(digest)
    const url = new URL(`${this.origin}/v2/${repository}/blobs/uploads/`)
    url.searchParams.set('mount', digest)
    url.searchParams.set('from', fromRepository)
    const res = await this.#send({ method: 'POST', url, retrySafe: true }, [
      pushScope(repository),
      pullScope(fromRepository)
    ])
    if (res.status === 201) return true
    if (res.status === 202) return false
    throw await this.#fail(
      res,
      'POST',
      'mount blob',
      repository,
      digest,
      'push',
      'REGISTRY_BLOB_UNKNOWN'
    )
  }

  /** Every tag, following Link pagination (order as the registry gives it). */
  async listTags(repository: string): Promise<string[]> {
    this.#checkRepository(repository)
    const tags: string[] = []
    let url: URL | undefined = new URL(
      `${this.origin}/v2/${repository}/tags/list?n=1000`
    )
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res = await this.#send({ method: 'GET', url }, [
        pullScope(repository)
      ])
      if (res.status !== 200)
        throw await this.#fail(
          res,
          'GET',
          'list tags of',
          repository,
          undefined,
          'pull',
          'REGISTRY_NAME_UNKNOWN'
        )
      const body = this.#json<{ tags?: unknown }>(res, 'tag list')
      if (
        body.tags !== null &&
        body.tags !== undefined &&
        !Array.isArray(body.tags)
      ) {
        throw new RegistryError(
          'REGISTRY_INVALID_RESPONSE',
          `the tag list of ${this.registry}/${repository} is malformed`
        )
      }
      for (const t of body.tags ?? []) if (typeof t === 'string') tags.push(t)
      url = this.#nextLink(res)
    }
    return tags
  }

  /** Referrers API. null = the registry does not implement it (404, 400,
   * 406, or a non-index answer); [] = implemented, nothing refers. */
  async referrers(
    repository: string,
    digest: string,
    artifactType?: string
  ): Promise<Descriptor[] | null> {
    this.#checkRepository(repository)
    this.#checkDigest(digest)
    let url: URL | undefined = new URL(
      `${this.origin}/v2/${repository}/referrers/${digest}`
    )
    if (artifactType) url.searchParams.set('artifactType', artifactType)
    const out: Descriptor[] = []
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res = await this.#send(
        {
          method: 'GET',
          url,
          headers: { accept: MEDIA_TYPES.OCI_INDEX },
          complete: isJsonBody
        },
        [pullScope(repository)]
      )
      const isIndex =
        baseMediaType(res.headers['content-type']) === MEDIA_TYPES.OCI_INDEX
      if (
        page === 0 &&
        ([400, 404, 406].includes(res.status) ||
          (res.status === 200 && !isIndex))
      )
        return null
      if (res.status !== 200 || !isIndex)
        throw await this.#fail(
          res,
          'GET',
          'list referrers of',
          repository,
          digest,
          'pull'
        )
      const index = this.#json<Partial<ImageIndex>>(res, 'referrers index')
      if (!Array.isArray(index.manifests)) {
        throw new RegistryError(
          'REGISTRY_INVALID_RESPONSE',
          `the referrers of ${this.registry}/${repository}@${digest} are not an image index`
        )
      }
      out.push(...index.manifests.filter(isDescriptor))
      url = this.#nextLink(res)
    }
    // Also when OCI-Filters-Applied says the server filtered: it is then a no-op.
    return artifactType ? out.filter(d => d.artifactType === artifactType) : out
  }

  async #fetchManifest(
    repository: string,
    ref: string,
    options: GetManifestOptions
  ): Promise<HttpResponse> {
    const url = this.#manifestUrl(repository, ref)
    const delays = options.retryUnknown ? UNKNOWN_RETRY_DELAYS_MS : []
    for (let i = 0; ; i++) {
      const res = await this.#send(
        {
          method: 'GET',
          url,
          headers: { accept: MANIFEST_ACCEPT },
          maxBodyBytes: MAX_MANIFEST_BYTES,
          // A manifest cut short (or not the bytes a digest names) is read again.
          complete: res =>
            isDigest(ref) ? ociDigest(res.body) === ref : isJsonBody(res)
        },
        [pullScope(repository)]
      )
      const delay = delays[i]
      if (res.status !== 404 || delay === undefined) return res
      this.#logger.debug(
        `${this.registry}/${repository}:${ref} not visible yet; retrying in ${delay} ms`
      )
      await sleep(delay)
    }
  }

  #parseManifest(
    res: HttpResponse,
    repository: string,
    ref: string
  ): ManifestResult {
    const bytes = res.body
    const digest = ociDigest(bytes)
    const where = `${this.registry}/${repository}${isDigest(ref) ? '@' : ':'}${ref}`
    if (isDigest(ref) && digest !== ref) {
      throw new RegistryError(
        'REGISTRY_DIGEST_MISMATCH',
        `manifest ${where} has digest ${digest}`
      )
    }
    const json = this.#json<
      Partial<Manifest> & {
        manifests?: unknown
        layers?: unknown
        config?: unknown
      }
    >(res, `manifest ${where}`)
    const mediaType = manifestMediaType(json, res.headers['content-type'])
    if (mediaType === undefined) {
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `manifest ${where} is not a schema 2 image manifest or index (media type "${typeof json.mediaType === 'string' ? json.mediaType : baseMediaType(res.headers['content-type'])}"); its body alone decides which it is`
      )
    }
    const result: ManifestResult = {
      descriptor: { mediaType, size: bytes.byteLength, digest },
      bytes,
      manifest: json as Manifest
    }
    if (res.headers.etag) result.etag = res.headers.etag
    return result
  }

  // Before an upload, ask with the push scope so one token serves it all.
  async #blobExists(
    repository: string,
    digest: string,
    permission: Permission
  ): Promise<boolean> {
    const res = await this.#send(
      { method: 'HEAD', url: this.#blobUrl(repository, digest) },
      [permission === 'push' ? pushScope(repository) : pullScope(repository)]
    )
    if (res.status === 200) return true
    if (res.status === 404) return false
    throw await this.#fail(
      res,
      'HEAD',
      'check blob',
      repository,
      digest,
      permission,
      'REGISTRY_BLOB_UNKNOWN'
    )
  }

  /** One request with authorization for `scopes`; a 401 for a token we
   * held (it expired) is re-challenged, up to three times. */
  async #send(req: HttpRequest, scopes: string[]): Promise<HttpResponse> {
    if (this.#probeScheme) {
      const before = this.#origin
      if (!this.#schemeSettled) {
        // This request is the probe; the others wait for its answer.
        const probe = this.#settleScheme(req)
        this.#schemeSettled = probe.catch(() => undefined)
        const answer = await probe
        if (answer) return answer
      } else await this.#schemeSettled
      // A URL built before the scheme was settled moves with it.
      const url = new URL(String(req.url))
      if (url.origin === before && before !== this.#origin)
        req = {
          ...req,
          url: new URL(`${url.pathname}${url.search}`, this.#origin)
        }
    }
    for (let attempt = 0; ; attempt++) {
      const headers = { ...req.headers }
      // Credentials only ever go to the registry's own origin.
      if (new URL(String(req.url)).origin === this.origin) {
        const authorization = await this.#auth.header(scopes)
        if (authorization) headers.authorization = authorization
      }
      let res: HttpResponse
      try {
        res = await this.#http.request({ ...req, headers })
      } catch (e) {
        const tooLarge =
          e instanceof HttpError && e.code === 'HTTP_BODY_TOO_LARGE'
        throw new RegistryError(
          tooLarge ? 'REGISTRY_INVALID_RESPONSE' : 'REGISTRY_UNREACHABLE',
          `${req.method} ${redactUrl(req.url)} on ${this.registry} failed: ${(e as Error).message}`,
          { cause: e, remedy: (e as HttpError).remedy }
        )
      }
      if (
        res.status === 401 &&
        attempt < 3 &&
        (await this.#auth.unauthorized(
          res,
          scopes,
          /^bearer /i.test(headers.authorization ?? '')
        ))
      )
        continue
      return res
    }
  }

  async #fail(
    res: HttpResponse,
    method: HttpMethod,
    action: string,
    repository: string,
    ref: string | undefined,
    permission: Permission,
    notFound: RegistryErrorCode = 'REGISTRY_ERROR'
  ): Promise<RegistryError> {
    const cause = HttpError.fromResponse({ method, url: res.url }, res)
    const errors = distributionErrors(cause.body)
    const registryCode = errors[0]?.code
    const where = `${this.registry}/${repository}${ref ? (isDigest(ref) ? `@${ref}` : `:${ref}`) : ''}`
    const detail = errors.length
      ? `: ${errors
          .map(e => `${e.code}${e.message ? ` ${e.message}` : ''}`)
          .join('; ')
          .slice(0, 300)}`
      : ''
    const message = `cannot ${action} ${where}: HTTP ${res.status}${attemptsNote(res)}${detail}`
    const options = {
      status: res.status,
      cause,
      ...(registryCode ? { registryCode } : {})
    }
    const hasCredentials = (await this.#auth.credentials()) !== undefined
    const remedy = permissionRemedy(
      this.registry,
      repository,
      permission,
      hasCredentials
    )
    const insufficientScope = parseChallenges(
      res.headers['www-authenticate']
    ).some(c => c.params.error === 'insufficient_scope')
    if (
      res.status === 403 ||
      registryCode === 'DENIED' ||
      (res.status === 401 && insufficientScope && hasCredentials)
    ) {
      return new RegistryError('REGISTRY_DENIED', message, {
        ...options,
        remedy
      })
    }
    if (res.status === 401 || registryCode === 'UNAUTHORIZED') {
      return new RegistryError('REGISTRY_UNAUTHORIZED', message, {
        ...options,
        remedy
      })
    }
    const byRegistryCode: Record<string, RegistryErrorCode> = {
      MANIFEST_UNKNOWN: 'REGISTRY_MANIFEST_UNKNOWN',
      NAME_UNKNOWN: 'REGISTRY_NAME_UNKNOWN',
      BLOB_UNKNOWN: 'REGISTRY_BLOB_UNKNOWN'
    }
    const mapped = registryCode ? byRegistryCode[registryCode] : undefined
    if (mapped) return new RegistryError(mapped, message, options)
    return new RegistryError(
      res.status === 404 ? notFound : 'REGISTRY_ERROR',
      message,
      options
    )
  }

  #json<T>(res: HttpResponse, what: string): T {
    try {
      const v = res.json<unknown>()
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new Error('not a JSON object')
      return v as T
    } catch (e) {
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `${this.registry} returned an invalid ${what}`,
        { cause: e }
      )
    }
  }

  #location(res: HttpResponse, what: string): URL {
    const raw = res.headers.location
    if (!raw)
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `${this.registry} started a ${what} without a Location`
      )
    return this.#checkedUrl(new URL(raw, res.url), what)
  }

  #nextLink(res: HttpResponse): URL | undefined {
    const link = res.headers.link
    const m = link ? /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link) : null
    return m?.[1]
      ? this.#checkedUrl(new URL(m[1], res.url), 'next page link')
      : undefined
  }

  /** Refuse to be steered from https to plain http on another host. */
  #checkedUrl(url: URL, what: string): URL {
    if (
      url.protocol === 'http:' &&
      this.origin.startsWith('https:') &&
      !isLoopbackRegistry(url.host)
    ) {
      throw new RegistryError(
        'REGISTRY_INSECURE',
        `${this.registry} sent a plain-http ${what} (${redactUrl(url)}); refusing to downgrade`
      )
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new RegistryError(
        'REGISTRY_INVALID_RESPONSE',
        `${this.registry} sent a ${what} with scheme ${url.protocol}`
      )
    }
    return url
  }

  #manifestUrl(repository: string, ref: string): string {
    this.#checkRepository(repository)
    if (!isDigest(ref) && !isValidTag(ref))
      throw new TypeError(`not a tag or sha256 digest: ${JSON.stringify(ref)}`)
    return `${this.origin}/v2/${repository}/manifests/${ref}`
  }

  #blobUrl(repository: string, digest: string): string {
    this.#checkRepository(repository)
    this.#checkDigest(digest)
    return `${this.origin}/v2/${repository}/blobs/${digest}`
  }

  #checkRepository(repository: string): void {
    if (!isValidRepository(repository))
      throw new TypeError(
        `not a repository name: ${JSON.stringify(repository)}`
      )
  }

  #checkDigest(digest: string): void {
    if (!isDigest(digest))
      throw new TypeError(`not a sha256 digest: ${JSON.stringify(digest)}`)
  }
}

function isDescriptor(d: unknown): d is Descriptor {
  const o = d as Partial<Descriptor> | null
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.mediaType === 'string' &&
    typeof o.digest === 'string' &&
    typeof o.size === 'number'
  )
}

/**
 * The media type of a manifest decided from its body alone: an index has a
 * `manifests` array of descriptors, an image manifest a `config` descriptor
 * and a `layers` array; a body that is both, neither, or whose own
 * `mediaType` says the other kind is invalid (undefined). The Content-Type
 * header only names the type when the body has none and it agrees with the
 * body's shape.
 */
function manifestMediaType(
  json: Partial<Manifest> & {
    manifests?: unknown
    layers?: unknown
    config?: unknown
  },
  contentType: string | undefined
): string | undefined {
  if (json.schemaVersion !== 2) return undefined
  const index =
    Array.isArray(json.manifests) && json.manifests.every(isDescriptor)
  const image =
    isDescriptor(json.config) &&
    Array.isArray(json.layers) &&
    json.layers.every(isDescriptor)
  if (index === image || (index && json.config !== undefined)) return undefined
  if (image && json.manifests !== undefined) return undefined
  const own = json.mediaType
  if (own !== undefined) {
    if (typeof own !== 'string' || own === '') return undefined
    return isIndexMediaType(own) === index ? own : undefined
  }
  const header = baseMediaType(contentType)
  if (header && isIndexMediaType(header) === index) return header
  return index ? MEDIA_TYPES.OCI_INDEX : MEDIA_TYPES.OCI_MANIFEST
}
