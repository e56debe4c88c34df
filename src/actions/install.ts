// GitHub Action "install": a verified cosign release on PATH for later steps
// (the engine: cosign/install-cosign.ts), kept in the runner's tool cache so
// that a runner downloads each version once. @actions/tool-cache is a chunk
// of its own, loaded only by this action.
import * as core from '@actions/core'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fail, readRawInputs } from './common.ts'
import {
  DEFAULT_COSIGN_VERSION,
  DEFAULT_INSTALL_BUDGET_S,
  INSTALL_INPUT_DOCS,
  InputError,
  createRuntime,
  fetchVerifiedCosign,
  findInstalledCosign,
  parseCosignVersion,
  cosignSourceFromInputs,
  writeVerifiedCosign,
  type InstalledCosign
} from './deps.ts'
import { actionsLogger } from './logger.ts'
import { SIGIL_VERSION } from '../version.ts'

const TOOL = 'cosign'

export async function runInstallAction(): Promise<void> {
  const userAgent = `sigil/${SIGIL_VERSION} (github-actions; node ${process.versions.node})`
  try {
    const raw = readRawInputs(Object.keys(INSTALL_INPUT_DOCS))
    const version = parseCosignVersion(
      raw['cosign-release'] || DEFAULT_COSIGN_VERSION
    )
    const budget = Number(raw['retry-budget'] || DEFAULT_INSTALL_BUDGET_S)
    if (!(budget > 0)) {
      throw new InputError(
        'INPUT_RETRY_BUDGET',
        `retry-budget must be a positive number of seconds (got ${JSON.stringify(raw['retry-budget'])})`
      )
    }
    if (!process.env.RUNNER_TOOL_CACHE) {
      throw new InputError(
        'INPUT_TOOL_CACHE',
        'RUNNER_TOOL_CACHE is not set: the install action needs the runner tool cache',
        {
          remedy:
            'Run it on a GitHub Actions runner (they set RUNNER_TOOL_CACHE), or use `sigil install-cosign --install-dir DIR` elsewhere.'
        }
      )
    }
    // Only what is used: the download and extract helpers (and with them
    // @actions/http-client and undici) stay out of the bundle.
    const { find, cacheDir } = await import('@actions/tool-cache')
    // The tool cache names versions without the "v".
    const cacheVersion = version.replace(/^v/, '')
    let installed: InstalledCosign | undefined
    const hit = find(TOOL, cacheVersion, process.arch)
    if (hit) {
      // Still the bytes that were verified when they were cached?
      installed = await findInstalledCosign(
        hit,
        version,
        process.platform,
        process.arch
      )
      if (installed) {
        actionsLogger.info(
          `cosign ${version} found in the tool cache at ${installed.path} (SHA-256 ${installed.sha256}, as verified when cached); nothing downloaded`
        )
      } else {
        actionsLogger.warn(
          `The tool cache entry ${hit} for cosign ${version} does not hold the binary that was verified; downloading it again`
        )
      }
    }
    if (!installed) {
      const runtime = createRuntime({
        userAgent,
        logger: actionsLogger,
        env: process.env,
        retryBudgetMs: budget * 1000
      })
      const staging = await mkdtemp(
        join(process.env.RUNNER_TEMP || tmpdir(), 'sigil-cosign-')
      )
      try {
        const verified = await fetchVerifiedCosign({
          version,
          ...cosignSourceFromInputs(raw, {
            env: process.env,
            logger: actionsLogger,
            userAgent
          }),
          http: runtime.http,
          logger: actionsLogger
        })
        // Staged with its record, then cached as one directory.
        await writeVerifiedCosign(staging, verified, process.platform)
        const dir = await cacheDir(staging, TOOL, cacheVersion, process.arch)
        installed = await findInstalledCosign(
          dir,
          version,
          process.platform,
          process.arch
        )
        if (!installed)
          throw new Error(`the tool cache lost cosign ${version} in ${dir}`)
        installed = { ...installed, cached: false }
      } finally {
        await runtime.http.close()
        await rm(staging, { recursive: true, force: true })
      }
    }
    core.addPath(installed.dir)
    core.setOutput('path', installed.path)
    core.setOutput('version', installed.version)
    core.setOutput('sha256', installed.sha256)
    core.setOutput('cache-hit', String(installed.cached))
    actionsLogger.info(
      `cosign ${installed.version} is on PATH: ${installed.path}`
    )
  } catch (e) {
    fail(e)
  }
}
