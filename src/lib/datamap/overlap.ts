/**
 * Overlapping scopes: the data-map check that no customer id can reach another customer's data or
 * one of custos's fixed containers.
 *
 * Every entry that holds data is a {@link ScopeTemplate}: an account, a container and a prefix, where
 * `{customer}` stands for a customer id (stores, backup sets and, later, databases), or no
 * placeholder at all (the audit container, the exports container, the log archive containers). Two
 * templates overlap when, in the same account, they can expand to the same or nested scopes for two
 * different ids, for the same id in two different entries, or for any id and a fixed entry.
 *
 * How it is decided — by reasoning over the templates, not by trying sample ids:
 *
 * 1. A scope is written as one string, `container/prefix` (the container lower-cased: Azure
 *    container names are lower-case). A prefix is empty or ends with `/`, and neither an id nor a
 *    container name can hold `/`, so two scopes are the same or nested exactly when one string is a
 *    prefix of the other: `tenant-shared/` holds `tenant-shared/acme/`, `attachments/acme/` does not
 *    hold `attachments/acme-corp/`.
 * 2. For each pair of id lengths (1–63 characters, the fixed rules' limit) each position of both
 *    expanded strings is either a literal character or "character k of the id". Laying the shorter
 *    string over the start of the longer gives one equation per position; a union-find merges the
 *    positions that must be equal. A class that meets two different literals, or a literal an id may
 *    not hold there (`/` anywhere, an upper-case letter in a container), is a contradiction. This
 *    settles the structure exactly: `tenant-{customer}` against the literal `tenant-shared` fixes the
 *    id to `shared`; `a{customer}` against `ab{customer}` makes the first id `b` + the second;
 *    `{customer}/` against `data/{customer}/` in one container fixes the first id to `data` and leaves
 *    the second free; `attachments` + `{customer}/` against `tenant-{customer}` has no solution at
 *    all (the container lengths match only for a 4-character id, and `a` is not `t`). Two shortcuts
 *    keep it to a few dozen length pairs: each `/` must meet a `/`, so the segments between them have
 *    equal lengths, which mostly fixes one id's length from the other's; and one template with two
 *    ids of the same length can only be nested by being equal, which needs equal ids.
 * 3. The characters left free are chosen by a depth-first search over the id language
 *    (`customers.idPattern` as an automaton plus the fixed rules, see id-language.ts). Before a
 *    character is kept, each id is run through the automaton with the characters not chosen yet
 *    standing for any character they may be; a branch no id of the language can follow is dropped
 *    at once. So an id pattern whose character set lacks `-` rules out `{customer}-old/`-style
 *    collisions, and `^c[0-9]{6}$` rules out the id `data`.
 * 4. Every pair found is checked once more on the real names — `assertCustomerId`, Azure's
 *    container-name rule, and the expanded scopes themselves — so a reported overlap is always a
 *    concrete pair of ids that passes the rules and produces nested scopes. No such pair: no overlap.
 *
 * Why `{customer}` in a prefix must be followed directly by `/` (load.ts refuses it otherwise): then
 * a template never nests with itself for two ids — the `/` after the shorter id would have to meet a
 * character of the longer one — so `acme/` and `acme-corp/` stay apart; with `{customer}-old/`, the
 * folder of customer acme (`acme-old/`) is what `{customer}/` gives customer acme-old.
 *
 * Limits, on the safe side: an id pattern outside the subset id-language.ts analyses (look-arounds,
 * back-references) is treated as "any id the fixed rules allow"; an overlap found that way is still
 * reported, with a note that the ids were checked against the fixed rules only. The search is bounded
 * ({@link SEARCH_BUDGET} steps per pair of templates; real data maps need a few hundred). Two fixed
 * entries are not compared (neither belongs to a customer).
 */
