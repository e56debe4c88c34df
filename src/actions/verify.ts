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
  attestationFailure,
  attestationLines,
  toAttestationResultJson,
  toVerifyAttestationType,
  toPredicatePolicy,
  verifyAttestations,
  type VerifyAttestationsResult,
  type VerifyResult
} from './deps.ts'
import { actionsLogger } from './logger.ts'
import type { PolicyVerifyResult } from '../policy/index.ts'

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

/** verify with predicate-type: one row per image, its verified attestations
 * (format, predicate type, signer) or why none passed. */
async function writeAttestationSummary(
  result: VerifyAttestationsResult,
  predicateType: string,
  policyPath: string | undefined
): Promise<void> {
  const s = core.summary.addHeading(
    `Sigil: attestation verification ${result.ok ? 'passed' : 'FAILED'}`,
    3
  )
  s.addRaw(
    `<p>Predicate type <code>${predicateType}</code>${policyPath ? `, predicate policy <code>${policyPath}</code>` : ''}</p>`,
    true
  )
  s.addTable([
    [
      { data: 'Image', header: true },
      { data: 'Digest', header: true },
      { data: 'Result', header: true },
      { data: 'Attestations', header: true }
    ],
    ...result.images.map(i =>
      [
        { data: i.input },
        { data: `<code>${i.digest}</code>` },
        {
          data: i.verified
            ? `✅ ${i.attestations.length} verified`
            : `❌ ${i.error?.code ?? ''}`
        },
        {
          data: i.verified
            ? i.attestations
                .map(
                  a =>
                    `${a.format}: ${a.identity ? `<code>${a.identity.subject}</code>` : 'key'}`
                )
                .join('<br>')
            : (i.error?.message ?? '')
        }
      ].map(c => ({ data: redact(c.data) }))
    )
  ])
  await s.write()
}

const ICON = { passed: '✅', failed: '❌', warned: '⚠️' } as const

/** One row per image, policy and authority: what passed, failed or warned, and why. */
async function writePolicySummary(result: PolicyVerifyResult): Promise<void> {
  const s = core.summary.addHeading(
    `Sigil: policy verification ${result.ok ? (result.images.some(i => i.status === 'warned') ? 'passed with warnings' : 'passed') : 'FAILED'}`,
    3
  )
  const rows: { data: string }[][] = []
  for (const i of result.images) {
    if (i.policies.length === 0)
      rows.push([
        { data: `<code>${i.reference}</code>` },
        { data: '—' },
        { data: '—' },
        {
          data: `${ICON[i.status]} no policy matches (no-match: ${i.noMatch ?? 'deny'})`
        }
      ])
    for (const p of i.policies) {
      rows.push([
        { data: `<code>${i.reference}</code>` },
        {
          data: `${ICON[p.status]} ${p.policy}${p.mode === 'warn' ? ' (warn)' : ''}`
        },
        { data: '' },
        { data: p.reason ?? p.notes.join('; ') }
      ])
      for (const a of p.authorities)
        rows.push([
          { data: '' },
          { data: '' },
          {
            data: `${a.status === 'passed' ? '✅' : '❌'} ${a.name} (${a.type})`
          },
          {
            data:
              a.status === 'passed'
                ? (a.signatures
                    ?.map(x =>
                      x.identity ? `<code>${x.identity.subject}</code>` : 'key'
                    )
                    .filter((v, n, all) => all.indexOf(v) === n)
                    .join(', ') ??
                  a.reason ??
                  '')
                : `${a.code ?? ''} ${a.reason ?? ''}`
          }
        ])
    }
  }
  s.addTable([
    [
      { data: 'Image', header: true },
      { data: 'Policy', header: true },
      { data: 'Authority', header: true },
      { data: 'Why', header: true }
    ],
    ...rows.map(r => r.map(c => ({ data: redact(c.data) })))
  ])
  await s.write()
}

export async function runVerifyAction(): Promise<void> {
  try {
    const raw = readRawInputs(VERIFY_INPUTS)
    const predicateType = toVerifyAttestationType(raw, ACTION_NAMING)
    const inputs = await toVerifyInputs(
      raw,
      process.env,
      actionsLogger,
      ACTION_NAMING
    )
    // Compiled before anything is fetched: a broken policy stops the run here.
    const predicatePolicy = await toPredicatePolicy(raw, ACTION_NAMING)
    const runtime = prepareActionRun(inputs)
    const trust = await runtime.trust
    if (inputs.policy) {
      // ClusterImagePolicy documents: loaded only when given (own chunk, with yaml).
      const policy = await import('../policy/index.ts')
      const verdict = await policy.verifyWithPolicies(
        { ...inputs, policy: inputs.policy },
        trust,
        {
          logger: actionsLogger,
          registryFor: runtime.registryFor,
          http: runtime.http,
          env: process.env
        },
        ACTION_NAMING
      )
      core.setOutput(
        'verified',
        verdict.images
          .filter(i => i.status !== 'failed')
          .map(i => i.digest)
          .join('\n')
      )
      const identities = new Set<string>()
      for (const i of verdict.images)
        for (const p of i.policies)
          for (const a of p.authorities)
            for (const x of a.signatures ?? [])
              if (x.identity)
                identities.add(`${x.identity.subject} (${x.identity.issuer})`)
      core.setOutput('identities', [...identities].join('\n'))
      core.setOutput(
        'result',
        redact(JSON.stringify(policy.toPolicyResultJson(verdict)))
      )
      try {
        await writePolicySummary(verdict)
      } catch (e) {
        core.warning(
          `could not write the job summary: ${e instanceof Error ? e.message : String(e)}`
        )
      }
      const denied = policy.policyFailure(verdict)
      if (denied) fail(denied)
      return
    }
    if (predicateType !== undefined) {
      const { annotations: _none, ...options } = inputs.options
      const result = await verifyAttestations(
        {
          ...options,
          predicateType,
          ...(predicatePolicy ? { checkPredicate: predicatePolicy.check } : {}),
          trust,
          imagesInputName: ACTION_NAMING.name('images'),
          nameInput: ACTION_NAMING.name
        },
        { logger: actionsLogger, registryFor: runtime.registryFor }
      )
      core.setOutput(
        'verified',
        result.images
          .filter(i => i.verified)
          .map(i => i.digest)
          .join('\n')
      )
      core.setOutput(
        'identities',
        [
          ...new Set(
            result.images.flatMap(i =>
              i.attestations
                .filter(a => a.identity)
                .map(a => `${a.identity?.subject} (${a.identity?.issuer})`)
            )
          )
        ].join('\n')
      )
      core.setOutput('attestations', attestationLines(result).trimEnd())
      core.setOutput(
        'result',
        redact(JSON.stringify(toAttestationResultJson(result)))
      )
      try {
        await writeAttestationSummary(
          result,
          predicateType,
          predicatePolicy?.path
        )
      } catch (e) {
        core.warning(
          `could not write the job summary: ${e instanceof Error ? e.message : String(e)}`
        )
      }
      const failure = attestationFailure(result)
      if (failure) fail(failure)
      return
    }
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
