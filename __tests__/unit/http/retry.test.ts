import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  backoffDelay,
  isRetryableStatus,
  isTransientError,
  parseRetryAfter
} from '../../../src/http/retry.ts'

test('retryable statuses: 408, 429 and 5xx except 501/505', () => {
  for (const s of [408, 429, 500, 502, 503, 504, 599])
    assert.equal(isRetryableStatus(s), true, String(s))
  for (const s of [200, 201, 301, 400, 401, 403, 404, 409, 412, 501, 505])
    assert.equal(isRetryableStatus(s), false, String(s))
})

test('Retry-After: seconds and HTTP-date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  assert.equal(parseRetryAfter('3', now), 3000)
  assert.equal(parseRetryAfter(' 0 ', now), 0)
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000)
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0)
  assert.equal(parseRetryAfter('soon', now), undefined)
  assert.equal(parseRetryAfter('-1', now), undefined)
  assert.equal(parseRetryAfter(undefined, now), undefined)
})

test('full-jitter backoff stays under the exponential cap', () => {
  assert.equal(
    backoffDelay(1, 100, 1000, () => 0.999),
    99
  )
  assert.equal(
    backoffDelay(3, 100, 1000, () => 0.5),
    200
  )
  assert.equal(
    backoffDelay(10, 100, 1000, () => 0.999),
    999
  )
  assert.equal(
    backoffDelay(2, 100, 1000, () => 0),
    0
  )
})

test('transient network errors, found along the cause chain', () => {
  assert.equal(
    isTransientError(Object.assign(new Error('x'), { code: 'ECONNRESET' })),
    true
  )
  assert.equal(
    isTransientError(
      new Error('wrapped', {
        cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' })
      })
    ),
    true
  )
  assert.equal(
    isTransientError(
      Object.assign(new Error('tls'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
    ),
    false
  )
  assert.equal(
    isTransientError(Object.assign(new Error('dns'), { code: 'ENOTFOUND' })),
    false
  )
  assert.equal(isTransientError(new Error('plain')), false)
})
