/**
 * The `--json` output of every command is frozen by shape: each document the tests see is reduced
 * to its key paths and value types (`.plan.stores[].items: number`), and every path must be listed
 * in `test/shapes/<command>.txt`. A renamed or new field fails the run (from the root hook's
 * afterAll) until the snapshot is updated on purpose with `CUSTOS_UPDATE_SHAPES=1 npm test`, which
 * adds what was seen. Scheduled jobs parse this output; a field must not change name by accident.
 *
 * What the check leaves alone, so that it fails on renamed fields and not on chance: value types
 * (a date that is null in one run and a string in another); the elements of an array or map that
 * the snapshot only ever saw empty; the error document, which has one shape for every command
 * (checked against {@link ERROR_PATHS}); and runs with injected faults (the reliability suites do
 * not record). Objects whose keys are data (customer ids, failure codes) are listed as `{*}`.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {ROOT} from './cli.js'

const SHAPES = join(ROOT, 'test', 'shapes')

/** Objects keyed by data rather than by field names. */
const MAP_PATHS = [/\.(customerFacts|failuresByCode|operationsByName|redactions|byType)$/]
const FIELD_NAME = /^[a-z][A-Za-z0-9]*$/

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/** The `path: type` lines of one JSON value. */
function shapeOf(value: unknown, path = '', out = new Set<string>()): Set<string> {
  const type = typeOf(value)
  out.add(`${path || '.'}: ${type}`)
  if (type === 'array') {
    for (const item of value as unknown[]) shapeOf(item, `${path}[]`, out)
  } else if (type === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    const keyedByData = MAP_PATHS.some((p) => p.test(path)) || entries.some(([key]) => !FIELD_NAME.test(key))
    for (const [key, item] of entries) shapeOf(item, keyedByData ? `${path}{*}` : `${path}.${key}`, out)
  }

  return out
}

let manifest: Set<string> | undefined

/** The command id (`customer:erase`) that `args` start with, from the oclif manifest of the build. */
function commandIdOf(args: string[]): string | undefined {
  manifest ??= new Set(
    Object.keys(
      (JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>})
        .commands,
    ),
  )
  for (let n = Math.min(3, args.length); n > 0; n--) {
    const id = args.slice(0, n).join(':')
    if (manifest.has(id)) return id
  }

  return undefined
}

/** The error document of every command (src/base-command.ts). */
const ERROR_PATHS = new Set([
  '.error',
  '.error.code',
  '.error.message',
  '.error.hint',
  '.error.details',
  '.error.details[]',
  '.error.exitCode',
])

const pathOf = (line: string) => line.slice(0, line.lastIndexOf(': '))

const seen = new Map<string, Set<string>>()

/** Records the shape of one `--json` document a command printed. */
export function recordJsonShape(args: string[], stdout: string): void {
  if (!args.includes('--json') || stdout.trim() === '') return
  const id = commandIdOf(args)
  if (!id) return
  let document: unknown
  try {
    document = JSON.parse(stdout)
  } catch {
    return // a test of broken output says so itself
  }

  const lines = seen.get(id) ?? new Set<string>()
  shapeOf(document, '', lines)
  seen.set(id, lines)
}

function snapshotFile(id: string): string {
  return join(SHAPES, `${id.replaceAll(':', '-')}.txt`)
}

function readSnapshot(id: string): Set<string> {
  const file = snapshotFile(id)
  if (!existsSync(file)) return new Set()
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#')),
  )
}

/**
 * Compares what the run saw with the snapshots: the lines no snapshot lists, per command. With
 * CUSTOS_UPDATE_SHAPES=1 it adds them to the snapshots instead and returns nothing.
 */
export function checkJsonShapes(): string[] {
  const problems: string[] = []
  for (const [id, lines] of seen) {
    const known = readSnapshot(id)
    const knownPaths = new Set([...known].map(pathOf))
    // An array or map whose elements the snapshot never saw: its element shape is not frozen.
    const unseenElements = (path: string) =>
      [...path.matchAll(/\[\]|\{\*\}/g)].some((m) => !knownPaths.has(path.slice(0, m.index + m[0].length)))
    const added = [...lines].filter((line) => {
      const path = pathOf(line)
      if (path === '.error' || path.startsWith('.error.')) return !ERROR_PATHS.has(path)
      if (process.env.CUSTOS_UPDATE_SHAPES === '1') return !known.has(line)
      return !knownPaths.has(path) && !unseenElements(path)
    })
    if (added.length === 0) continue
    if (process.env.CUSTOS_UPDATE_SHAPES === '1') {
      mkdirSync(SHAPES, {recursive: true})
      const all = [...new Set([...known, ...added])].sort()
      writeFileSync(
        snapshotFile(id),
        `# custos ${id.replaceAll(':', ' ')} --json: key paths and value types (test/support/json-shape.ts)\n${all.join('\n')}\n`,
      )
    } else {
      problems.push(`custos ${id.replaceAll(':', ' ')} --json printed ${added.join('; ')}`)
    }
  }

  return problems
}
