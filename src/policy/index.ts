// Public surface of the policy layer: ClusterImagePolicy documents (read,
// checked as policy-controller's webhook checks them) and verification of
// images against them. Adapters import it on demand (a separate chunk).
export * from './errors.ts'
export * from './documents.ts'
export { compileGlob, globMatches, normalisedName } from './glob.ts'
export { loadPolicies, readPolicies, type PolicySet } from './load.ts'
export * from './predicate-policy.ts'
export * from './evaluate.ts'
export * from './run.ts'