import {defaultLockContainer} from './defaults.js'
import {accountNameFromEndpoint, accountKey, parseAccount} from '../azure/account.js'
import {isValidContainerName} from '../scope.js'
import {compileIdLanguage, ID_CHARACTERS, isAcceptableId, MAX_ID_LENGTH, type IdLanguage} from './id-language.js'
import {expandCustomer} from './placeholders.js'
import {parseDottedName} from '../stores/postgres/types.js'
import type {DataMap} from './types.js'

/** One place a data-map entry keeps data, as a template over the customer id. */
export interface ScopeTemplate {
  /** the entry's field path: `stores[1]`, `backups[0]`, `audit`, `logs.archive.containers[2]` */
  path: string
  /** the entry's name, where it has one (stores, backup sets, databases) */
  name?: string
  /** the account, as {@link accountKey} gives it: two templates can only overlap in the same account */
  account: string
  /** the container (or table, schema …) name; `{customer}` stands for the id */
  container: string
  /**
   * the part inside the container, '' for all of it; otherwise ending with `/`, and `{customer}`
   * followed directly by `/`. A unit addressed by an exact key (a table's partition key) is written
   * `<key>/`, so that keys compare like folders.
   */
  prefix: string
  /** the naming rule an expanded container must pass to exist at all (default: Azure blob containers) */
  isValidContainer?: (name: string) => boolean
}

/** One side of an overlap: the entry, the id it was expanded with (none for a fixed entry), the scope. */
export interface OverlapSide {
  template: ScopeTemplate
  id?: string
  /** `container/prefix` */
  scope: string
}

export interface ScopeOverlap {
  /** the entry listed first in the template list, and the other (the same one when it overlaps itself) */
  first: ScopeTemplate
  second: ScopeTemplate
  /** the side whose scope holds the other's */
  outer: OverlapSide
  inner: OverlapSide
  /** true when both scopes are the same */
  same: boolean
  /** true when the ids were checked against the fixed rules only (idPattern not analysed) */
  assumed: boolean
}

/**
 * The data map's scope templates, fixed entries first (so an overlap names the customer entry
 * first): `audit` (with its default), `exports`, `logs.archive.containers[]`, `stores[]`, `backups[]`,
 * `databases[]` (see {@link databaseTemplates}).
 */
export function scopeTemplatesOf(map: DataMap): ScopeTemplate[] {
  const audit = map.audit as DataMap['audit'] | undefined
  const auditAccount = accountKey(audit?.account ?? map.stores[0].account)
  const auditContainer = audit?.container ?? 'custos-audit'
  const templates: ScopeTemplate[] = [
    {path: 'audit', account: auditAccount, container: auditContainer, prefix: ''},
    {
      path: 'audit.lockContainer',
      account: auditAccount,
      container: audit?.lockContainer ?? defaultLockContainer(auditContainer),
      prefix: '',
    },
  ]
  if (map.exports)
    templates.push({
      path: 'exports',
      account: accountKey(map.exports.account),
      container: map.exports.container,
      prefix: '',
    })
  const archive = map.logs?.archive
  if (archive) {
    archive.containers.forEach((container, i) =>
      templates.push({
        path: `logs.archive.containers[${i}]`,
        account: accountKey(archive.account),
        container,
        prefix: '',
      }),
    )
  }

  for (const [list, entries] of [
    ['stores', map.stores],
    ['backups', map.backups],
  ] as const) {
    entries.forEach((entry, i) =>
      templates.push({
        path: `${list}[${i}]`,
        name: entry.name,
        account: accountKey(entry.account),
        container: entry.container,
        prefix: entry.prefix ?? '',
      }),
    )
  }

  map.databases?.forEach((entry, i) =>
    templates.push(
      ...(entry.engine === 'table'
        ? tableTemplates(entry, `databases[${i}]`)
        : databaseTemplates(entry, `databases[${i}]`)),
    ),
  )
  return templates
}

