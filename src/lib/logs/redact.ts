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
  ...SECRET_RULES.map((r): RedactionRule => ({name: r.name, kind: 'secret', matches: `/${r.pattern.source}/${r.pattern.flags}`, replacement: r.replace})),
  {
    name: OTHER_CUSTOMER_RULE,
    kind: 'identifier',
    matches: 'an id of another customer (customers.known, other values of logs.customerFields, ids read back from store paths), as a whole word',
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
    this.ids = new Set([...otherIds].map((id) => id.toLowerCase()).filter((id) => id !== this.customer && id.length > 0 && id.length <= MAX_ID_LENGTH))
    this.counts = Object.fromEntries(LOG_REDACTION_RULES.map((r) => [r.name, 0]))
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
    const plain = !raw.includes('\\')
    if (plain && !this.anySecret(raw) && !this.anyId(raw)) return raw
    let record: unknown
    try {
      record = JSON.parse(raw)
    } catch {
      // Not JSON (never kept by the bundle, but be safe): redact as text.
      return this.redactText('', raw)
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

  private anyId(text: string): boolean {
    if (this.ids.size === 0) return false
    return this.replaceIds(text, false) !== text
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
    return text.replace(/[A-Za-z0-9._-]+/g, (token) => this.replaceInToken(token, count))
  }

  private replaceInToken(token: string, count: boolean): string {
    const n = token.length
    const starts: number[] = []
    const ends: number[] = []
    for (let i = 0; i < n; i++) {
      if (!isAlnum(token.charCodeAt(i))) continue
      if (i === 0 || !isAlnum(token.charCodeAt(i - 1))) starts.push(i)
      if (i === n - 1 || !isAlnum(token.charCodeAt(i + 1))) ends.push(i + 1)
    }
    let out = ''
    let pos = 0
    for (const s of starts) {
      if (s < pos) continue
      for (let k = ends.length - 1; k >= 0; k--) {
        const e = ends[k]
        if (e <= s) break
        if (e - s > MAX_ID_LENGTH) continue
        const candidate = token.slice(s, e).toLowerCase()
        if (candidate === this.customer) {
          out += token.slice(pos, e)
          pos = e
          break
        }
        if (this.ids.has(candidate)) {
          out += token.slice(pos, s) + this.placeholder(candidate)
          pos = e
          if (count) this.counts[OTHER_CUSTOMER_RULE]++
          break
        }
      }
    }
    return pos === 0 ? token : out + token.slice(pos)
  }
}
