/**
 * Redaction of the records a log bundle keeps. The rules live in one table,
 * {@link LOG_REDACTION_RULES}: the secret rules of secrets.ts (SAS signatures, account keys,
 * bearer tokens, JWTs, passwords, connection-string keys) and one rule for identifiers of other
 * customers, which become a stable placeholder `customer-<first 8 hex of HMAC-SHA256(salt, id)>`
 * (the salt is random per bundle and never written down, so placeholders cannot be linked across
 * bundles or reversed by trying known ids).
 *
 * Rules apply to string values (and keys) of the parsed record, never to the JSON text, so a
 * replacement can never break the JSON; a string that holds JSON itself (Log Analytics `dynamic`
 * or `Properties` text) is parsed and redacted the same way. Secret rules see each value as
 * `"key":"value"`, so key-named secrets (`"password": "…"`) are caught as in the raw line.
 */
import {createHmac, randomBytes} from 'node:crypto'

import {SECRET_RULES} from '../secrets.js'

export interface RedactionRule {
  name: string
  kind: 'secret' | 'identifier'
  /** what is matched (a regular expression's source, or a description) */
  matches: string
  /** what it becomes */
  replacement: string
}

export const OTHER_CUSTOMER_RULE = 'other-customer-id'

/** Every rule a log bundle applies, in order (rendered in the README and counted in the manifest). */
export const LOG_REDACTION_RULES: readonly RedactionRule[] = [
  ...SECRET_RULES.map((r): RedactionRule => ({
    name: r.name,
    kind: 'secret',
    matches: `/${r.pattern.source}/${r.pattern.flags}`,
    replacement: r.replace,
  })),
  {
    name: OTHER_CUSTOMER_RULE,
    kind: 'identifier',
    matches:
      'an id of another customer (customers.known, other values of logs.customerFields, ids read back from store paths), as a whole word',
    replacement: 'customer-<first 8 hex of HMAC-SHA256(bundle salt, id)>',
  },
]

const MAX_ID_LENGTH = 63

function isAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
}

export class BundleRedactor {
  /** redactions per rule name (every rule present, zero when unused) */
  readonly counts: Record<string, number>
  private readonly customer: string
  private readonly ids: Set<string>
  /** ids (others' and the customer's own) by their first word, longest first */
  private readonly byFirstWord = new Map<string, Array<{id: string; own: boolean}>>()
  /** cheap filters before a word is lower-cased: its first character and its length */
  private readonly firstChars = new Uint8Array(128)
  private readonly firstWordLengths = new Set<number>()
  private readonly placeholders = new Map<string, string>()

  /**
   * @param customer the bundle's customer (never replaced)
   * @param otherIds identifiers of other customers (compared case-insensitively)
   */
  constructor(
    customer: string,
    otherIds: Iterable<string>,
    private readonly salt: Buffer = randomBytes(32),
  ) {
    this.customer = customer.toLowerCase()
    this.ids = new Set(
      [...otherIds]
        .map((id) => id.toLowerCase())
        .filter((id) => id !== this.customer && id.length > 0 && id.length <= MAX_ID_LENGTH),
    )
    this.counts = Object.fromEntries(LOG_REDACTION_RULES.map((r) => [r.name, 0]))
    for (const [id, own] of [...[...this.ids].map((i) => [i, false] as const), [this.customer, true] as const]) {
      const first = /^[a-z0-9]+/.exec(id)?.[0]
      if (!first) continue
      const list = this.byFirstWord.get(first) ?? []
      list.push({id, own})
      list.sort((a, b) => b.id.length - a.id.length)
      this.byFirstWord.set(first, list)
      this.firstChars[first.charCodeAt(0)] = 1
      this.firstChars[first.toUpperCase().charCodeAt(0)] = 1
      this.firstWordLengths.add(first.length)
    }
  }

  /** The stable placeholder of another customer's id within this bundle. */
  placeholder(id: string): string {
    const key = id.toLowerCase()
    let p = this.placeholders.get(key)
    if (!p) {
      p = `customer-${createHmac('sha256', this.salt).update(key).digest('hex').slice(0, 8)}`
      this.placeholders.set(key, p)
    }

    return p
  }

  /**
   * Redacts one record given as its JSON text; returns the text unchanged (byte for byte) when no
   * rule applies, else the redacted record re-serialised.
   */
  redactRecordText(raw: string): string {
    // Without backslashes the raw text shows every string as it is, so a miss here is a miss below.
    if (!raw.includes('\\') && !this.anySecret(raw) && !this.hasId(raw)) return raw
    let record: unknown
    try {
      record = JSON.parse(raw)
    } catch {
      // Not JSON (never kept by the bundle, but be safe): redact as text.
      return this.redactText('', raw)
    }

    if (raw.includes('\\')) {
      // Escapes hide patterns from the raw text: check the decoded strings once before walking.
      const view: string[] = []
      flatten(record, '', view)
      const text = view.join('\n')
      if (!this.anySecret(text) && !this.hasId(text)) return raw
    }

    const redacted = this.walk(record, '')
    return redacted.changed ? JSON.stringify(redacted.value) : raw
  }

