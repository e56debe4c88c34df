// GitHub's artifact attestations store: each attestation bundle POSTed to
// the repository's attestations API (what actions/attest does), so that
// `gh attestation verify` finds it. Needs a token with `attestations: write`.
import type { HttpClient } from '../http/index.ts'
import type { Bundle } from '../sigstore/index.ts'
import { AppError, registerSecret, type Logger } from '../util/index.ts'

export interface GitHubAttestationsTarget {
  /** GITHUB_API_URL, e.g. https://api.github.com */
  apiUrl: string
  /** owner/repo (GITHUB_REPOSITORY) */
  repository: string
  token: string
}

export class GitHubAttestationsError extends AppError {}

/** Stores each bundle; returns the attestation ids GitHub gave them. */
export async function pushToGitHubAttestations(
  bundles: readonly Bundle[],
  target: GitHubAttestationsTarget,
  deps: { http: Pick<HttpClient, 'request'>; logger: Logger }
): Promise<string[]> {
  if (!target.token || !target.repository) {
    throw new GitHubAttestationsError(
      'GITHUB_ATTESTATIONS_UNAVAILABLE',
      'push-to-github-attestations needs the repository (GITHUB_REPOSITORY) and a token (github-token)',
      {
        remedy:
          'Run it in GitHub Actions with permissions: attestations: write (and id-token: write).'
      }
    )
  }
  registerSecret(target.token)
  const url = `${target.apiUrl.replace(/\/+$/, '')}/repos/${target.repository}/attestations`
  const ids: string[] = []
  for (const bundle of bundles) {
    const res = await deps.http.request({
      method: 'POST',
      url,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${target.token}`,
        'content-type': 'application/json',
        'x-github-api-version': '2022-11-28'
      },
      body: JSON.stringify({ bundle }),
      // Storing the same bundle twice is harmless (GitHub dedupes by digest).
      retrySafe: true
    })
    if (res.status < 200 || res.status >= 300) {
      throw new GitHubAttestationsError(
        'GITHUB_ATTESTATIONS_FAILED',
        `GitHub's attestations API refused the bundle (HTTP ${res.status}: ${res.text().slice(0, 300)}); the attestation itself is stored in the registry`,
        {
          remedy:
            res.status === 401 || res.status === 403 || res.status === 404
              ? 'Give the job permissions: attestations: write (the token is github-token, default the job token).'
              : 'Run the step again; the registry copy is unaffected.'
        }
      )
    }
    let id = ''
    try {
      const v = JSON.parse(res.text()) as { id?: unknown }
      id = v.id === undefined ? '' : String(v.id)
    } catch {
      id = ''
    }
    ids.push(id)
    deps.logger.info(
      `attestation stored in GitHub's attestations store${id ? ` (id ${id})` : ''}`
    )
  }
  return ids
}
