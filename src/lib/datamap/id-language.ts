/**
 * The customer ids a data map admits, as a small automaton, so that the overlap check
 * (overlap.ts) can construct an id of a given shape — some characters given by a template, some
 * shared with another id — instead of trying sample ids.
 *
 * An id must pass the fixed rules of scope.ts (ASCII letters, digits, `.`, `_`, `-`; at most 63
 * characters; see {@link assertCustomerId}) and `customers.idPattern`. The automaton covers the part of
 * JavaScript's regular-expression syntax that id patterns use: literals, `.`, classes (`[a-z0-9-]`,
 * `[^…]`), `\d \w \s` and their negations, groups (`(…)`, `(?:…)`, `(?<name>…)`), alternation, the
 * quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy), and `^`/`$` at the ends of a top-level
 * alternative. A pattern with anything else (look-arounds, back-references, `\b`, `\x`/`\u`
 * escapes) is not analysed: {@link compileIdLanguage} then returns the language of the fixed rules
 * alone with `analysed: false`, and the caller must test each id it constructs with the real pattern.
 */
import {assertCustomerId} from '../scope.js'

/** The longest id the fixed rules allow. */
export const MAX_ID_LENGTH = 63

/**
 * Every character an id may hold under the fixed rules, in the order ids are constructed from (so
 * that examples read `xx`, not `--`).
 */
export const ID_CHARACTERS = 'xabcdefghijklmnopqrstuvwyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.'

/** A set of automaton states, closed under empty moves. */
export type StateSet = readonly number[]

export interface IdLanguage {
  /** false: `idPattern` uses syntax outside the analysed subset; the language is the fixed rules' */
  readonly analysed: boolean
  readonly start: StateSet
  /** the states after reading one of `characters` (empty: no id continues this way) */
  step(states: StateSet, characters: string): StateSet
  /** whether the characters read so far are a whole id */
  accepts(states: StateSet): boolean
}

/** Whether `id` passes the fixed rules and `idPattern` (what {@link assertCustomerId} checks). */
export function isAcceptableId(id: string, idPattern: string): boolean {
  try {
    assertCustomerId(id, idPattern)
    return true
  } catch {
    return false
  }
}

/** Builds the automaton of `idPattern` (see the module comment for what is analysed). */
export function compileIdLanguage(idPattern: string): IdLanguage {
  let node: Node
  let analysed = true
  try {
    node = new PatternParser(idPattern).parse()
  } catch {
    // Unsupported syntax (or a parser gap): fall back to what the fixed rules alone admit.
    node = ANY_ID
    analysed = false
  }

  const nfa = buildNfa(node)
  return nfa ? {analysed, ...nfa} : {analysed: false, ...buildNfa(ANY_ID)!}
}

type Node =
  | {kind: 'set'; chars: string}
  | {kind: 'seq'; items: Node[]}
  | {kind: 'alt'; options: Node[]}
  | {kind: 'repeat'; node: Node; min: number; max: number}
  | {kind: 'anchor'; which: '^' | '$'}

class Unsupported extends Error {}

const ANY_ID: Node = {kind: 'repeat', node: {kind: 'set', chars: ID_CHARACTERS}, min: 0, max: Infinity}