/**
 * A database entry's scopes. The account is the server (`postgresql://host:port/`, so a database
 * never meets a blob container), the container a fixed word, and the whole path sits in the prefix,
 * one segment per level: `<database>/<schema>/<table>/{customer}/` for each table of isolation
 * shared (the customer's rows in that table), `<database>/<schema>/` for isolation schema (all of
 * the customer's schema) and `<database>/` for isolation database. The path is in the prefix, not in
 * the container, because PostgreSQL names are case-sensitive and may hold `_` and `.`, which the
 * container rules (lower-cased, `[a-z0-9-]`) would fold or exclude and so miss overlaps. Names are
 * percent-encoded so that a `/` inside a quoted name cannot fake a level.
 *
 * So: the same table of the same database in two shared entries is the same scope (rows inventoried
 * and erased twice); different tables stay apart; a schema template `{customer}` meets a shared
 * entry's `public` tables for the customer "public"; a database template `{customer}` meets a shared
 * entry's database `app` for the customer "app".
 */
function databaseTemplates(
  entry: {
    name: string
    host: string
    port?: number
    database: string
    isolation: 'shared' | 'schema' | 'database'
    schema?: string
    tables?: Array<string | {table: string}>
  },
  path: string,
): ScopeTemplate[] {
  const account = `postgresql://${entry.host.toLowerCase()}:${entry.port ?? 5432}/`
  const segment = (name: string) => `${encodeName(name)}/`
  const base = {path, name: entry.name, account, container: 'databases'}
  switch (entry.isolation) {
    // without {customer} the entry is refused by load.ts already; comparing it would add only noise
    case 'database': {
      return entry.database.includes('{customer}') ? [{...base, prefix: segment(entry.database)}] : []
    }

    case 'schema': {
      return entry.schema?.includes('{customer}')
        ? [{...base, prefix: segment(entry.database) + segment(entry.schema)}]
        : []
    }

    case 'shared': {
      return (entry.tables ?? []).map((t, j) => {
        const [schema, table] = splitTable(typeof t === 'string' ? t : t.table)
        return {
          ...base,
          path: `${path}.tables[${j}]`,
          prefix: `${segment(entry.database)}${segment(schema)}${segment(table)}{customer}/`,
        }
      })
    }
  }
}

/**
 * A Table storage entry's scope. The account is the table endpoint (`table://…/`, so a table never
 * meets a blob container or a PostgreSQL server); the prefix is the table's name, lower-cased
 * (Azure compares table names without case), then the way the customer's entities are chosen:
 * `<table>/` for a table per customer (all of it), `<table>/pk/<partitionKey>/` and
 * `<table>/rk/<rowKeyPrefix>/` — the prefix's closing `|` read as the level's end, which is what
 * makes `acme|` and `acme-corp|` two scopes. So two entries on the same table and key are the same
 * scope, a table template `t{customer}` meets a shared table `tacme` for the customer "acme", and
 * a partition-key entry never nests in a row-key one (load.ts refuses mixing them on one table).
 */
function tableTemplates(
  entry: {name: string; account: string; table: string; partitionKey?: string; rowKeyPrefix?: string},
  path: string,
): ScopeTemplate[] {
  let endpoint: string
  try {
    endpoint = parseAccount(entry.account, 'table').endpoint.toLowerCase()
  } catch {
    return [] // load.ts names the account
  }

  const base = {path, name: entry.name, account: `table://${endpoint}/`, container: 'tables'}
  const table = `${encodeName(entry.table.toLowerCase())}/`
  if (entry.partitionKey !== undefined) return [{...base, prefix: `${table}pk/${encodeName(entry.partitionKey)}/`}]
  if (entry.rowKeyPrefix !== undefined) {
    const open = entry.rowKeyPrefix.endsWith('|') ? entry.rowKeyPrefix.slice(0, -1) : entry.rowKeyPrefix
    return [{...base, prefix: `${table}rk/${encodeName(open)}/`}]
  }

  return [{...base, prefix: table}]
}

/** `{customer}` stays as it is; everything else that could read as a level or a placeholder is encoded. */
function encodeName(name: string): string {
  return name
    .split('{customer}')
    .map((part) => part.replaceAll('%', '%25').replaceAll('/', '%2F').replaceAll('{', '%7B').replaceAll('}', '%7D'))
    .join('{customer}')
}

