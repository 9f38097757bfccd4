/**
 * deploy/ (the recipe for scheduled jobs) stays true: its files exist, every `custos <topic> <cmd>
 * --flag` in them names a real command and real flags of this build (oclif.manifest.json), the
 * Dockerfile keeps its promises (multi-stage, production dependencies only, not root), and the image
 * is built when a container builder is on the machine. No network unless a builder is there.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {delimiter, join} from 'node:path'

import {parse} from 'yaml'

import {ensureBuilt, ROOT} from './support/cli.js'

const DEPLOY = join(ROOT, 'deploy')
const FILES = [
  'Dockerfile',
  'README.md',
  'containerapps-job.yaml',
  'systemd/custos-export.service',
  'systemd/custos-export.timer',
  'systemd/custos-backups-verify.service',
  'systemd/custos-backups-verify.timer',
]

interface Manifest {
  commands: Record<string, {flags: Record<string, {char?: string; name: string}>}>
}

function manifest(): Manifest {
  ensureBuilt()
  return JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest
}

/** Every `custos …` command line in `text` as its words: `/usr/local/bin/custos backups verify --json` too. */
function commandLines(text: string): string[][] {
  const found: string[][] = []
  for (const line of text.split('\n'))
    for (const m of line.matchAll(/(?:^|[\s"'`(/[])custos[ \t]+(.*)$/g)) {
      const words: string[] = []
      for (const raw of m[1].split(/\s+/)) {
        if (['|', ';', '&&', '#', '\\', ''].includes(raw)) break
        // the end of inline code or of a parenthesis ends the command line after this word
        const [word, rest] = raw.split(/[`)]/, 2)
        if (word) words.push(word.replaceAll(/^["']|["',\]]$/g, ''))
        if (rest !== undefined) break
      }

      found.push(words)
    }

  return found
}

/** The problems of one command line against the manifest; nothing for prose ("custos on the VM is …"). */
function problems(words: string[], m: Manifest): string[] {
  const topics = new Set(Object.keys(m.commands).map((id) => id.split(':')[0]))
  const positional = words.filter((w) => !w.startsWith('-'))
  const hasFlags = words.some((w) => w.startsWith('-'))
  if (!hasFlags && !topics.has(positional[0])) return []
  let id: string | undefined
  for (let n = positional.length; n > 0 && !id; n--) {
    const candidate = positional.slice(0, n).join(':')
    if (m.commands[candidate]) id = candidate
  }

  if (!id) return [`custos ${words.join(' ')}: no such command`]
  const {flags} = m.commands[id]
  const chars = new Set(Object.values(flags).map((f) => f.char))
  return words
    .filter((w) => w.startsWith('-'))
    .filter((w) => (w.startsWith('--') ? !flags[w.slice(2).split('=')[0]] : !chars.has(w.slice(1))))
    .map((w) => `custos ${words.join(' ')}: ${id.replaceAll(':', ' ')} has no flag ${w}`)
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)))
}

describe('deploy/: the recipe for scheduled jobs', () => {
  it('has the image, the Container Apps job, the systemd units and their README', () => {
    for (const file of FILES) assert.ok(existsSync(join(DEPLOY, file)), `deploy/${file}`)
    for (const timer of readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.timer')))
      assert.ok(existsSync(join(DEPLOY, 'systemd', timer.replace(/\.timer$/, '.service'))), `${timer} has its service`)
  })

  it('names only real commands and real flags', () => {
    const m = manifest()
    const lines: string[][] = []
    for (const file of FILES) lines.push(...commandLines(readFileSync(join(DEPLOY, file), 'utf8')))
    const job = parse(readFileSync(join(DEPLOY, 'containerapps-job.yaml'), 'utf8'))
    for (const container of job.properties.template.containers) {
      assert.deepEqual(container.command, ['custos'])
      lines.push(container.args.map(String))
    }

    const checked = lines.filter((words) => problems(words, m).length === 0 && words.length > 0)
    assert.ok(checked.length >= 6, `${checked.length} command lines checked`)
    assert.deepEqual(
      lines.flatMap((words) => problems(words, m)),
      [],
    )
    // the checker itself refuses what is not there
    assert.deepEqual(problems(['backups', 'verify', '--jsn'], m), [
      'custos backups verify --jsn: backups verify has no flag --jsn',
    ])
    assert.equal(problems(['custmer', 'export', 'acme', '--json'], m).length, 1)
  })

  it('the Dockerfile is multi-stage on Node 20, installs production dependencies only and runs custos as a user that is not root', () => {
    const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8')
    const instructions = text.split('\n').filter((l) => /^[A-Z]+\s/.test(l))
    const froms = instructions.filter((l) => l.startsWith('FROM '))
    assert.ok(froms.length >= 2, 'multi-stage')
    for (const from of froms) assert.match(from, /^FROM node:20[\w.-]*/)
    const final = text.slice(text.lastIndexOf('\nFROM '))
    assert.match(final, /npm ci --omit=dev/)
    assert.doesNotMatch(final, /npm run build|npm ci --no-audit --no-fund --ignore-scripts\n/)
    const user = [...final.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1]
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`)
    assert.match(final, /^ENTRYPOINT \["custos"\]$/m)
    // everything it copies from the build context exists
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const source of m[1].split(/\s+/)) assert.ok(existsSync(join(ROOT, source)), `COPY ${source}`)
  })

  it('builds the image when docker, podman or buildah is on PATH', function () {
    const builder = ['docker', 'podman', 'buildah'].find((name) => onPath(name))
    // a docker client without a daemon (this machine) cannot build either
    const usable =
      builder && spawnSync(builder, builder === 'buildah' ? ['version'] : ['info'], {stdio: 'ignore'}).status === 0
    if (!usable) {
      console.log(
        `      (skipped: ${builder ? `${builder} is on PATH but cannot build (no daemon)` : 'no docker, podman or buildah on PATH'}; the Dockerfile was checked above)`,
      )
      this.skip()
    }

    this.timeout(1_800_000)
    const args = builder === 'buildah' ? ['bud'] : ['build']
    const run = spawnSync(builder!, [...args, '-f', join(DEPLOY, 'Dockerfile'), '-t', 'custos:test', ROOT], {
      encoding: 'utf8',
    })
    assert.equal(run.status, 0, run.stderr)
  })
})
