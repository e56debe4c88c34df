// Service selection from signing_config.v0.2.json (client spec: valid now,
// highest supported API version, newest first, one per operator, selector
// ANY / ALL / EXACT n), explicit URLs overriding it, and the log saying why.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chooseServices } from '../../../src/cosign/services.ts'
import {
  parseSigningConfig,
  selectService,
  selectServices,
  type SigningConfig
} from '../../../src/sigstore/index.ts'
import { MemoryLogger } from '../../../src/util/index.ts'
import { tufVectorsDir } from '../../support/tuf-repo.ts'

const MT = 'application/vnd.dev.sigstore.signingconfig.v0.2+json'
const svc = (url: string, v: number, start: string, extra = {}) => ({
  url,
  majorApiVersion: v,
  validFor: { start },
  operator: 'op-' + url.length,
  ...extra
})

const config = (over: Record<string, unknown> = {}): SigningConfig =>
  parseSigningConfig({
    mediaType: MT,
    caUrls: [svc('https://fulcio.example', 1, '2020-01-01T00:00:00Z')],
    oidcUrls: [svc('https://oauth.example', 1, '2020-01-01T00:00:00Z')],
    rekorTlogUrls: [
      svc('https://rekor-v2.example', 2, '2025-01-01T00:00:00Z'),
      svc('https://rekor.example', 1, '2020-01-01T00:00:00Z')
    ],
    rekorTlogConfig: { selector: 'ANY' },
    tsaUrls: [
      svc('https://tsa.example/api/v1/timestamp', 1, '2020-01-01T00:00:00Z')
    ],
    tsaConfig: { selector: 'ANY' },
    ...over
  })

const NOW = Date.parse('2026-06-01T00:00:00Z')
const needs = { fulcio: true, rekor: true }