/** `schema.table` as the data map writes it; a name load.ts refuses anyway stays whole. */
function splitTable(text: string): [string, string] {
  try {
    const [schema, table] = parseDottedName(text, 2, 'tables')
    return [schema, table]
  } catch {
    return ['', text]
  }
}

/**
 * Every pair of templates (and every template with itself, for two different ids) that can expand to
 * the same or nested scopes; see the module comment for how it is decided.
 */
export function findScopeOverlaps(templates: readonly ScopeTemplate[], idPattern: string): ScopeOverlap[] {
  const language = compileIdLanguage(idPattern)
  const shapes = templates.map(shapeOf)
  const overlaps: ScopeOverlap[] = []
  for (let i = 0; i < shapes.length; i++) {
    for (let j = i; j < shapes.length; j++) {
      const [a, b] = [shapes[i], shapes[j]]
      if (a.template.account !== b.template.account) continue
      if (a.occurrences === 0 && b.occurrences === 0) continue
      const self = i === j
      const found =
        findNesting(a, b, self, language, idPattern) ??
        (self ? undefined : findNesting(b, a, false, language, idPattern))
      if (found) overlaps.push({first: a.template, second: b.template, ...found})
    }
  }

  return overlaps
}

/** One problem line, in the form of the loader's other semantic checks (`<path>: …`). */
export function describeScopeOverlap(overlap: ScopeOverlap): string {
  const {first, second, outer, inner} = overlap
  const other = first.name === undefined ? first.path : `${first.path} (${first.name})`
  const head = first === second ? `${second.path}: overlaps itself` : `${second.path}: overlaps ${other}`
  const side = (s: OverlapSide) =>
    s.id === undefined
      ? `${label(s.template)} (${s.scope})`
      : `${label(s.template)} for customer "${s.id}" (${s.scope})`
  const fixed = outer.id === undefined ? outer : inner.id === undefined ? inner : undefined
  const why = fixed
    ? `no customer id may reach ${label(fixed.template)}`
    : outer.id === inner.id
      ? "that customer's data would be inventoried, exported and erased twice"
      : "one customer's erase would delete the other's data"
  const assumed = overlap.assumed
    ? ' (customers.idPattern uses syntax this check does not analyse, so the ids satisfy the fixed id rules only)'
    : ''
  return `${head}: ${side(outer)} ${overlap.same ? 'is the same scope as' : 'contains'} ${side(inner)} in account ${accountName(first.account)}; ${why}${assumed}`
}

function label(t: ScopeTemplate): string {
  return t.name === undefined ? t.path : `${t.path} "${t.name}"`
}

function accountName(key: string): string {
  try {
    return accountNameFromEndpoint(key)
  } catch {
    return key
  }
}

/** A template as literal runs and id occurrences (`null`) of `container/prefix`. */
interface Shape {
  template: ScopeTemplate
  /** `container/prefix` for an id of the given length: literal characters and id positions (0…length-1) */
  expanded(length: number): ReadonlyArray<string | number>
  /** occurrences of the id in the container, and in all */
  containerOccurrences: number
  occurrences: number
  /** each `/`-terminated segment: its literal characters and id occurrences */
  segments: Array<{literals: number; occurrences: number}>
  /** id lengths to consider: none for a fixed entry */
  lengths: number[]
  /** characters the id may hold here: a container name holds only [a-z0-9-] */
  characters: string
  isValidContainer: (name: string) => boolean
}

const ALPHANUMERIC = /^[A-Za-z0-9]$/
const CONTAINER_CHARACTERS = [...ID_CHARACTERS].filter((c) => /[a-z0-9-]/.test(c)).join('')

