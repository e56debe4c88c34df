// Reads ClusterImagePolicy / TrustRoot documents from files and directories
// (multi-document YAML, JSON), checks each, and collects every issue. The YAML
// parser is loaded here, on demand: this module is only imported when a
// policy is given, so the verify entry point does not load it otherwise.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  checkDocument,
  type ClusterImagePolicy,
  type TrustRootDocument
} from './documents.ts'
import { PolicyDocumentError, formatIssue, type PolicyIssue } from './errors.ts'
import { certificatesOk, publicKeyOk } from './trust-root.ts'

export interface PolicySet {
  policies: ClusterImagePolicy[]
  trustRoots: Map<string, TrustRootDocument>
  /** Every issue, errors and warnings. */
  issues: PolicyIssue[]
  /** The files read, in order. */
  files: string[]
}

const POLICY_FILE = /\.(ya?ml|json)$/i

async function expand(path: string): Promise<string[]> {
  let s
  try {
    s = await stat(path)
  } catch (e) {
    throw new PolicyDocumentError(
      'INPUT_POLICY_UNREADABLE',
      `cannot read the policy ${JSON.stringify(path)}: ${e instanceof Error ? e.message : String(e)}`,
      [],
      {
        cause: e,
        remedy: 'Give a ClusterImagePolicy YAML file or a directory of them.'
      }
    )
  }
  if (!s.isDirectory()) return [path]
  const names = (await readdir(path)).filter(n => POLICY_FILE.test(n)).sort()
  if (names.length === 0) {
    throw new PolicyDocumentError(
      'INPUT_POLICY_UNREADABLE',
      `the policy directory ${JSON.stringify(path)} has no .yaml, .yml or .json file`
    )
  }
  return names.map(n => join(path, n))
}

/** Reads and checks every document; never throws for document problems. */
export async function readPolicies(
  paths: readonly string[]
): Promise<PolicySet> {
  const { parseAllDocuments } = await import('yaml')
  const out: PolicySet = {
    policies: [],
    trustRoots: new Map(),
    issues: [],
    files: []
  }
  const names = new Map<string, string>()
  for (const p of paths) {
    for (const file of await expand(p)) {
      out.files.push(file)
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (e) {
        throw new PolicyDocumentError(
          'INPUT_POLICY_UNREADABLE',
          `cannot read the policy file ${JSON.stringify(file)}: ${e instanceof Error ? e.message : String(e)}`,
          [],
          { cause: e }
        )
      }
      const docs = parseAllDocuments(text, { prettyErrors: true })
      const list = Array.isArray(docs) ? docs : [docs]
      list.forEach((doc, i) => {
        const where = list.length > 1 ? `${file}#${i + 1}` : file
        if (doc.errors.length > 0) {
          for (const e of doc.errors)
            out.issues.push({
              level: 'error',
              document: where,
              path: '',
              message: `not valid YAML: ${e.message.split('\n')[0] ?? ''}`,
              fix: 'fix the YAML syntax at the line given'
            })
          return
        }
        const raw = doc.toJS({ maxAliasCount: 100 }) as unknown
        if (raw === null || raw === undefined) return // an empty document
        const checked = checkDocument(raw, where, {
          publicKeyOk,
          certificatesOk
        })
        out.issues.push(...checked.issues)
        const d = checked.document
        if (!d) return
        const key = `${d.kind}/${d.name}`
        const seen = names.get(key)
        if (seen) {
          out.issues.push({
            level: 'error',
            document: d.document,
            path: 'metadata.name',
            message: `a ${d.kind} named "${d.name}" is already given in ${seen}`,
            fix: 'give each document its own metadata.name (the cluster would keep only one)'
          })
          return
        }
        names.set(key, d.document)
        if (d.kind === 'TrustRoot') out.trustRoots.set(d.name, d)
        else out.policies.push(d)
      })
    }
  }
  // References between documents: a trustRootRef the run was not given.
  for (const p of out.policies) {
    p.authorities.forEach((a, i) => {
      const refs: [string, string | undefined][] = [
        ['keyless.trustRootRef', a.keyless?.trustRootRef],
        ['ctlog.trustRootRef', a.ctlog?.trustRootRef],
        ['rfc3161timestamp.trustRootRef', a.rfc3161timestamp?.trustRootRef]
      ]
      for (const [field, ref] of refs) {
        if (ref && !out.trustRoots.has(ref))
          out.issues.push({
            level: 'warning',
            document: p.document,
            path: `spec.authorities[${i}].${field}`,
            message: `names TrustRoot "${ref}", which is not among the documents given; the authority fails until it is`,
            fix: `pass the TrustRoot "${ref}" document too (in the same file or directory)`
          })
      }
    })
  }
  return out
}

/** Reads the policies for a verify run: any error stops the run. */
export async function loadPolicies(
  paths: readonly string[]
): Promise<PolicySet> {
  const set = await readPolicies(paths)
  const errors = set.issues.filter(i => i.level === 'error')
  if (errors.length > 0) {
    throw new PolicyDocumentError(
      'INPUT_POLICY_INVALID',
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the policy documents (policy-controller's admission webhook would reject them too):\n${errors.map(formatIssue).join('\n')}`,
      set.issues
    )
  }
  if (set.policies.length === 0) {
    throw new PolicyDocumentError(
      'INPUT_POLICY_INVALID',
      `no ClusterImagePolicy in ${set.files.join(', ')}`,
      set.issues,
      { remedy: 'Give at least one kind: ClusterImagePolicy document.' }
    )
  }
  return set
}
