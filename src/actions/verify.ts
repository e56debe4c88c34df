// GitHub Action "verify": inputs → verifyImages → outputs, job summary, and a
// failed step (so later jobs that `needs:` it do not run) when any image has
// no valid signature for the policy.
import * as core from '@actions/core'
import { fail, prepareActionRun, readRawInputs } from './common.ts'
import {
  ACTION_NAMING,
  VERIFY_INPUTS,
  toVerifyInputs,
  redact,
  toVerifyResultJson,
  verificationFailure,
  verifyImages,
  type VerifyResult
} from './deps.ts'
import { actionsLogger } from './logger.ts'

function writeOutputs(result: VerifyResult): void {
  core.setOutput(
    'verified',
    result.images
      .filter(i => i.verified)
      .map(i => i.digest)
      .join('\n')
  )
  const identities = new Set<string>()
  for (const i of result.images) {
    for (const c of i.candidates)
      if (c.ok && c.identity)
        identities.add(`${c.identity.subject} (${c.identity.issuer})`)
  }
  core.setOutput('identities', [...identities].join('\n'))
  core.setOutput('result', redact(JSON.stringify(toVerifyResultJson(result))))
}

async function writeSummary(result: VerifyResult): Promise<void> {
  const s = core.summary.addHeading(
    `Sigil: verification ${result.ok ? 'passed' : 'FAILED'}`,
    3
  )
  s.addTable([
    [
      { data: 'Image', header: true },
      { data: 'Digest', header: true },
      { data: 'Result', header: true },
      { data: 'Signer', header: true }
    ],
    ...result.images.map(i => {
      const ok = i.candidates.find(c => c.ok)
      return [
        { data: i.input },
        { data: `<code>${i.digest}</code>` },
        {
          data: i.verified
            ? `✅ ${ok?.format ?? ''}`
            : `❌ ${i.error?.code ?? ''}`
        },
        {
          data: ok?.identity
            ? `<code>${ok.identity.subject}</code>`
            : ok
              ? 'key'
              : (i.error?.message ?? '')
        }
      ].map(c => ({ data: redact(c.data) }))
    })
  ])
  await s.write()
}

export async function runVerifyAction(): Promise<void> {
  try {
    const inputs = await toVerifyInputs(
      readRawInputs(VERIFY_INPUTS),
      process.env,
      actionsLogger,
      ACTION_NAMING
    )
    const runtime = prepareActionRun(inputs)
    const trust = await runtime.trust
    const result = await verifyImages(
      {
        ...inputs.options,
        trust,
        imagesInputName: ACTION_NAMING.name('images'),
        nameInput: ACTION_NAMING.name
      },
      {
        logger: actionsLogger,
        registryFor: runtime.registryFor,
        http: runtime.http
      }
    )
    writeOutputs(result)
    try {
      await writeSummary(result)
    } catch (e) {
      core.warning(
        `could not write the job summary: ${e instanceof Error ? e.message : String(e)}`
      )
    }
    const failure = verificationFailure(result)
    if (failure) fail(failure)
  } catch (e) {
    fail(e)
  }
}