function shapeOf(template: ScopeTemplate): Shape {
  const container = template.container.split('{customer}').map((p) => p.toLowerCase())
  const prefix = template.prefix.split('{customer}')
  const interleave = (runs: string[]) => runs.flatMap((run, i) => (i === 0 ? [run] : [null, run]))
  const parts = [...interleave(container), '/', ...interleave(prefix)]
  const occurrences = container.length - 1 + prefix.length - 1
  const segments = `${template.container}/${template.prefix}`
    .split('/')
    .slice(0, -1)
    .map((segment) => {
      const runs = segment.split('{customer}')
      return {literals: runs.join('').length, occurrences: runs.length - 1}
    })
  const cache = new Map<number, Array<string | number>>()
  const expanded = (n: number) => {
    let items = cache.get(n)
    if (!items) {
      items = parts.flatMap((part): Array<string | number> =>
        part === null ? Array.from({length: n}, (_, k) => k) : [...part],
      )
      cache.set(n, items)
    }

    return items
  }

  return {
    template,
    expanded,
    containerOccurrences: container.length - 1,
    occurrences,
    segments,
    lengths: occurrences === 0 ? [0] : Array.from({length: MAX_ID_LENGTH}, (_, k) => k + 1),
    characters: container.length > 1 ? CONTAINER_CHARACTERS : ID_CHARACTERS,
    isValidContainer: template.isValidContainer ?? isValidContainerName,
  }
}

/** The scope string of `template` for `id` (see the module comment, step 1). */
function scopeText(template: ScopeTemplate, id: string | undefined): string {
  const expand = (text: string) => (id === undefined ? text : expandCustomer(text, id))
  return `${expand(template.container).toLowerCase()}/${expand(template.prefix)}`
}

/** How many search steps one ordered pair of templates may take (a real data map needs a few hundred). */
const SEARCH_BUDGET = 20_000
/**
 * How many complete pairs of ids one alignment, and one ordered pair of templates, may try. With an
 * analysed pattern every pair tried is in the language, so only the container-name rule and "two
 * different ids" reject one; the limits matter for a pattern that was not analysed.
 */
const CANDIDATES_PER_ALIGNMENT = 32
const CANDIDATES_PER_PAIR = 256

type Nesting = Pick<ScopeOverlap, 'outer' | 'inner' | 'same' | 'assumed'>

/**
 * A pair of ids for which `outer`'s scope holds (or equals) `inner`'s, or undefined. With `self`,
 * both are the same template and the ids must differ.
 */
function findNesting(
  outer: Shape,
  inner: Shape,
  self: boolean,
  language: IdLanguage,
  idPattern: string,
): Nesting | undefined {
  const budget = {steps: SEARCH_BUDGET}
  let assumed: Nesting | undefined
  let tried = 0
  for (const n of outer.lengths) {
    for (const m of innerLengths(outer, n, inner)) {
      // One template, ids of one length: the id sits at the same places in both, so nesting (here:
      // equality) needs equal ids.
      if (self && n === m) continue
      const alignment = align(outer, n, inner, m)
      if (!alignment) continue
      let candidates = 0
      const found = fill(alignment, outer, n, inner, m, language, budget, (x, y) => {
        const verdict = verify(outer, x, inner, y, self, idPattern)
        if (verdict.kind === 'pattern' && alignment.free > 0) assumed ??= {...verdict.nesting, assumed: true}
        if (verdict.kind === 'ok') return verdict.nesting
        candidates++
        tried++
        return candidates >= CANDIDATES_PER_ALIGNMENT || tried >= CANDIDATES_PER_PAIR ? 'next' : undefined
      })
      if (found) return found
      if (budget.steps <= 0 || tried >= CANDIDATES_PER_PAIR) return language.analysed ? undefined : assumed
    }
  }

  // With an unanalysed pattern, an overlap between ids the fixed rules allow is reported as such.
  return language.analysed ? undefined : assumed
}

/**
 * The id lengths of `inner` worth aligning with `outer`'s id of length n. Neither an id nor a
 * container holds `/`, so each `/` of the outer scope meets a `/` of the inner one: their segments
 * have equal lengths, which usually fixes m (or rules n out) without looking at a character.
 */
