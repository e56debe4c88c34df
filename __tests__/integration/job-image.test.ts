// The GitLab job image's contract (issue 11 item 1): GitLab's Docker executor
// starts the job's shell in the image, so the image must not have an
// ENTRYPOINT that swallows it (`sigil sh -c …` → unknown command "sh"), and
// the templates override any entrypoint with [""]. No container engine can
// run here (no Docker daemon; podman without a base image), so the image's
// command line is checked for real on the host: the Dockerfile's own RUN line
// writes the wrappers (paths moved to a temp dir), and the job's script runs
// through `sh -c` exactly as the runner runs it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { parseAllDocuments } from 'yaml'

const root = join(import.meta.dirname, '../..')
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')

test('the Dockerfile has no ENTRYPOINT; its CMD is a plain command', () => {
  assert.doesNotMatch(dockerfile, /^\s*ENTRYPOINT\b/im)
  assert.match(dockerfile, /^CMD \["sigil", "--help"\]$/m)
  assert.match(dockerfile, /^FROM node:24-/m)
})

test('both templates run the job in the image with entrypoint [""] and the command in script:', () => {
  for (const t of ['sign', 'verify']) {
    const docs = parseAllDocuments(
      readFileSync(join(root, 'templates', `${t}.yml`), 'utf8')
    )
    const jobs = docs[1]!.toJS() as Record<
      string,
      { image: { name: string; entrypoint: string[] }; script: string[] }
    >
    const job = Object.values(jobs)[0]!
    assert.deepEqual(job.image, {
      name: '$[[ inputs.image ]]',
      entrypoint: ['']
    })
    assert.ok(
      job.script.some(l => l.startsWith(`$[[ inputs.command ]] ${t}`)),
      job.script.join('\n')
    )
  }
})

test("the image's wrappers run under `sh -c` as a job script does", async t => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-image-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const bin = join(dir, 'usr/local/bin')
  mkdirSync(bin, { recursive: true })
  // The Dockerfile's RUN that writes the wrappers, with its paths moved.
  const run = /^RUN (printf[\s\S]*?)\n(?!\s)/m.exec(dockerfile)
  assert.ok(run, 'the RUN line writing /usr/local/bin/sigil*')
  const script = run[1]!
    .replace(/\\\n/g, ' ')
    .replaceAll('/usr/local/bin', bin)
    .replaceAll('/opt/sigil', root)
  execFileSync('sh', ['-c', script])
  const node = join(root, 'node_modules/node/bin/node')
  const env = {
    PATH: [bin, dirname(node), '/usr/bin', '/bin'].join(delimiter),
    HOME: dir
  }
  const sh = (
    cmd: string
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise(resolve =>
      execFile(
        'sh',
        ['-c', cmd],
        { env, encoding: 'utf8' },
        (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            stdout,
            stderr
          })
      )
    )
  const version = await sh('sigil version')
  assert.equal(version.code, 0, version.stderr)
  assert.match(version.stdout, /^sigil \d+\.\d+\.\d+/)
  // The template's script line with the default command: sigil-gitlab ran
  // and judged its environment (no id_tokens here: exit 3), no "unknown
  // command".
  const job = await sh('SIGIL_IMAGES=registry.test/app:1 sigil-gitlab sign')
  assert.equal(job.code, 3, job.stdout + job.stderr)
  assert.match(job.stdout + job.stderr, /IDENTITY_TOKEN_UNAVAILABLE/)
  assert.doesNotMatch(job.stdout + job.stderr, /unknown command/)
})