const DIGITS = '0123456789'
const WORD = new Set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_')
const CONTROL_ESCAPES: Record<string, string> = {n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', 0: '\0'}
const only = (test: (c: string) => boolean) => [...ID_CHARACTERS].filter(test).join('')

/** A recursive-descent parser for the analysed subset; throws {@link Unsupported} outside it. */
class PatternParser {
  private i = 0

  constructor(private readonly pattern: string) {}

  parse(): Node {
    const top = this.alternation(0)
    if (this.i !== this.pattern.length) throw new Unsupported()
    // `^` and `$` may only open and close a top-level alternative; an unanchored end admits anything there.
    const any = ANY_ID
    const options = top.kind === 'alt' ? top.options : [top]
    return {
      kind: 'alt',
      options: options.map((option) => {
        const items = option.kind === 'seq' ? [...option.items] : [option]
        const anchoredStart = items[0]?.kind === 'anchor' && items[0].which === '^'
        if (anchoredStart) items.shift()
        const last = items.at(-1)
        const anchoredEnd = last?.kind === 'anchor' && last.which === '$'
        if (anchoredEnd) items.pop()
        if (items.some((item) => item.kind === 'anchor')) throw new Unsupported()
        return {kind: 'seq', items: [...(anchoredStart ? [] : [any]), ...items, ...(anchoredEnd ? [] : [any])]}
      }),
    }
  }

  private alternation(depth: number): Node {
    const options = [this.sequence(depth)]
    while (this.pattern[this.i] === '|') {
      this.i++
      options.push(this.sequence(depth))
    }

    return options.length === 1 ? options[0] : {kind: 'alt', options}
  }

  private sequence(depth: number): Node {
    const items: Node[] = []
    while (this.i < this.pattern.length && this.pattern[this.i] !== '|' && this.pattern[this.i] !== ')') {
      const atom = this.atom(depth)
      const quantified = this.quantifier(atom)
      if (atom.kind === 'anchor' && (quantified !== atom || depth > 0)) throw new Unsupported()
      items.push(quantified)
    }

    return {kind: 'seq', items}
  }

  private atom(depth: number): Node {
    const c = this.pattern[this.i]
    switch (c) {
      case '(': {
        this.i++
        if (this.pattern.startsWith('?:', this.i)) this.i += 2
        else if (/^\?<[A-Za-z_$]/.test(this.pattern.slice(this.i, this.i + 3))) {
          const close = this.pattern.indexOf('>', this.i)
          if (close === -1) throw new Unsupported()
          this.i = close + 1
        } else if (this.pattern[this.i] === '?') throw new Unsupported()
        const inner = this.alternation(depth + 1)
        if (this.pattern[this.i] !== ')') throw new Unsupported()
        this.i++
        return inner
      }

      case '[': {
        return this.characterClass()
      }

      case '.': {
        this.i++
        return {kind: 'set', chars: ID_CHARACTERS}
      }

      case '\\': {
        return {kind: 'set', chars: this.escape(false).chars}
      }

      case '^':
      case '$': {
        this.i++
        return {kind: 'anchor', which: c}
      }

      case '*':
      case '+':
      case '?': {
        throw new Unsupported()
      }

      default: {
        if (c === '{' && /^\{[0-9]+(,[0-9]*)?\}/.test(this.pattern.slice(this.i))) throw new Unsupported()
        this.i++
        return {kind: 'set', chars: only((x) => x === c)}
      }
    }
  }

  private quantifier(atom: Node): Node {
    const rest = this.pattern.slice(this.i)
    let min: number
    let max: number
    const braces = /^\{([0-9]+)(,([0-9]*))?\}/.exec(rest)
    if (rest.startsWith('*')) [min, max] = [0, Infinity]
    else if (rest.startsWith('+')) [min, max] = [1, Infinity]
    else if (rest.startsWith('?')) [min, max] = [0, 1]
    else if (braces) {
      min = Number(braces[1])
      max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3])
    } else return atom
    this.i += braces ? braces[0].length : 1
    if (this.pattern[this.i] === '?') this.i++ // lazy: the same language
    // Ids are at most 63 characters, so counts past 64 change nothing but the automaton's size.
    return {kind: 'repeat', node: atom, min: Math.min(min, MAX_ID_LENGTH + 1), max: Math.min(max, MAX_ID_LENGTH + 1)}
  }

  /** `\d`, `\w`, `\.` …; `single` is set when the escape stands for one character (for ranges). */
  private escape(inClass: boolean): {chars: string; single?: string} {
    const e = this.pattern[this.i + 1]
    this.i += 2
    switch (e) {
      case 'd': {
        return {chars: DIGITS}
      }

      case 'D': {
        return {chars: only((c) => !DIGITS.includes(c))}
      }

      case 'w': {
        return {chars: only((c) => WORD.has(c))}
      }

      case 'W': {
        return {chars: only((c) => !WORD.has(c))}
      }

      case 's': {
        return {chars: ''}
      }

      case 'S': {
        return {chars: ID_CHARACTERS}
      }

      case 'n':
      case 'r':
      case 't':
      case 'f':
      case 'v':
      case '0': {
        return {chars: '', single: CONTROL_ESCAPES[e]}
      }

      case 'b': {
        if (inClass) return {chars: '', single: '\b'}
        throw new Unsupported()
      }

      default: {
        if (e === undefined || /[0-9A-Za-z]/.test(e)) throw new Unsupported()
        return {chars: only((c) => c === e), single: e}
      }
    }
  }

  private characterClass(): Node {
    this.i++
    const negated = this.pattern[this.i] === '^'
    if (negated) this.i++
    const chars = new Set<string>()
    const member = (): {chars: string; single?: string} => {
      if (this.i >= this.pattern.length) throw new Unsupported()
      if (this.pattern[this.i] === '\\') return this.escape(true)
      const c = this.pattern[this.i++]
      return {chars: only((x) => x === c), single: c}
    }

    while (this.pattern[this.i] !== ']') {
      const from = member()
      if (this.pattern[this.i] === '-' && this.i + 1 < this.pattern.length && this.pattern[this.i + 1] !== ']') {
        this.i++
        const to = member()
        if (from.single !== undefined && to.single !== undefined) {
          for (const c of ID_CHARACTERS) if (c >= from.single && c <= to.single) chars.add(c)
          continue
        }

        // `[\d-x]`: a class escape cannot bound a range, so the hyphen is itself a member.
        for (const c of from.chars + to.chars + '-') chars.add(c)
        continue
      }

      for (const c of from.chars) chars.add(c)
    }

    this.i++
    return {kind: 'set', chars: only((c) => chars.has(c) !== negated)}
  }
}

