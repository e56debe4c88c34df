// scripts/apt-get-wait.sh (used by install-system-deps.sh, hence by
// `npm test` and `npm run demo`): while another process holds the apt/dpkg
// lock it says so and waits, bounded; other apt failures pass through.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  execFile,
  spawn,
  spawnSync,
  type ChildProcess
} from 'node:child_process'
import { once } from 'node:events'
import {
  chmodSync,
  readFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '../../..')
const script = join(root, 'scripts/apt-get-wait.sh')

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

function run(
  args: string[],
  env: Record<string, string>
): Promise<{ code: number; stderr: string; ms: number }> {
  const started = Date.now()
  return new Promise(resolve =>
    execFile(
      'bash',
      [script, ...args],
      { encoding: 'utf8', env: { ...process.env, ...env } },
      (err, _stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stderr,
          ms: Date.now() - started
        })
    )
  )
}

/** Starts `cmd`, resolves once it printed `held` (it then holds a lock). */
async function holdLock(cmd: string, args: string[]): Promise<ChildProcess> {
  // Its own process group, so that release() ends the lock's children too.
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true
  })
  let out = ''
  child.stdout.setEncoding('utf8')
  while (!out.includes('held')) {
    const [chunk] = (await once(child.stdout, 'data')) as [string]
    out += chunk
  }
  return child
}

function release(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGTERM')
  } catch {
    // already gone
  }
}

/** A stand-in apt-get that fails the way apt does while $LOCK is flock'ed. */
function fakeAptGet(dir: string, lock: string): string {
  const path = join(dir, 'apt-get')
  writeFileSync(
    path,
    `#!/bin/sh
if [ "$1" = missing ]; then echo "E: Unable to locate package missing" >&2; exit 100; fi
exec 9>>"${lock}"
if ! flock -n 9; then
  echo "E: Could not get lock ${lock}. It is held by process 4242 (apt-get)" >&2
  echo "E: Unable to acquire the dpkg frontend lock (${lock}), is another process using it?" >&2
  exit 100
fi
echo "W: a harmless warning" >&2
`
  )
  chmodSync(path, 0o755)
  return path
}

const noFlock = has('flock') ? false : 'flock (util-linux) is not installed'

test(
  'waits while the lock is held, says so once, then runs',
  { skip: noFlock },
  async t => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-apt-'))
    const lock = join(dir, 'lock-frontend')
    const holder = await holdLock('flock', [
      lock,
      'sh',
      '-c',
      'echo held; sleep 2'
    ])
    t.after(() => {
      release(holder)
      rmSync(dir, { recursive: true, force: true })
    })
    const r = await run(['install', '-y', 'x'], {
      SIGIL_APT_GET: fakeAptGet(dir, lock),
      SIGIL_APT_LOCK_INTERVAL: '0.2',
      SIGIL_APT_LOCK_TIMEOUT: '60'
    })
    assert.equal(r.code, 0, r.stderr)
    assert.ok(
      r.ms >= 1000,
      `returned after ${r.ms} ms, before the lock was released`
    )
    const waiting = r.stderr.match(/waiting for the apt\/dpkg lock/g) ?? []
    assert.equal(waiting.length, 1, r.stderr)
    assert.match(
      r.stderr,
      new RegExp(
        `apt-get install: waiting for the apt/dpkg lock \\(${lock}\\) held by process 4242 \\(apt-get\\) \\(up to 60s\\)`
      )
    )
    // apt's own lock errors are not shown once it succeeded; its warnings are.
    assert.doesNotMatch(r.stderr, /Could not get lock/)
    assert.match(r.stderr, /W: a harmless warning/)
  }
)

test(
  'gives up after the bound with the holder and a remedy',
  { skip: noFlock },
  async t => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-apt-'))
    const lock = join(dir, 'lock-frontend')
    const holder = await holdLock('flock', [
      lock,
      'sh',
      '-c',
      'echo held; sleep 60'
    ])
    t.after(() => {
      release(holder)
      rmSync(dir, { recursive: true, force: true })
    })
    const r = await run(['update'], {
      SIGIL_APT_GET: fakeAptGet(dir, lock),
      SIGIL_APT_LOCK_INTERVAL: '0.2',
      SIGIL_APT_LOCK_TIMEOUT: '1'
    })
    assert.equal(r.code, 100)
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`)
    assert.match(r.stderr, /E: Could not get lock/)
    assert.match(
      r.stderr,
      /apt-get update: the apt\/dpkg lock \(.*lock-frontend\) was still held by process 4242 \(apt-get\) after \d+s\. Wait for that process \(e\.g\. unattended-upgrades\) to finish, then run this again\./
    )
  }
)

test('other apt failures are not waited on', { skip: noFlock }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-apt-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const r = await run(['missing'], {
    SIGIL_APT_GET: fakeAptGet(dir, join(dir, 'lock')),
    SIGIL_APT_LOCK_TIMEOUT: '60'
  })
  assert.equal(r.code, 100)
  assert.match(r.stderr, /E: Unable to locate package missing/)
  assert.doesNotMatch(r.stderr, /waiting/)
})

// The real apt-get, on its own lists lock moved to a temp directory (no
// sources, so nothing is downloaded), held with fcntl as apt itself holds it.
const noRealApt = !has('apt-get')
  ? 'apt-get is not installed'
  : !has('python3')
    ? 'python3 (to hold an fcntl lock) is not installed'
    : false

test(
  'real apt-get update waits for a held lists lock',
  { skip: noRealApt },
  async t => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-apt-'))
    for (const d of ['lists/partial', 'parts', 'cache']) {
      mkdirSync(join(dir, d), { recursive: true })
    }
    writeFileSync(join(dir, 'sources.list'), '')
    const lock = join(dir, 'lists/lock')
    const holder = await holdLock('python3', [
      '-c',
      `import fcntl, time\nf = open(${JSON.stringify(lock)}, 'w')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(2)`
    ])
    t.after(() => {
      release(holder)
      rmSync(dir, { recursive: true, force: true })
    })
    const r = await run(['update', '-qq'], {
      SIGIL_APT_GET: [
        'apt-get',
        `-o Dir::State::Lists=${dir}/lists`,
        `-o Dir::Etc::SourceList=${dir}/sources.list`,
        `-o Dir::Etc::SourceParts=${dir}/parts`,
        `-o Dir::Cache=${dir}/cache`
      ].join(' '),
      SIGIL_APT_LOCK_INTERVAL: '0.2',
      SIGIL_APT_LOCK_TIMEOUT: '60'
    })
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.ms >= 1000, `returned after ${r.ms} ms`)
    assert.match(
      r.stderr,
      new RegExp(
        `waiting for the apt/dpkg lock \\(${lock}\\) held by process ${holder.pid} \\(python3\\)`
      )
    )
  }
)

test('install-system-deps.sh installs through apt-get-wait.sh', () => {
  const s = readFileSync(join(root, 'scripts/install-system-deps.sh'), 'utf8')
  const aptLines = s
    .split('\n')
    .filter(l => /apt-get (update|install)/.test(l) && !/^\s*(#|echo)/.test(l))
  assert.deepEqual(
    aptLines,
    [],
    'apt-get called directly, without waiting for the lock'
  )
  assert.match(s, /bash "\$wait_apt" update/)
  assert.match(s, /bash "\$wait_apt" install/)
})
