// Errors of the policy layer. Problems in the documents are InputErrors
// (INPUT_POLICY_*: exit 2, before any network call); a verdict that denies an
// image is a PolicyDeniedError.
import { AppError, InputError } from '../util/index.ts'

/** One problem found in a policy document, located by field path. */
export interface PolicyIssue {
  level: 'error' | 'warning'
  /** `policies/app.yaml#2 (ClusterImagePolicy "release")` */
  document: string
  /** `spec.authorities[0].keyless.identities[1].subjectRegExp` */
  path: string
  message: string
  fix?: string
}

export function formatIssue(i: PolicyIssue): string {
  return `${i.level}: ${i.document}: ${i.path}: ${i.message}${i.fix ? `\n  fix: ${i.fix}` : ''}`
}

export class PolicyDocumentError extends InputError {
  readonly issues: readonly PolicyIssue[]
  constructor(
    code: string,
    message: string,
    issues: readonly PolicyIssue[] = [],
    options: { cause?: unknown; remedy?: string } = {}
  ) {
    super(code, message, options)
    this.issues = issues
  }
}

/** An image that the policies do not admit. */
export class PolicyDeniedError extends AppError {}
