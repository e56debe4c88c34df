import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  parseAnnotations,
  parseBoolean,
  toSignInputs,
  toVerifyInputs
} from '../../../src/cosign/inputs.ts'
import { parseList } from '../../../src/cosign/targets.ts'
import { exitCodeFor } from '../../../src/cosign/exit-codes.ts'
import { MemoryLogger } from '../../../src/util/index.ts'

test('lists accept newlines and commas, skip blanks and comments', () => {
  assert.deepEqual(parseList('a\n b ,c\n\n# x\n'), ['a', 'b', 'c'])
})

test('booleans follow the YAML 1.2 core schema, like core.getBooleanInput', () => {
  assert.equal(parseBoolean({ x: 'True' }, 'x', false), true)
  assert.equal(parseBoolean({ x: '' }, 'x', true), true)
  assert.throws(() => parseBoolean({ x: 'yes' }, 'x', false), {
    code: 'INPUT_INVALID_BOOLEAN'
  })
})

test('annotations are key=value', () => {
  assert.deepEqual(parseAnnotations({ annotations: 'env=prod\nteam = a=b' }), {
    env: 'prod',
    team: 'a=b'
  })
  assert.throws(() => parseAnnotations({ annotations: 'novalue' }), {
    code: 'INPUT_INVALID_ANNOTATION'
  })
})

test('sign inputs: defaults, validation before any network call', async () => {
  const s = await toSignInputs(
    { images: 'r.io/a@sha256:' + 'a'.repeat(64) },
    {}
  )
  assert.equal(s.options.format, 'legacy')
  assert.equal(s.options.tlogUpload, true)
  assert.equal(s.options.fulcioUrl, 'https://fulcio.sigstore.dev')
  await assert.rejects(toSignInputs({ format: 'x' }, {}), {
    code: 'INPUT_INVALID_FORMAT'
  })
  await assert.rejects(
    toSignInputs({ 'rekor-url': 'http://rekor.example' }, {}),
    { code: 'INPUT_INVALID_URL' }
  )
  await assert.rejects(toSignInputs({ concurrency: '0' }, {}), {
    code: 'INPUT_INVALID_NUMBER'
  })
  await assert.rejects(
    toSignInputs({ 'signature-repository': 'UPPER/x' }, {}),
    { code: 'INPUT_INVALID_REPOSITORY' }
  )
  await assert.rejects(toSignInputs({ key: 'env://NOPE' }, {}), {
    code: 'INPUT_KEY_UNAVAILABLE'
  })
  // KMS URIs are parsed before any network call (cosign's grammar).
  await assert.rejects(toSignInputs({ key: 'awskms://x' }, {}), {
    code: 'INPUT_INVALID_KEY'
  })
  await assert.rejects(toSignInputs({ key: 'hashivault://a/b' }, {}), {
    code: 'INPUT_INVALID_KEY'
  })
  await assert.rejects(toSignInputs({ key: 'foo://bar' }, {}), {
    code: 'INPUT_KEY_UNSUPPORTED'
  })
  const vault = await toSignInputs({ key: 'hashivault://release' }, {})
  assert.deepEqual(vault.options.key, { kms: 'hashivault://release' })
  const aws = await toSignInputs({ key: 'awskms:///alias/release' }, {})
  assert.deepEqual(aws.options.key, { kms: 'awskms:///alias/release' })
  await assert.rejects(
    toSignInputs(
      { key: 'hashivault://release', 'identity-token': 'x.y.z' },
      {}
    ),
    { code: 'INPUT_CONFLICT' }
  )
  const repo = await toSignInputs({}, { COSIGN_REPOSITORY: 'reg.io/sigs' })
  assert.equal(repo.options.signatureRepository, 'reg.io/sigs')
})

test('COSIGN_DOCKER_MEDIA_TYPES is read as cosign reads it (Go ParseBool)', async () => {
  const docker = async (v: string | undefined): Promise<boolean> =>
    (
      await toSignInputs(
        {},
        v === undefined ? {} : { COSIGN_DOCKER_MEDIA_TYPES: v }
      )
    ).options.dockerMediaTypes === true
  for (const v of ['1', 't', 'T', 'true', 'TRUE', 'True'])
    assert.equal(await docker(v), true, v)
  for (const v of [undefined, '', '0', 'false', 'yes', 'on', ' 1'])
    assert.equal(await docker(v), false, String(v))
})