function innerLengths(outer: Shape, n: number, inner: Shape): number[] {
  if (outer.segments.length > inner.segments.length) return []
  let m: number | undefined
  for (const [k, o] of outer.segments.entries()) {
    const i = inner.segments[k]
    const length = o.literals + o.occurrences * n
    if (i.occurrences === 0) {
      if (length !== i.literals) return []
      continue
    }

    const candidate = (length - i.literals) / i.occurrences
    if (!Number.isInteger(candidate) || !inner.lengths.includes(candidate) || (m !== undefined && m !== candidate))
      return []
    m = candidate
  }

  return m === undefined ? inner.lengths : [m]
}

interface Alignment {
  /** per position of both ids (outer's first, then inner's): the class it belongs to */
  root: number[]
  /** per class: the literal it must be, if any */
  bound: Array<string | undefined>
  /** per class: the characters it may be */
  characters: string[]
  /** how many classes are free */
  free: number
}

/** Step 2 of the module comment: lay `outer` (id length n) over the start of `inner` (id length m). */
function align(outer: Shape, n: number, inner: Shape, m: number): Alignment | undefined {
  const o = outer.expanded(n)
  const inner0 = inner.expanded(m)
  if (o.length > inner0.length) return undefined
  // Most length pairs fail on a literal (typically a "/" against an id character): find out before allocating.
  for (const [p, a] of o.entries()) {
    const b = inner0[p]
    if (typeof a === 'string') {
      if (typeof b === 'string' ? a !== b : !inner.characters.includes(a)) return undefined
    } else if (typeof b === 'string' && !outer.characters.includes(b)) return undefined
  }

  // Union-find nodes: outer's id positions 0…n-1, then inner's n…n+m-1. A class may hold what all
  // its positions may hold (a container's characters are a subset of an id's).
  const size = n + m
  const parent = new Int16Array(size)
  const characters: string[] = Array.from({length: size})
  const bound: Array<string | undefined> = Array.from({length: size})
  for (let k = 0; k < size; k++) {
    parent[k] = k
    characters[k] = (k < n ? outer : inner).characters
  }

  const find = (k: number): number => {
    let r = k
    while (parent[r] !== r) r = parent[r]
    while (parent[k] !== r) [k, parent[k]] = [parent[k], r]
    return r
  }

  for (const [p, a] of o.entries()) {
    const b = typeof inner0[p] === 'number' ? n + (inner0[p] as number) : inner0[p]
    if (typeof a === 'string' && typeof b === 'string') continue // equal: checked above
    if (typeof a === 'string' || typeof b === 'string') {
      const r = find((typeof a === 'number' ? a : b) as number)
      const c = (typeof a === 'string' ? a : b) as string
      if ((bound[r] !== undefined && bound[r] !== c) || !characters[r].includes(c)) return undefined
      bound[r] = c
      continue
    }

    const ra = find(a)
    const rb = find(b)
    if (ra === rb) continue
    if (bound[ra] !== undefined && bound[rb] !== undefined && bound[ra] !== bound[rb]) return undefined
    parent[rb] = ra
    bound[ra] ??= bound[rb]
    if (characters[rb].length < characters[ra].length) characters[ra] = characters[rb]
    if (bound[ra] !== undefined && !characters[ra].includes(bound[ra])) return undefined
  }

  const root: number[] = Array.from({length: size})
  let free = 0
  for (let k = 0; k < size; k++) {
    root[k] = find(k)
    if (root[k] !== k) bound[k] = undefined
    else if (bound[k] === undefined) free++
  }

  return {root, bound, characters, free}
}

/**
 * Step 3: chooses the free classes depth-first, in the order they first occur, keeping only choices
 * under which every id can still be completed in the id language. `visit` gets each complete pair and
 * returns a result to stop, 'next' to give up on this alignment, or undefined to go on.
 */