  private anySecret(text: string): boolean {
    for (const rule of SECRET_RULES) {
      rule.pattern.lastIndex = 0
      const hit = rule.pattern.test(text)
      rule.pattern.lastIndex = 0
      if (hit) return true
    }

    return false
  }

  /** true when `text` holds a whole-word id of another customer */
  private hasId(text: string): boolean {
    return this.ids.size > 0 && this.scanIds(text, false, false) !== text
  }

  private walk(value: unknown, key: string): {value: unknown; changed: boolean} {
    if (typeof value === 'string') {
      const out = this.redactString(key, value)
      return {value: out, changed: out !== value}
    }

    if (Array.isArray(value)) {
      let changed = false
      const out = value.map((v) => {
        const r = this.walk(v, key)
        changed ||= r.changed
        return r.value
      })
      return {value: changed ? out : value, changed}
    }

    if (typeof value === 'object' && value !== null) {
      let changed = false
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) {
        const newKey = this.ids.size > 0 ? this.replaceIds(k, true) : k
        const r = this.walk(v, k)
        changed ||= r.changed || newKey !== k
        out[newKey] = r.value
      }

      return {value: changed ? out : value, changed}
    }

    return {value, changed: false}
  }

  private redactString(key: string, value: string): string {
    const first = value.trimStart().charCodeAt(0)
    if (first === 0x7b || first === 0x5b) {
      let nested: unknown
      try {
        nested = JSON.parse(value)
      } catch {
        nested = undefined
      }

      if (nested !== undefined && typeof nested === 'object' && nested !== null) {
        const r = this.walk(nested, key)
        return r.changed ? JSON.stringify(r.value) : value
      }
    }

    return this.redactText(key, value)
  }

  /** Secret rules on `"key":"value"`, then other customers' ids on the value. */
  private redactText(key: string, value: string): string {
    let out = value
    const head = `"${key}":"`
    let synthetic = `${head}${value}"`
    let hit = false
    for (const rule of SECRET_RULES) {
      rule.pattern.lastIndex = 0
      const matches = synthetic.match(rule.pattern)
      if (!matches) continue
      this.counts[rule.name] += matches.length
      synthetic = synthetic.replace(rule.pattern, rule.replace)
      hit = true
    }

    if (hit) {
      if (synthetic.startsWith(head) && synthetic.endsWith('"')) {
        out = synthetic.slice(head.length, -1)
      } else {
        // A rule reached over the key or the closing quote: apply the rules to the value alone.
        out = value
        for (const rule of SECRET_RULES) out = out.replace(rule.pattern, rule.replace)
      }
    }

    return this.ids.size > 0 ? this.replaceIds(out, true) : out
  }

  /** Replaces whole-word ids of other customers; the bundle's own id is left alone. */
  private replaceIds(text: string, count: boolean): string {
    return this.scanIds(text, true, count)
  }

  /**
   * Finds ids as whole words (no letter or digit right before or after; an id may span `-`, `.`
   * and `_`), trying the longest id first at each word, so `acme-corp` is one id and the
   * customer's own id shields its words. Without `replace`, stops at the first other id and
   * returns a different string (a marker) to say so.
   */
  private scanIds(text: string, replace: boolean, count: boolean): string {
    const words = /[A-Za-z0-9]+/g
    let out = ''
    let last = 0
    for (let m = words.exec(text); m !== null; m = words.exec(text)) {
      if (this.firstChars[m[0].charCodeAt(0)] !== 1 || !this.firstWordLengths.has(m[0].length)) continue
      const candidates = this.byFirstWord.get(m[0].toLowerCase())
      if (!candidates) continue
      for (const {id, own} of candidates) {
        const end = m.index + id.length
        if (end > text.length || (end < text.length && isAlnum(text.charCodeAt(end)))) continue
        if (id.length !== m[0].length && text.slice(m.index, end).toLowerCase() !== id) continue
        if (!own) {
          if (!replace) return `${text}\u0000`
          out += text.slice(last, m.index) + this.placeholder(id)
          last = end
          if (count) this.counts[OTHER_CUSTOMER_RULE]++
        }

        words.lastIndex = end
        break
      }
    }

    return last === 0 ? text : out + text.slice(last)
  }
}

/** Every key and string of a parsed record as the secret rules see them (`"key":"value"`), one per line. */
function flatten(value: unknown, key: string, out: string[]): void {
  if (typeof value === 'string') out.push(`"${key}":"${value}"`)
  else if (Array.isArray(value)) for (const v of value) flatten(v, key, out)
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push(k)
      flatten(v, k, out)
    }
  }
}
