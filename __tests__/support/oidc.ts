// OIDC test doubles: a loopback emulator of GitHub Actions' token endpoint
// (GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=X with the request bearer token
// → {"value": JWT}) and GitLab-style SIGSTORE_ID_TOKEN JWTs. Tokens are really
// RS256-signed (JWKS served), though @sigstore/mock's Fulcio only decodes them.
// Claims follow cosign-spec.md §6.1/§6.2.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048
})
const KID = 'sigil-test-key'

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'
export const GITLAB_ISSUER = 'https://gitlab.com'
/** SAN the fake Fulcio produces for githubClaims() with subjectClaim 'job_workflow_url'. */
export const GITHUB_SAN =
  'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main'
export const GITLAB_SAN =
  'https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main'

/** The JWKS that verifies every token made here. */
export function jwks(): { keys: object[] } {
  return {
    keys: [
      {
        ...publicKey.export({ format: 'jwk' }),
        kid: KID,
        alg: 'RS256',
        use: 'sig'
      }
    ]
  }
}

/** RS256 JWT over `claims` (iat/nbf/exp filled in unless given). */
export function makeJwt(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000)
  const full = { iat: now, nbf: now - 5, exp: now + 600, ...claims }
  const enc = (o: object) =>
    Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${enc({ alg: 'RS256', typ: 'JWT', kid: KID })}.${enc(full)}`
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

/**
 * GitHub-like claims. `job_workflow_url` is not a GitHub claim: it holds the
 * SAN real Fulcio derives (https://github.com/ + job_workflow_ref), for
 * @sigstore/mock's Fulcio, which copies one claim verbatim
 * (startSigstoreStack({subjectClaim: 'job_workflow_url'})).
 */
export function githubClaims(aud = 'sigstore'): Record<string, unknown> {
  return {
    iss: GITHUB_ISSUER,
    aud,
    sub: 'repo:acme/app:ref:refs/heads/main',
    repository: 'acme/app',
    repository_id: '123456',
    repository_owner: 'acme',
    repository_owner_id: '7890',
    repository_visibility: 'public',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef',
    event_name: 'push',
    workflow: 'release',
    workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    workflow_sha: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef',
    job_workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    job_workflow_sha: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef',
    job_workflow_url: GITHUB_SAN,
    runner_environment: 'github-hosted',
    run_id: '1000',
    run_attempt: '1',
    actor: 'octocat'
  }
}

/** GitLab CI claims for an `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore` job. */
export function gitlabClaims(): Record<string, unknown> {
  return {
    iss: GITLAB_ISSUER,
    aud: 'sigstore',
    sub: 'project_path:group/project:ref_type:branch:ref:main',
    namespace_id: '42',
    namespace_path: 'group',
    project_id: '4242',
    project_path: 'group/project',
    project_visibility: 'public',
    pipeline_id: '99',
    pipeline_source: 'push',
    job_id: '999',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: 'true',
    sha: 'cafebabecafebabecafebabecafebabecafebabe',
    ci_config_ref_uri:
      'gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main',
    ci_config_sha: 'cafebabecafebabecafebabecafebabecafebabe',
    ci_config_url: GITLAB_SAN,
    runner_environment: 'gitlab-hosted',
    user_login: 'alice'
  }
}

/** A SIGSTORE_ID_TOKEN-style GitLab JWT (use subjectClaim 'ci_config_url'). */
export function makeGitLabIdToken(
  claims: Record<string, unknown> = {}
): string {
  return makeJwt({ ...gitlabClaims(), ...claims })
}

export interface GitHubOidc {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (already contains a query string) */
  requestUrl: string
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN */
  requestToken: string
  /** audience of the last token request */
  readonly lastAudience: string | undefined
  /** token requests served (successful ones) */
  readonly count: number
  /** tokens issued, in order */
  readonly tokens: string[]
  stop(): Promise<void>
}

export async function startGitHubOidc(
  options: { claims?: Record<string, unknown> } = {}
): Promise<GitHubOidc> {
  const requestToken = `req-${randomBytes(12).toString('hex')}`
  let lastAudience: string | undefined
  const tokens: string[] = []
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x')
    if (u.pathname === '/.well-known/jwks') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(jwks()))
      return
    }
    if (
      u.pathname !== '/token' ||
      req.headers.authorization !== `Bearer ${requestToken}`
    ) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: 'Bad credentials' }))
      return
    }
    lastAudience = u.searchParams.get('audience') ?? undefined
    const value = makeJwt({
      ...githubClaims(lastAudience ?? 'https://github.com/acme'),
      ...options.claims
    })
    tokens.push(value)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ count: 1, value }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    requestUrl: `http://127.0.0.1:${port}/token?api-version=2.0`,
    requestToken,
    get lastAudience() {
      return lastAudience
    },
    get count() {
      return tokens.length
    },
    tokens,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