test('verify inputs require an identity and an issuer, or a key', async () => {
  const log = new MemoryLogger()
  await assert.rejects(
    toVerifyInputs({}, {}, log),
    (e: { code: string; remedy: string }) => {
      assert.equal(e.code, 'INPUT_POLICY_REQUIRED')
      assert.match(e.remedy, /certificate-oidc-issuer/)
      return true
    }
  )
  await assert.rejects(
    toVerifyInputs({ 'certificate-identity': 'a' }, {}, log),
    { code: 'INPUT_POLICY_REQUIRED' }
  )
  await assert.rejects(
    toVerifyInputs(
      {
        'certificate-identity': 'a',
        'certificate-identity-regexp': 'b',
        'certificate-oidc-issuer': 'i'
      },
      {},
      log
    ),
    { code: 'INPUT_CONFLICT' }
  )
  await assert.rejects(
    toVerifyInputs(
      { key: '-----BEGIN PUBLIC KEY-----', 'certificate-identity': 'a' },
      {},
      log
    ),
    { code: 'INPUT_CONFLICT' }
  )
  await assert.rejects(
    toVerifyInputs(
      {
        'certificate-identity-regexp': '(a)\\1',
        'certificate-oidc-issuer': 'i'
      },
      {},
      log
    ),
    { code: 'INPUT_INVALID_REGEXP' }
  )
  await assert.rejects(
    toVerifyInputs(
      {
        'certificate-identity': 'a',
        'certificate-oidc-issuer': 'i',
        'insecure-ignore-tlog': 'true'
      },
      {},
      log
    ),
    { code: 'INPUT_CONFLICT' }
  )
  const v = await toVerifyInputs(
    {
      'certificate-identity-regexp': '.*',
      'certificate-oidc-issuer': 'i',
      'certificate-github-workflow-ref': 'refs/heads/main'
    },
    {},
    log
  )
  assert.deepEqual(v.options.policy, {
    identity: { regexp: '.*' },
    issuer: { exact: 'i' },
    githubWorkflow: { ref: 'refs/heads/main' }
  })
  assert.match(log.text(), /over-broad/)
})

test('error codes map to cosign-like exit codes', () => {
  assert.equal(exitCodeFor('NO_SIGNATURES_FOUND'), 10)
  assert.equal(exitCodeFor('NO_MATCHING_SIGNATURES'), 12)
  assert.equal(exitCodeFor('INPUT_INVALID_URL'), 2)
  assert.equal(exitCodeFor('REGISTRY_DENIED'), 4)
  assert.equal(exitCodeFor('REKOR_UNREACHABLE'), 5)
  assert.equal(exitCodeFor('SOMETHING'), 1)
})

test('explicit registry credentials are bound to one host', async () => {
  const creds = { 'registry-username': 'u', 'registry-password': 'p4ssw0rd-x' }
  const key = { 'certificate-identity': 'x', 'certificate-oidc-issuer': 'y' }
  const one = await toVerifyInputs(
    {
      ...creds,
      ...key,
      images: 'ghcr.io/a/b:v1\nghcr.io/c/d:v2'
    },
    {},
    new MemoryLogger()
  )
  assert.equal(one.registryHost, 'ghcr.io')
  const hub = await toVerifyInputs(
    { ...creds, ...key, images: 'alpine' },
    {},
    new MemoryLogger()
  )
  assert.equal(hub.registryHost, 'index.docker.io')
  await assert.rejects(
    toVerifyInputs(
      {
        ...creds,
        ...key,
        images: 'ghcr.io/a/b:v1',
        'signature-repository': 'quay.io/org/sigs'
      },
      {},
      new MemoryLogger()
    ),
    { name: 'InputError', code: 'INPUT_REGISTRY_AMBIGUOUS' }
  )
  const named = await toVerifyInputs(
    {
      ...creds,
      ...key,
      images: 'ghcr.io/a/b:v1\nquay.io/c/d:v2',
      registry: 'quay.io'
    },
    {},
    new MemoryLogger()
  )
  assert.equal(named.registryHost, 'quay.io')
  await assert.rejects(
    toVerifyInputs(
      { ...key, images: 'ghcr.io/a/b', registry: 'ghcr.io' },
      {},
      new MemoryLogger()
    ),
    { name: 'InputError', code: 'INPUT_CONFLICT' }
  )
  await assert.rejects(
    toVerifyInputs(
      { ...creds, ...key, images: 'ghcr.io/a/b', registry: 'ghcr.io/x' },
      {},
      new MemoryLogger()
    ),
    { name: 'InputError', code: 'INPUT_INVALID_REGISTRY' }
  )
  const none = await toVerifyInputs(
    { ...key, images: 'ghcr.io/a/b' },
    {},
    new MemoryLogger()
  )
  assert.equal(none.registryHost, undefined)
})

test('predicate-policy: only with predicate-type, never with policy; undefined when unset', async () => {
  const { toPredicatePolicy } = await import('../../../src/cosign/inputs.ts')
  assert.equal(
    await toPredicatePolicy({ 'predicate-type': 'custom' }),
    undefined
  )
  await assert.rejects(toPredicatePolicy({ 'predicate-policy': 'p.cel' }), {
    code: 'INPUT_CONFLICT',
    message:
      /input "predicate-policy" checks the predicates of attestations: set input "predicate-type" too/
  })
  await assert.rejects(
    toPredicatePolicy({
      'predicate-type': 'custom',
      'predicate-policy': 'p.cel',
      policy: 'cip.yaml'
    }),
    {
      code: 'INPUT_CONFLICT',
      message: /cannot be combined with input "policy"/
    }
  )
  await assert.rejects(
    toPredicatePolicy({
      'predicate-type': 'custom',
      'predicate-policy': 'p.rego'
    }),
    { code: 'INPUT_PREDICATE_POLICY_UNSUPPORTED' }
  )
})