test('the signing config chooses Fulcio, the highest Rekor API version listed (v2) and the TSA; the log says why', () => {
  const logger = new MemoryLogger()
  const s = chooseServices({
    explicit: {},
    config: config(),
    configSource: 'TUF https://m',
    needs,
    logger,
    now: NOW
  })
  assert.deepEqual(s, {
    fulcioUrl: 'https://fulcio.example',
    rekorUrl: 'https://rekor-v2.example',
    rekorApiVersion: 2,
    timestampServerUrl: 'https://tsa.example/api/v1/timestamp'
  })
  const text = logger.text()
  assert.match(
    text,
    /Service: Fulcio https:\/\/fulcio.example \(API v1.*signing config \(TUF https:\/\/m\)/
  )
  assert.match(
    text,
    /Service: Rekor https:\/\/rekor-v2.example \(API v2.*selector ANY, the highest API version listed/
  )
  assert.match(text, /Service: TSA https:\/\/tsa.example/)
})

test('legacy signatures alone (they need a SET) take the Rekor v1 log, and say why not v2', () => {
  const logger = new MemoryLogger()
  const s = chooseServices({
    explicit: {},
    config: config(),
    configSource: 'TUF https://m',
    needs: { ...needs, setRequired: true },
    logger,
    now: NOW
  })
  assert.equal(s.rekorUrl, 'https://rekor.example')
  assert.equal(s.rekorApiVersion, 1)
  assert.match(
    logger.text(),
    /Service: Rekor https:\/\/rekor.example .*selector ANY; not https:\/\/rekor-v2.example \(Rekor v2 gives no signed entry timestamp, which format "legacy" needs\)/
  )
})

test('explicit URLs override the signing config one by one', () => {
  const logger = new MemoryLogger()
  const s = chooseServices({
    explicit: {
      rekorUrl: 'https://my-rekor',
      timestampServerUrl: 'https://my-tsa'
    },
    config: config(),
    configSource: 'f.json',
    needs,
    logger,
    now: NOW
  })
  assert.equal(s.fulcioUrl, 'https://fulcio.example')
  assert.equal(s.rekorUrl, 'https://my-rekor')
  assert.equal(s.timestampServerUrl, 'https://my-tsa')
  assert.equal(s.rekorApiVersion, 1, 'an explicit rekor-url is a Rekor v1 log')
  assert.match(logger.text(), /Rekor https:\/\/my-rekor: rekor-url/)
})

test('no signing config: public-good defaults and no TSA', () => {
  const s = chooseServices({
    explicit: {},
    config: undefined,
    configSource: '',
    needs,
    logger: new MemoryLogger(),
    now: NOW
  })
  assert.deepEqual(s, {
    fulcioUrl: 'https://fulcio.sigstore.dev',
    rekorUrl: 'https://rekor.sigstore.dev',
    rekorApiVersion: 1
  })
})

test('only Rekor v2 logs: bundles use it; legacy alone explains and says how to choose; v2 without a TSA is refused', () => {
  const v2only = config({
    rekorTlogUrls: [svc('https://log2025-1.example', 2, '2025-01-01T00:00:00Z')]
  })
  const s = chooseServices({
    explicit: {},
    config: v2only,
    configSource: 'TUF',
    needs,
    logger: new MemoryLogger(),
    now: NOW
  })
  assert.equal(s.rekorUrl, 'https://log2025-1.example')
  assert.equal(s.rekorApiVersion, 2)
  assert.throws(
    () =>
      chooseServices({
        explicit: {},
        config: v2only,
        configSource: 'TUF',
        needs: { ...needs, setRequired: true },
        logger: new MemoryLogger(),
        now: NOW
      }),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'LEGACY_FORMAT_NEEDS_REKOR_V1')
      assert.match(
        e.message,
        /lists only Rekor v2 logs \(https:\/\/log2025-1.example.*signed entry timestamp/
      )
      assert.match(e.remedy ?? '', /"bundle" or "both"/)
      assert.match(e.remedy ?? '', /rekor-url/)
      return true
    }
  )
  assert.throws(
    () =>
      chooseServices({
        explicit: {},
        config: config({
          rekorTlogUrls: v2only.rekorTlogUrls.map(x => ({
            ...x,
            validFor: { start: '2025-01-01T00:00:00Z' }
          })),
          tsaUrls: []
        }),
        configSource: 'TUF',
        needs,
        logger: new MemoryLogger(),
        now: NOW
      }),
    (e: Error & { code?: string; remedy?: string }) => {
      assert.equal(e.code, 'SIGNING_CONFIG_NO_TIMESTAMP')
      assert.match(e.remedy ?? '', /timestamp-server-url/)
      return true
    }
  )
  // an explicit TSA fills the gap
  assert.equal(
    chooseServices({
      explicit: { timestampServerUrl: 'https://my-tsa' },
      config: config({
        rekorTlogUrls: [svc('https://l.example', 2, '2025-01-01T00:00:00Z')],
        tsaUrls: []
      }),
      configSource: 'TUF',
      needs,
      logger: new MemoryLogger(),
      now: NOW
    }).rekorApiVersion,
    2
  )
  // an API version Sigil does not speak at all
  assert.throws(
    () =>
      chooseServices({
        explicit: {},
        config: config({
          rekorTlogUrls: [svc('https://v3.example', 3, '2025-01-01T00:00:00Z')]
        }),
        configSource: 'TUF',
        needs,
        logger: new MemoryLogger(),
        now: NOW
      }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SIGNING_CONFIG_NO_SERVICE')
      assert.match(e.message, /does not sign with: https:\/\/v3.example/)
      return true
    }
  )
  // ...unless no log is wanted
  const none = chooseServices({
    explicit: {},
    config: config({
      rekorTlogUrls: [svc('https://v3.example', 3, '2025-01-01T00:00:00Z')]
    }),
    configSource: 'TUF',
    needs: { fulcio: false, rekor: false },
    logger: new MemoryLogger(),
    now: NOW
  })
  assert.equal(none.timestampServerUrl, 'https://tsa.example/api/v1/timestamp')
})

test('selection: validity window, highest version, newest first, operators, EXACT n', () => {
  const list = config({
    rekorTlogUrls: [
      svc('https://old.example', 1, '2020-01-01T00:00:00Z', { operator: 'a' }),
      svc('https://new.example', 1, '2024-01-01T00:00:00Z', { operator: 'a' }),
      svc('https://other.example', 1, '2023-01-01T00:00:00Z', {
        operator: 'b'
      }),
      svc('https://future.example', 1, '2027-01-01T00:00:00Z', {
        operator: 'c'
      }),
      svc('https://ended.example', 1, '2020-01-01T00:00:00Z', {
        operator: 'd',
        validFor: { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' }
      })
    ]
  }).rekorTlogUrls
  const urls = (xs: { url: string }[]) => xs.map(x => x.url)
  assert.deepEqual(
    urls(
      selectServices(list, { selector: 'ALL', count: 0 }, [1], NOW, 'Rekor')
    ),
    ['https://new.example', 'https://other.example']
  )
  assert.deepEqual(
    urls(
      selectServices(list, { selector: 'ANY', count: 0 }, [1], NOW, 'Rekor')
    ),
    ['https://new.example']
  )
  assert.deepEqual(
    urls(
      selectServices(list, { selector: 'EXACT', count: 2 }, [1], NOW, 'Rekor')
    ),
    ['https://new.example', 'https://other.example']
  )
  assert.throws(
    () =>
      selectServices(list, { selector: 'EXACT', count: 3 }, [1], NOW, 'Rekor'),
    { code: 'SIGNING_CONFIG_INVALID' }
  )
  assert.deepEqual(
    selectServices(list, { selector: 'ANY', count: 0 }, [2], NOW, 'Rekor'),
    []
  )
  assert.equal(
    selectService(config().rekorTlogUrls, [1, 2], NOW)?.url,
    'https://rekor-v2.example'
  )
  // a config asking for two logs is refused rather than half-honoured
  assert.throws(
    () =>
      chooseServices({
        explicit: {},
        config: config({
          rekorTlogUrls: list,
          rekorTlogConfig: { selector: 'ALL' }
        }),
        configSource: 'x',
        needs,
        logger: new MemoryLogger(),
        now: NOW
      }),
    { code: 'SIGNING_CONFIG_UNSUPPORTED' }
  )
})

test('malformed signing configs are refused with a code', () => {
  assert.throws(() => parseSigningConfig({ mediaType: 'x' }), {
    code: 'SIGNING_CONFIG_INVALID'
  })
  assert.throws(
    () =>
      parseSigningConfig({
        mediaType: MT,
        caUrls: [{ url: 'ftp://x', majorApiVersion: 1 }]
      }),
    { code: 'SIGNING_CONFIG_INVALID' }
  )
  assert.throws(
    () =>
      parseSigningConfig({ mediaType: MT, tsaConfig: { selector: 'EXACT' } }),
    { code: 'SIGNING_CONFIG_INVALID' }
  )
})

const vectors = tufVectorsDir()
test(
  'the real public-good signing configs (../shared/vectors/tuf)',
  { skip: vectors ? false : 'no ../shared/vectors/tuf' },
  () => {
    const read = (f: string) =>
      parseSigningConfig(
        JSON.parse(readFileSync(join(vectors!, 'targets', f), 'utf8'))
      )
    assert.ok(existsSync(join(vectors!, 'targets', 'signing_config.v0.2.json')))
    const now = Date.parse('2026-08-25T00:00:00Z')
    const expect = {
      fulcioUrl: 'https://fulcio.sigstore.dev',
      timestampServerUrl: 'https://timestamp.sigstore.dev/api/v1/timestamp'
    }
    const choose = (f: string, setRequired: boolean) =>
      chooseServices({
        explicit: {},
        config: read(f),
        configSource: f,
        needs: { ...needs, setRequired },
        logger: new MemoryLogger(),
        now
      })
    const v1 = {
      ...expect,
      rekorUrl: 'https://rekor.sigstore.dev',
      rekorApiVersion: 1
    }
    assert.deepEqual(choose('signing_config.v0.2.json', false), v1)
    assert.deepEqual(choose('signing_config.v0.2.json', true), v1)
    assert.deepEqual(choose('signing_config_rekor_v2.v0.2.json', true), v1)
    assert.deepEqual(choose('signing_config_rekor_v2.v0.2.json', false), {
      ...expect,
      rekorUrl: 'https://log2025-1.rekor.sigstore.dev',
      rekorApiVersion: 2
    })
    assert.equal(
      selectService(
        read('signing_config_rekor_v2.v0.2.json').rekorTlogUrls,
        [1, 2],
        now
      )?.url,
      'https://log2025-1.rekor.sigstore.dev'
    )
  }
)
