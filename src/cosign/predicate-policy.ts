// Predicate policies of `verify-attestation --policy FILE` (and of
// verify-blob-attestation, the verify action's `predicate-policy`): rules in
// CEL, the Common Expression Language of Kubernetes ValidatingAdmissionPolicy
// and Kyverno, over each verified in-toto statement. cosign takes CUE or
// Rego here; neither has a maintained JavaScript evaluator (see
// src/policy/predicate-policy.ts), CEL has one (@marcbachmann/cel-js, no
// dependencies), loaded only when a policy is given.
//
// A policy file is either
//   - `*.cel`: one CEL expression (comments with //), the rule named by the file;
//   - `*.yaml` / `*.yml` / `*.json`: `validations:`, a list of
//     `{ expression, message?, name? }` as in a ValidatingAdmissionPolicy.
// Every expression sees `predicate`, `predicateType`, `subject` (the list of
// {name, digest}) and `statement` (the whole statement). A statement passes
// when every rule returns true. Fail closed: a rule that returns false or
// anything but a boolean, or that errors (a missing field: use has()),
// rejects the attestation; a file that does not parse or type-check stops
// the run before anything is fetched.
import { readFile } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { InputError } from '../util/index.ts'
import { AttestationError } from './errors.ts'
import type { InTotoStatement } from './payload.ts'

export interface PredicateRule {
  /** How the rule is named in errors: its name, or `validations[i]`, or the file. */
  name: string
  expression: string
  message?: string
}

/** A compiled policy: throws an AttestationError naming the failing rule. */
export interface CompiledPredicatePolicy {
  path: string
  rules: readonly PredicateRule[]
  check: (statement: InTotoStatement) => void
}

const VARIABLES = ['predicate', 'predicateType', 'subject', 'statement']

function fileError(
  inputName: string,
  path: string,
  what: string,
  cause?: unknown
): InputError {
  return new InputError(
    'INPUT_PREDICATE_POLICY_INVALID',
    `${inputName} ${JSON.stringify(path)}: ${what}`,
    {
      ...(cause !== undefined ? { cause } : {}),
      remedy:
        'A predicate policy is CEL: a .cel file holding one expression, or a .yaml/.json file with validations: [{expression, message}]; expressions see predicate, predicateType, subject and statement, and must return true.'
    }
  )
}

