// Prints (or, with --write, updates in README.md) the input/output tables of
// action.yml, verify/action.yml and install/action.yml between the <!-- sign-inputs --> style
// markers. A unit test fails when README.md and the action files disagree.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const cell = s =>
  String(s ?? '')
    .replace(/\s+/g, ' ')
    .replace(/\|/g, '\\|')
    .trim()

export function tables() {
  const out = {}
  for (const [name, file] of [
    ['sign', 'action.yml'],
    ['verify', 'verify/action.yml'],
    ['install', 'install/action.yml']
  ]) {
    const meta = parse(readFileSync(join(root, file), 'utf8'))
    const inputs = Object.entries(meta.inputs ?? {}).map(
      ([k, v]) =>
        `| \`${k}\` | ${v.required ? 'yes' : 'no'} | ${v.default === undefined || v.default === '' ? '' : `\`${cell(v.default)}\``} | ${cell(v.description)} |`
    )
    out[`${name}-inputs`] = [
      '| input | required | default | description |',
      '|---|---|---|---|',
      ...inputs
    ].join('\n')
    const outputs = Object.entries(meta.outputs ?? {}).map(
      ([k, v]) => `| \`${k}\` | ${cell(v.description)} |`
    )
    out[`${name}-outputs`] = [
      '| output | description |',
      '|---|---|',
      ...outputs
    ].join('\n')
  }
  return out
}

export function renderReadme(text) {
  let s = text
  for (const [marker, table] of Object.entries(tables())) {
    const re = new RegExp(`(<!-- ${marker} -->)[\\s\\S]*?(<!-- /${marker} -->)`)
    if (!re.test(s))
      throw new Error(`README.md lacks the <!-- ${marker} --> markers`)
    s = s.replace(re, () => `<!-- ${marker} -->\n${table}\n<!-- /${marker} -->`)
  }
  return s
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(root, 'README.md')
  const next = renderReadme(readFileSync(path, 'utf8'))
  if (process.argv.includes('--write')) writeFileSync(path, next)
  else process.stdout.write(next)
}