/** Larger automata (nested counted repeats) are not analysed; the fallback is still correct. */
const MAX_STATES = 4000

type Nfa = Omit<IdLanguage, 'analysed'>

/** A set of {@link ID_CHARACTERS} as a bit mask (65 characters: three 32-bit words). */
type Mask = [number, number, number]

function maskOf(characters: string): Mask {
  const mask: Mask = [0, 0, 0]
  for (const c of characters) {
    const k = ID_CHARACTERS.indexOf(c)
    if (k !== -1) mask[k >> 5] |= 1 << (k & 31)
  }

  return mask
}

/** Thompson construction; state sets are kept closed under empty moves. */
function buildNfa(root: Node): Nfa | undefined {
  const edges: Array<Array<[chars: string, to: number]>> = []
  const empty: number[][] = []
  const state = () => {
    if (edges.length >= MAX_STATES) throw new Unsupported()
    edges.push([])
    empty.push([])
    return edges.length - 1
  }

  const build = (node: Node): [start: number, end: number] => {
    switch (node.kind) {
      case 'set': {
        const [s, e] = [state(), state()]
        if (node.chars) edges[s].push([node.chars, e])
        return [s, e]
      }

      case 'seq': {
        const s = state()
        let end = s
        for (const item of node.items) {
          const [is, ie] = build(item)
          empty[end].push(is)
          end = ie
        }

        return [s, end]
      }

      case 'alt': {
        const [s, e] = [state(), state()]
        for (const option of node.options) {
          const [os, oe] = build(option)
          empty[s].push(os)
          empty[oe].push(e)
        }

        return [s, e]
      }

      case 'repeat': {
        const s = state()
        let end = s
        for (let k = 0; k < node.min; k++) {
          const [is, ie] = build(node.node)
          empty[end].push(is)
          end = ie
        }

        if (node.max === Infinity) {
          const [is, ie] = build(node.node)
          empty[end].push(is)
          empty[ie].push(end)
          return [s, end]
        }

        const e = state()
        empty[end].push(e)
        for (let k = node.min; k < node.max; k++) {
          const [is, ie] = build(node.node)
          empty[end].push(is)
          empty[ie].push(e)
          end = ie
        }

        return [s, e]
      }

      case 'anchor': {
        throw new Unsupported()
      }
    }
  }

  let start: number
  let accept: number
  try {
    ;[start, accept] = build(root)
  } catch (error) {
    if (error instanceof Unsupported) return undefined
    throw error
  }

  const closures = edges.map((_, s) => {
    const seen = new Set([s])
    const stack = [s]
    while (stack.length > 0) {
      for (const t of empty[stack.pop()!]) {
        if (seen.has(t)) continue
        seen.add(t)
        stack.push(t)
      }
    }

    return [...seen]
  })
  const edgeMasks = edges.map((out) => out.map(([chars, to]) => [maskOf(chars), to] as const))
  const masks = new Map<string, Mask>()
  return {
    start: closures[start],
    step(states, characters) {
      let mask = masks.get(characters)
      if (!mask) masks.set(characters, (mask = maskOf(characters)))
      const next = new Set<number>()
      for (const s of states) {
        for (const [[a, b, c], to] of edgeMasks[s]) {
          if ((a & mask[0]) === 0 && (b & mask[1]) === 0 && (c & mask[2]) === 0) continue
          for (const t of closures[to]) next.add(t)
        }
      }

      return [...next]
    },
    accepts: (states) => states.includes(accept),
  }
}