function fill(
  alignment: Alignment,
  outer: Shape,
  n: number,
  inner: Shape,
  m: number,
  language: IdLanguage,
  budget: {steps: number},
  visit: (x: string | undefined, y: string | undefined) => Nesting | 'next' | undefined,
): Nesting | undefined {
  const {root, bound, characters} = alignment
  const value: Array<string | undefined> = [...bound]
  const ids = [
    {from: 0, length: outer.occurrences > 0 ? n : 0},
    {from: n, length: inner.occurrences > 0 ? m : 0},
  ]
  const order = [...new Set(root.filter((r) => bound[r] === undefined))]
  const text = (from: number, length: number) =>
    length === 0 ? undefined : Array.from({length}, (_, k) => value[root[from + k]]).join('')

  // Whether each id can still be one of the language: a character not chosen yet may be any its class
  // may hold (a necessary condition, so nothing possible is cut; and a literal further on, such as
  // the "-" of "{customer}-old/", is seen before the characters in front of it are chosen).
  const completable = () =>
    ids.every(({from, length}) => {
      let states = language.start
      for (let p = 0; p < length; p++) {
        const r = root[from + p]
        const c = value[r]
        // The fixed rules the automaton does not carry: a letter or digit first, never "..".
        if (c !== undefined && (p === 0 ? !ALPHANUMERIC.test(c) : c === '.' && value[root[from + p - 1]] === '.'))
          return false
        states = language.step(states, c ?? characters[r])
        if (states.length === 0) return false
      }

      return length === 0 || language.accepts(states)
    })

  let stop: Nesting | 'next' | undefined
  const search = (k: number): void => {
    if (--budget.steps <= 0) return
    if (k === order.length) {
      stop = visit(text(ids[0].from, ids[0].length), text(ids[1].from, ids[1].length))
      return
    }

    const r = order[k]
    for (const c of characters[r]) {
      value[r] = c
      if (completable()) search(k + 1)
      if (stop !== undefined || budget.steps <= 0) return
    }

    value[r] = undefined
  }

  // One character everywhere first: the shortest examples to read, and with a pattern that was not
  // analysed, the candidates most likely to match it.
  for (const c of ID_CHARACTERS) {
    if (!order.every((r) => characters[r].includes(c))) continue
    for (const r of order) value[r] = c
    if (--budget.steps > 0 && completable())
      stop = visit(text(ids[0].from, ids[0].length), text(ids[1].from, ids[1].length))
    if (stop !== undefined || order.length === 0) return stop === 'next' ? undefined : stop
  }

  for (const r of order) value[r] = undefined
  if (completable()) search(0)
  return stop === 'next' ? undefined : stop
}

/** Step 4: the ids and scopes as they really are. `pattern`: only customers.idPattern rejects them. */
function verify(
  outer: Shape,
  x: string | undefined,
  inner: Shape,
  y: string | undefined,
  self: boolean,
  idPattern: string,
): {kind: 'ok' | 'pattern'; nesting: Nesting} | {kind: 'no'} {
  if (self && x === y) return {kind: 'no'}
  for (const [shape, id] of [
    [outer, x],
    [inner, y],
  ] as const) {
    if (id === undefined) continue
    if (!isAcceptableId(id, '')) return {kind: 'no'}
    if (shape.containerOccurrences > 0 && !shape.isValidContainer(expandCustomer(shape.template.container, id)))
      return {kind: 'no'}
  }

  const outerScope = scopeText(outer.template, x)
  const innerScope = scopeText(inner.template, y)
  if (!innerScope.startsWith(outerScope)) return {kind: 'no'}
  const nesting: Nesting = {
    outer: {template: outer.template, id: x, scope: outerScope},
    inner: {template: inner.template, id: y, scope: innerScope},
    same: outerScope === innerScope,
    assumed: false,
  }
  const matches = [x, y].every((id) => id === undefined || isAcceptableId(id, idPattern))
  return {kind: matches ? 'ok' : 'pattern', nesting}
}
