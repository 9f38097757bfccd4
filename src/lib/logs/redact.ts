/**
 * Redaction of the records a log bundle keeps. The rules live in one table,
 * {@link LOG_REDACTION_RULES}: the secret rules of secrets.ts (SAS signatures, account keys, the
 * storage logs' key and SAS fingerprints, bearer tokens, Authorization values, JWTs, passwords,
 * connection-string keys) and one rule for identifiers of other customers, which become a stable
 * placeholder `customer-<first 8 hex of HMAC-SHA256(salt, id)>` (the salt is random per bundle and
 * never written down, so placeholders cannot be linked across bundles or reversed by trying known ids).
 *
 * Rules apply to the contents of the record's JSON strings (keys and values), decoded layer by layer
 * (JSON escapes, percent-encoding, JSON text inside a string), never to the JSON structure, so a
 * replacement can never break the JSON; only the redacted spans change, written back in the
 * string's own encoding, and every other byte of the record stays as it was archived.
 */
import {createHmac, randomBytes} from 'node:crypto'

import {
  REDACTED,
  REDACTION_VERSION,
  SECRET_RULES,
  applyEdits,
  countEdits,
  decodedLayers,
  findEdits,
  findJsonEdits,
  lineHints,
  secretFinder,
  type Edit,
  type Finder,
} from '../secrets.js'

export interface RedactionRule {
  id: string
  kind: 'secret' | 'identifier'
  /** what is matched */
  matches: string
  /** what is kept of a match */
  keeps: string
  /** what replaces the rest */
  replacement: string
}

const OTHER_CUSTOMER_RULE = 'other-customer-id'

/** Every rule a log bundle applies, in order (rendered in the README and named in the manifest). */
export const LOG_REDACTION_RULES: readonly RedactionRule[] = [
  ...SECRET_RULES.map((r): RedactionRule => ({
    id: r.id,
    kind: 'secret',
    matches: r.matches,
    keeps: r.keeps,
    replacement: REDACTED,
  })),
  {
    id: OTHER_CUSTOMER_RULE,
    kind: 'identifier',
    matches:
      'an id of another customer (customers.known, other values of logs.customerFields, ids read back from store paths), as a whole word, also where only decoding shows it (`%27globex%27`)',
    keeps: "the words around it; the bundle's own customer id is never replaced",
    replacement: 'customer-<first 8 hex of HMAC-SHA256(bundle salt, id)>',
  },
]

/** What the manifest says about redaction: the rules that ran, in order, and the version of the rule set. */
export interface RedactionSummary {
  version: number
  rules: string[]
}

export function redactionSummary(): RedactionSummary {
  return {version: REDACTION_VERSION, rules: LOG_REDACTION_RULES.map((r) => r.id)}
}

const MAX_ID_LENGTH = 63

function isAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
}

export class BundleRedactor {
  /** redactions per rule id (every rule present, zero when unused) */
  readonly counts: Record<string, number>
  private readonly customer: string
  private readonly ids: Set<string>
  /** ids (others' and the customer's own) by their first word, longest first */
  private readonly byFirstWord = new Map<string, Array<{id: string; own: boolean}>>()
  /** cheap filters before a word is lower-cased: its first character and its length */
  private readonly firstChars = new Uint8Array(128)
  private readonly firstWordLengths = new Set<number>()
  private readonly placeholders = new Map<string, string>()
  /** secrets first, then other customers' ids (an id inside a redacted secret is gone with it) */
  private readonly finders: readonly Finder[]
  private readonly idFinder: Finder = (text, out) => {
    this.findIds(text, out)
  }

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
    this.counts = Object.fromEntries(LOG_REDACTION_RULES.map((r) => [r.id, 0]))
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

    this.finders = this.ids.size > 0 ? [secretFinder, this.idFinder] : [secretFinder]
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
   * Redacts one record given as its JSON text: returns the text unchanged (byte for byte) when no
   * rule applies, else the same text with only the redacted spans replaced.
   */
  redactRecordText(raw: string): string {
    // Every layer of the whole line is checked once: a miss here is a miss for every string in it.
    const {secrets, hits} = lineHints(raw)
    let ids = false
    if (this.ids.size > 0) {
      const spans: Edit[] = []
      ids = this.findIds(raw, spans)
      for (const e of spans) hits.push(e.start)
      if (ids) hits.sort((a, b) => a - b)
      else ids = decodedLayers(raw).some((layer) => this.findIds(layer, undefined))
    }

    if (!secrets && !ids) return raw
    const finders = secrets && ids ? this.finders : secrets ? [secretFinder] : [this.idFinder]
    let edits: Edit[] | undefined = findJsonEdits(raw, finders, {hits})
    // Not JSON (never kept by the bundle, but be safe): redact as text.
    edits ??= findEdits(raw, finders)
    if (edits.length === 0) return raw
    countEdits(edits, this.counts)
    return applyEdits(raw, edits)
  }

  /**
   * Finds ids as whole words (no letter or digit right before or after; an id may span `-`, `.`
   * and `_`), trying the longest id first at each word, so `acme-corp` is one id and the
   * customer's own id shields its words. Adds an edit per id of another customer to `out`
   * (skipping spans already claimed); without `out`, says whether there is one.
   */
  private findIds(text: string, out: Edit[] | undefined): boolean {
    const words = /[A-Za-z0-9]+/g
    let found = false
    for (let m = words.exec(text); m !== null; m = words.exec(text)) {
      if (this.firstChars[m[0].charCodeAt(0)] !== 1 || !this.firstWordLengths.has(m[0].length)) continue
      const candidates = this.byFirstWord.get(m[0].toLowerCase())
      if (!candidates) continue
      for (const {id, own} of candidates) {
        const end = m.index + id.length
        if (end > text.length || (end < text.length && isAlnum(text.charCodeAt(end)))) continue
        if (id.length !== m[0].length && text.slice(m.index, end).toLowerCase() !== id) continue
        if (!own) {
          if (!out) return true
          found = true
          if (!out.some((e) => m.index < e.end && e.start < end))
            out.push({start: m.index, end, text: this.placeholder(id), rule: OTHER_CUSTOMER_RULE})
        }

        words.lastIndex = end
        break
      }
    }

    return found
  }
}