function parseRules(
  path: string,
  inputName: string,
  doc: unknown
): PredicateRule[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw fileError(inputName, path, 'expected a mapping with validations:')
  const unknown = Object.keys(doc).filter(k => k !== 'validations')
  if (unknown.length > 0)
    throw fileError(
      inputName,
      path,
      `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} (only validations: is read)`
    )
  const list = (doc as { validations?: unknown }).validations
  if (!Array.isArray(list) || list.length === 0)
    throw fileError(inputName, path, 'validations: must be a non-empty list')
  return list.map((v: unknown, i): PredicateRule => {
    const where = `validations[${i}]`
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw fileError(inputName, path, `${where} must be a mapping`)
    const r = v as Record<string, unknown>
    const extra = Object.keys(r).filter(
      k => k !== 'expression' && k !== 'message' && k !== 'name'
    )
    if (extra.length > 0)
      throw fileError(
        inputName,
        path,
        `${where}: unknown field${extra.length === 1 ? '' : 's'} ${extra.join(', ')} (expression, message and name are read)`
      )
    if (typeof r.expression !== 'string' || r.expression.trim() === '')
      throw fileError(inputName, path, `${where}.expression must be a string`)
    for (const k of ['message', 'name'] as const)
      if (r[k] !== undefined && typeof r[k] !== 'string')
        throw fileError(inputName, path, `${where}.${k} must be a string`)
    return {
      name: typeof r.name === 'string' && r.name ? r.name : where,
      expression: r.expression,
      ...(typeof r.message === 'string' ? { message: r.message } : {})
    }
  })
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v} (int)`
  if (typeof v === 'string') return `${JSON.stringify(v)} (string)`
  if (v === null) return 'null'
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'a map'
  return `${String(v)} (${typeof v})`
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim()

/**
 * Reads and compiles the predicate policy at `path`. Throws an InputError
 * (exit 2) for a file that cannot be read, is CUE or Rego, or does not
 * compile; the compiled check throws AttestationError
 * PREDICATE_POLICY_FAILED / PREDICATE_POLICY_ERROR naming the rule.
 */
export async function loadPredicatePolicy(
  path: string,
  inputName = '--policy'
): Promise<CompiledPredicatePolicy> {
  const ext = extname(path).toLowerCase()
  if (ext === '.cue' || ext === '.rego') {
    throw new InputError(
      'INPUT_PREDICATE_POLICY_UNSUPPORTED',
      `${inputName} ${JSON.stringify(path)} is a ${ext === '.cue' ? 'CUE' : 'Rego'} policy; sigil does not evaluate CUE or Rego (no maintained JavaScript engine exists). Predicate policies are written in CEL.`,
      {
        remedy:
          'Rewrite the checks as CEL: a .cel file with one expression such as predicate.buildDefinition.buildType == "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1", or a .yaml file with validations: [{expression, message}] (see the README, "Predicate policies").'
      }
    )
  }
  if (!['.cel', '.yaml', '.yml', '.json'].includes(ext))
    throw fileError(
      inputName,
      path,
      `unknown policy file type ${JSON.stringify(ext || '(none)')}: use .cel, .yaml, .yml or .json`
    )
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw fileError(
      inputName,
      path,
      `cannot read it: ${e instanceof Error ? e.message : String(e)}`,
      e
    )
  }
  let rules: PredicateRule[]
  if (ext === '.cel') {
    if (text.trim() === '')
      throw fileError(inputName, path, 'the file is empty')
    rules = [{ name: basename(path), expression: text }]
  } else {
    let doc: unknown
    try {
      doc =
        ext === '.json'
          ? (JSON.parse(text) as unknown)
          : (await import('yaml')).parse(text)
    } catch (e) {
      throw fileError(
        inputName,
        path,
        `not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${e instanceof Error ? oneLine(e.message) : String(e)}`,
        e
      )
    }
    rules = parseRules(path, inputName, doc)
  }

  const { Environment } = await import('@marcbachmann/cel-js')
  const env = new Environment({ unlistedVariablesAreDyn: false })
  for (const v of VARIABLES)
    env.registerVariable(v, v === 'predicateType' ? 'string' : 'dyn')
  const compiled = rules.map(rule => {
    let run: (ctx: Record<string, unknown>) => unknown
    try {
      const parsed = env.parse(rule.expression)
      const typed = parsed.check()
      if (!typed.valid) throw typed.error ?? new Error('does not type-check')
      if (typed.type !== 'bool' && typed.type !== 'dyn')
        throw new Error(`it returns ${typed.type}, not bool`)
      run = ctx => parsed(ctx)
    } catch (e) {
      throw fileError(
        inputName,
        path,
        `rule ${rule.name} does not compile: ${e instanceof Error ? oneLine(e.message.split('\n')[0] ?? '') : String(e)}`,
        e
      )
    }
    return { rule, run }
  })

  const check = (statement: InTotoStatement): void => {
    const ctx = {
      predicate: statement.predicate ?? null,
      predicateType: statement.predicateType,
      subject: statement.subject,
      statement
    }
    for (const { rule, run } of compiled) {
      const what = `predicate policy ${basename(path)}, rule ${rule.name} (${oneLine(rule.expression)})`
      let out: unknown
      try {
        out = run(ctx)
      } catch (e) {
        throw new AttestationError(
          'PREDICATE_POLICY_ERROR',
          `${what} failed to evaluate: ${e instanceof Error ? oneLine(e.message.split('\n')[0] ?? '') : String(e)}`,
          {
            cause: e,
            remedy:
              'A rule that errors rejects the attestation: guard optional fields with has(), e.g. has(predicate.x) && predicate.x == "y".'
          }
        )
      }
      if (out !== true)
        throw new AttestationError(
          'PREDICATE_POLICY_FAILED',
          `${what} returned ${describe(out)}${rule.message ? `: ${rule.message}` : ''}`
        )
    }
  }
  return { path, rules, check }
}
