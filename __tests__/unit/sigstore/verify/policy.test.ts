import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InputError } from '../../../../src/util/index.ts'
import { parsePemBlocks } from '../../../../src/util/index.ts'
import {
  fulcioExtensions,
  parseCertificate
} from '../../../../src/sigstore/x509/index.ts'
import {
  PolicyError,
  compilePolicy,
  primarySAN,
  verifyPolicy,
  type VerificationPolicy
} from '../../../../src/sigstore/verify/index.ts'
import { FULCIO_LEAF_PEM } from '../x509/fulcio-leaf.ts'

const cert = parseCertificate(parsePemBlocks(FULCIO_LEAF_PEM)[0]!.der)
const extensions = fulcioExtensions(cert)
const signer = {
  subjectAlternativeName: 'mitr@redhat.com',
  issuer: extensions.issuer,
  extensions
}

function check(
  policy: VerificationPolicy,
  sanMatch: 'first' | 'any' = 'first'
): string | undefined {
  try {
    verifyPolicy(
      compilePolicy(policy),
      cert,
      signer,
      sanMatch,
      ' (log index 7)'
    )
    return undefined
  } catch (e) {
    assert.ok(e instanceof PolicyError)
    return e.code
  }
}

test('regular expressions are anchored', () => {
  const m = compilePolicy({
    identity: { regexp: 'https://github\\.com/org/.*' }
  }).identity!
  assert.equal(
    m.test(
      'https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main'
    ),
    true
  )
  assert.equal(m.test('https://evil.example/?https://github.com/org/x'), false)
  const alt = compilePolicy({ identity: { regexp: 'a|b' } }).identity!
  assert.equal(alt.test('a'), true)
  assert.equal(alt.test('ab'), false)
  assert.equal(alt.test('xb'), false)
  assert.equal(
    check({ identity: { regexp: 'mitr@' } }),
    'POLICY_IDENTITY_MISMATCH'
  )
  assert.equal(check({ identity: { regexp: 'mitr@redhat\\.com' } }), undefined)
  assert.equal(
    check({ issuer: { regexp: 'https://github\\.com/login' } }),
    'POLICY_ISSUER_MISMATCH'
  )
})

test('exact matching, issuer and extensions', () => {
  assert.equal(
    check({
      identity: { exact: 'mitr@redhat.com' },
      issuer: { exact: 'https://github.com/login/oauth' }
    }),
    undefined
  )
  assert.equal(
    check({ identity: { exact: 'MITR@redhat.com' } }),
    'POLICY_IDENTITY_MISMATCH'
  )
  assert.equal(
    check({ issuer: { exact: 'https://accounts.google.com' } }),
    'POLICY_ISSUER_MISMATCH'
  )
  assert.equal(
    check({ githubWorkflow: { repository: 'org/repo' } }),
    'POLICY_EXTENSION_MISMATCH'
  )
  assert.equal(
    check({
      extensions: { sourceRepositoryURI: 'https://github.com/org/repo' }
    }),
    'POLICY_EXTENSION_MISMATCH'
  )
  assert.equal(
    check({ identity: { exact: 'mitr@redhat.com' } }, 'any'),
    undefined
  )
})

test('messages show expected vs actual and the log index', () => {
  try {
    verifyPolicy(
      compilePolicy({ issuer: { exact: 'https://accounts.google.com' } }),
      cert,
      signer,
      'first',
      ' (log index 7)'
    )
    assert.fail('should throw')
  } catch (e) {
    assert.match(
      (e as Error).message,
      /expected "https:\/\/accounts\.google\.com", got "https:\/\/github\.com\/login\/oauth"/
    )
    assert.match((e as Error).message, /log index 7/)
  }
})

test('invalid policies are InputErrors; compiled once per object', () => {
  const invalid = (e: unknown): boolean =>
    e instanceof InputError && e.code === 'INPUT_INVALID_POLICY'
  assert.throws(() => compilePolicy({ identity: { regexp: '(' } }), invalid)
  assert.throws(
    () => compilePolicy({ identity: { exact: 'a', regexp: 'a' } }),
    invalid
  )
  assert.throws(
    () => compilePolicy({ extensions: { nope: 'x' } as never }),
    invalid
  )
  const p: VerificationPolicy = { identity: { exact: 'x' } }
  assert.equal(compilePolicy(p), compilePolicy(p))
  assert.equal(compilePolicy({}).constrainsSigner, false)
})

test('primarySAN prefers URI, then email, then otherName', () => {
  assert.equal(
    primarySAN([
      { type: 'otherName', value: 'o' },
      { type: 'email', value: 'e' },
      { type: 'uri', value: 'u' }
    ])?.value,
    'u'
  )
  assert.equal(
    primarySAN([
      { type: 'otherName', value: 'o' },
      { type: 'email', value: 'e' }
    ])?.value,
    'e'
  )
  assert.equal(primarySAN([{ type: 'dns', value: 'd' }]), undefined)
})

function policyMessage(policy: VerificationPolicy): string {
  try {
    verifyPolicy(compilePolicy(policy), cert, signer, 'first', '')
  } catch (e) {
    assert.ok(e instanceof PolicyError)
    return e.message
  }
  return assert.fail('should throw')
}

test('a regexp that only an unanchored search matches: the message says so and shows a whole-value pattern', () => {
  const m = policyMessage({ identity: { regexp: 'mitr@' } })
  assert.match(m, /only an unanchored search \(cosign's\) would match/)
  assert.ok(m.includes('use ".*mitr@.*"'), m)
  // The suggestion really accepts the identity, anchored.
  assert.equal(
    check({ identity: { regexp: '.*mitr@.*' } }),
    undefined,
    'the suggested pattern matches'
  )
  assert.ok(
    policyMessage({ identity: { regexp: '^mitr@' } }).includes('use "^mitr@.*"')
  )
  assert.ok(
    policyMessage({ issuer: { regexp: 'github\\.com' } }).includes(
      'use ".*github\\\\.com.*"'
    )
  )
  // No hint when even a search would not match.
  assert.doesNotMatch(
    policyMessage({ identity: { regexp: 'someone@else' } }),
    /unanchored/
  )
})

test('GitHub workflow claims are named as such: "workflow repository … expected … got"', () => {
  const m = policyMessage({ githubWorkflow: { repository: 'evil/app' } })
  assert.match(
    m,
    /^certificate workflow repository mismatch: expected "evil\/app", got (none|".*") \(githubWorkflowRepository, 1\.3\.6\.1\.4\.1\.57264\.1\.5\)$/
  )
})
