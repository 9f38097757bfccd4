/**
 * Secrets never reach stdout, stderr, a log or a file custos writes. One table of rules,
 * {@link SECRET_RULES}, serves every place: error messages and audit details ({@link redactSecrets})
 * and the records of a logs bundle (logs/redact.ts, which adds other customers' identifiers). The
 * README's redaction table lists the same rules.
 *
 * A rule keeps the kind of a credential and replaces only what identifies it:
 * `key1(4C81…)` → `key1([REDACTED])`, `Bearer eyJ…` → `Bearer [REDACTED]`, `sig=…` → `sig=[REDACTED]`.
 * Matching is case-insensitive and sees through encodings: text is decoded layer by layer (JSON
 * string escapes, percent-encoding, each possibly repeated) and every rule runs on every layer, so
 * `%26sig%3D…` and `{\"sig\":\"…\"}` are caught; the replacement is written back in the text's own
 * form (`%5BREDACTED%5D` inside a percent-encoded URL), and nothing outside the secret changes.
 */

/** What a secret becomes. Brackets never occur in base64, hex or URL-safe tokens, so it cannot be mistaken for a value. */
export const REDACTED = '[REDACTED]'

/**
 * The version of the rule set, written into every logs-bundle manifest. Bump it whenever a rule
 * changes what it matches, keeps or writes (test/unit/secrets.test.ts pins the table to it).
 */
export const REDACTION_VERSION = 2

export interface SecretRule {
  /** stable id, counted in the logs-bundle manifest */
  id: string
  /** what is matched (README) */
  matches: string
  /** what is kept (README) */
  keeps: string
  /** in text: the named group `secret` of each is replaced by {@link REDACTED}, everything else is kept */
  patterns?: readonly RegExp[]
  /** a JSON property of one of these names (any case) … */
  keys?: readonly string[]
  /** … has each `secret` group of its string value replaced (default: the whole value) */
  value?: RegExp
  /** lower-case strings one of which every match contains (a cheap filter before the patterns run) */
  triggers: readonly string[]
}

const SCHEMES = String.raw`Bearer|Basic|SharedKey|SharedKeyLite|SharedAccessSignature|PoP`

/**
 * The rules, in the order they run on each piece of text; a later rule never touches what an
 * earlier one replaced (the connection-string rules come before `sig=` so a whole
 * `SharedAccessSignature=…` is one redaction).
 */
export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'sas-in-connection-string',
    matches: '`SharedAccessSignature=<token>` in a connection string',
    keeps: '`SharedAccessSignature=`',
    patterns: [/(?<![A-Za-z0-9])SharedAccessSignature=(?<secret>[^;\s"'\\]+)/dgi],
    triggers: ['sharedaccesssignature'],
  },
  {
    id: 'account-key',
    matches: '`AccountKey=<key>` in a connection string',
    keeps: '`AccountKey=`',
    patterns: [/(?<![A-Za-z0-9])AccountKey=(?<secret>[^;\s"'\\]+)/dgi],
    triggers: ['accountkey'],
  },
  {
    id: 'shared-access-key',
    matches: '`SharedAccessKey=<key>` (Event Hubs / Service Bus connection strings)',
    keeps: '`SharedAccessKey=`; `SharedAccessKeyName=` is not a secret and stays',
    patterns: [/(?<![A-Za-z0-9])SharedAccessKey=(?<secret>[^;\s"'\\]+)/dgi],
    triggers: ['sharedaccesskey'],
  },
  {
    id: 'sas-signature',
    matches: 'the `sig=` parameter of a SAS token, also percent-encoded (`%26sig%3D…`) at any depth',
    keeps: '`sig=` and every other SAS parameter (`sv`, `se`, `sp`, …)',
    patterns: [/(?<![A-Za-z0-9_.%-])sig=(?<secret>[^&\s"'<>;,)\\#]+)/dgi],
    triggers: ['sig='],
  },
  {
    id: 'sas-signature-key',
    matches: 'a `"sig"` JSON key: a record property named `sig`, or `"sig": "…"` in JSON text inside a string',
    keeps: 'the key',
    patterns: [/"sig"\s*:\s*"(?<secret>[^"\\]+)"/dgi],
    keys: ['sig'],
    triggers: ['sig'],
  },
  {
    id: 'storage-token-hash',
    matches:
      'storage-log fingerprints of the account key and SAS token that signed a request: `identity.tokenHash` (archive), ' +
      '`AuthenticationHash` (Log Analytics), and `key1(…)`, `key2(…)`, `SasSignature(…)`, `UserDelegation(…)` anywhere',
    keeps: 'the kind (`key1`, `SasSignature`, …); a bare hash (OAuth) becomes `[REDACTED]` whole',
    patterns: [
      /(?<![A-Za-z0-9])(?:key[12]|SasSignature|UserDelegation(?:Key)?)\((?<secret>[0-9A-Z]{16,})\)/dgi,
      // a bare (OAuth) hash under its key in JSON text inside a string
      /"(?:tokenHash|AuthenticationHash)"\s*:\s*"(?<secret>[0-9A-F]{32,})"/dgi,
    ],
    keys: ['tokenHash', 'AuthenticationHash'],
    value: /(?<=^|,)\s*(?:[A-Za-z][A-Za-z0-9]*\()?(?<secret>[^(),\s]+)/dg,
    triggers: ['key1(', 'key2(', 'sassignature(', 'userdelegation', 'tokenhash', 'authenticationhash'],
  },
  {
    id: 'bearer-token',
    matches: '`Bearer <token>` in any case (a token of 8+ URL-safe characters with a digit or punctuation)',
    keeps: 'the word `Bearer` as written',
    patterns: [/(?<![A-Za-z0-9])Bearer\s+(?<secret>(?=[A-Za-z0-9\-._~+/]*[0-9._~+/-])[A-Za-z0-9\-._~+/]{8,}=*)/dgi],
    triggers: ['bearer'],
  },
  {
    id: 'authorization-header',
    matches: 'the value of an `Authorization` header or property (`Authorization: SharedKey acct:sig`)',
    keeps: 'the scheme (`Bearer`, `SharedKey`, `Basic`, …); a URL (a challenge parameter) is not a credential',
    patterns: [
      new RegExp(
        String.raw`(?<![A-Za-z0-9])authorization"?\s*[:=]\s*"?(?:(?:${SCHEMES})\s+)?(?<secret>(?!(?:${SCHEMES})(?![A-Za-z0-9])|https?:)[^"',\s{[\\]+)`,
        'dgi',
      ),
    ],
    keys: ['authorization'],
    value: new RegExp(String.raw`^\s*(?:(?:${SCHEMES})\s+)?(?<secret>(?!https?:)[^\s{[][^\s]*)\s*$`, 'di'),
    triggers: ['authorization'],
  },
  {
    id: 'jwt',
    matches: 'a JSON Web Token (`eyJ…` `.` … `.` …; `eyJ` is base64 of `{"`, so this one is case-sensitive)',
    keeps: 'nothing',
    patterns: [
      /(?<![A-Za-z0-9_-])(?<secret>eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})(?![A-Za-z0-9_-])/dg,
    ],
    triggers: ['eyj'],
  },
  {
    id: 'password',
    matches:
      '`password`, `passwd`, `pwd`, `client_secret`, `clientSecret` followed by `=` or `:` in text, or a property of that name',
    keeps: 'the name',
    patterns: [/(?:password|passwd|pwd|client_secret|clientSecret)["']?\s*[:=]\s*["']?(?<secret>[^"'&\s,;}\\]+)/dgi],
    keys: ['password', 'passwd', 'pwd', 'client_secret', 'clientSecret'],
    triggers: ['password', 'passwd', 'pwd', 'client_secret', 'clientsecret'],
  },
]

// ------------------------------------------------------------------------------------------------
// Layers: the text as decoded once, twice, … with a map from each decoded character back to the
// characters it came from, so that a match deep down is replaced in the original text.

/** How deep encodings are followed (a URL in a JSON string in a URL … is three). */
const MAX_DEPTH = 6

interface Step {
  kind: 'json' | 'percent'
  text: string
  /** for each character of `text`, where its source starts and ends in the layer above */
  starts: Int32Array
  ends: Int32Array
}

const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})/
const PERCENT_ESCAPE = /%[0-7][0-9A-Fa-f]/
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102)
}

/** One decoding step: JSON string escapes if there are any, else ASCII percent-escapes; undefined when neither. */
function decodeStep(text: string): Step | undefined {
  if (!text.includes('\\') && !text.includes('%')) return undefined
  const json = JSON_ESCAPE.test(text)
  if (!json && !PERCENT_ESCAPE.test(text)) return undefined
  const chars: string[] = []
  const starts: number[] = []
  const ends: number[] = []
  for (let i = 0; i < text.length;) {
    const c = text[i]
    if (json && c === '\\' && i + 1 < text.length) {
      const next = text[i + 1]
      const simple = SIMPLE_ESCAPES[next]
      if (simple !== undefined) {
        chars.push(simple)
        starts.push(i)
        ends.push(i + 2)
        i += 2
        continue
      }

      if (next === 'u' && i + 6 <= text.length && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) {
        chars.push(String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16)))
        starts.push(i)
        ends.push(i + 6)
        i += 6
        continue
      }
    }

    if (
      !json &&
      c === '%' &&
      i + 2 < text.length &&
      text.charCodeAt(i + 1) >= 48 &&
      text.charCodeAt(i + 1) <= 55 &&
      isHex(text.charCodeAt(i + 2))
    ) {
      chars.push(String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16)))
      starts.push(i)
      ends.push(i + 3)
      i += 3
      continue
    }

    chars.push(c)
    starts.push(i)
    ends.push(i + 1)
    i++
  }

  return {
    kind: json ? 'json' : 'percent',
    text: chars.join(''),
    starts: Int32Array.from(starts),
    ends: Int32Array.from(ends),
  }
}

/** `value` written as it must appear in a layer above a step of `kind`. */
function encodeFor(kind: Step['kind'], value: string): string {
  if (kind === 'json') return JSON.stringify(value).slice(1, -1)
  return value.replaceAll(
    /[^A-Za-z0-9\-._~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
}

/** True when `secret` is (an encoding of) the replacement itself: never redact twice. */
function isRedacted(secret: string): boolean {
  if (secret === REDACTED) return true
  if (!secret.includes('%') && !secret.includes('\\')) return false
  return decodedLayers(secret).includes(REDACTED)
}

// ------------------------------------------------------------------------------------------------
// Finding and applying edits.

/** A replacement of `[start, end)` in one layer's text. */
export interface Edit {
  start: number
  end: number
  text: string
  /** the rule id, for the counts */
  rule: string
}

/**
 * Something that proposes edits in a piece of text: the secret rules, and in a logs bundle the
 * other customers' identifiers. `text` is already decoded to the layer being looked at.
 */
export type Finder = (text: string, out: Edit[]) => void

function overlaps(edits: readonly Edit[], start: number, end: number): boolean {
  for (const e of edits) if (start < e.end && e.start < end) return true
  return false
}

/** Adds the `secret` groups of `pattern` (flag `d`) in `text` as edits of `rule`, skipping what is already redacted or claimed. */
function addMatches(pattern: RegExp, text: string, rule: string, out: Edit[]): void {
  pattern.lastIndex = 0
  if (!pattern.global) {
    const m = pattern.exec(text)
    if (m) addGroup(m, text, rule, out)
    return
  }

  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0].length === 0) pattern.lastIndex++
    addGroup(m, text, rule, out)
  }
}

function addGroup(m: RegExpExecArray, text: string, rule: string, out: Edit[]): void {
  const span = m.indices?.groups?.secret
  if (!span) return
  const [start, end] = span
  if (end <= start || isRedacted(text.slice(start, end)) || overlaps(out, start, end)) return
  out.push({start, end, text: REDACTED, rule})
}

const TRIGGERS = new RegExp(
  [...new Set(SECRET_RULES.flatMap((r) => r.triggers))]
    .map((t) => t.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`))
    .join('|'),
  'i',
)

/** The finder of every secret rule's text pattern, in table order. */
export const secretFinder: Finder = (text, out) => {
  if (!TRIGGERS.test(text)) return
  for (const rule of SECRET_RULES) for (const pattern of rule.patterns ?? []) addMatches(pattern, text, rule.id, out)
}

const KEY_RULES = new Map<string, SecretRule>()
for (const rule of SECRET_RULES) for (const key of rule.keys ?? []) KEY_RULES.set(key.toLowerCase(), rule)

/** The finder for the string value of a JSON property named `key`, when a rule names that key. */
function keyFinder(key: string | undefined): Finder | undefined {
  const rule = key === undefined ? undefined : KEY_RULES.get(key.toLowerCase())
  if (!rule) return undefined
  return (text, out) => {
    if (rule.value) {
      addMatches(rule.value, text, rule.id, out)
      return
    }

    if (text.length > 0 && !isRedacted(text) && !overlaps(out, 0, text.length))
      out.push({start: 0, end: text.length, text: REDACTED, rule: rule.id})
  }
}

/**
 * The edits of `text` at this layer (when `matchHere`) and at every layer below, in this layer's
 * coordinates, sorted and never overlapping. `first` runs before `finders`, on this layer only.
 */
export function findEdits(
  text: string,
  finders: readonly Finder[],
  options: {matchHere?: boolean; first?: Finder; depth?: number} = {},
): Edit[] {
  const depth = options.depth ?? 0
  const edits: Edit[] = []
  if (options.matchHere !== false) {
    options.first?.(text, edits)
    for (const find of finders) find(text, edits)
  }

  const step = depth < MAX_DEPTH ? decodeStep(text) : undefined
  if (step) {
    // `first` belongs to the decoded value: when this layer is its escaped form, it runs one layer down
    const first = options.matchHere === false ? options.first : undefined
    for (const e of findEdits(step.text, finders, {depth: depth + 1, first})) {
      const start = step.starts[e.start]
      const end = step.ends[e.end - 1]
      if (!overlaps(edits, start, end)) edits.push({start, end, text: encodeFor(step.kind, e.text), rule: e.rule})
    }
  }

  return edits.sort((a, b) => a.start - b.start)
}

/** `text` with `edits` (sorted, disjoint) applied. */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  if (edits.length === 0) return text
  let out = ''
  let last = 0
  for (const e of edits) {
    out += text.slice(last, e.start) + e.text
    last = e.end
  }

  return out + text.slice(last)
}

// ------------------------------------------------------------------------------------------------
// JSON text: only the contents of strings are ever changed, so the JSON stays valid and every byte
// outside a redacted span (spacing, key order, escapes, number forms) stays as it was.

/**
 * Calls `visit` for every string token of the JSON text `raw` (keys and values) with the span of
 * its contents (between the quotes) and, for a value, the name of the property it belongs to
 * (array elements belong to the array's property). Returns false when `raw` is not well formed.
 */
function forEachJsonString(
  raw: string,
  visit: (start: number, end: number, key: string | undefined, isKey: boolean) => void,
): boolean {
  const stack: Array<{object: boolean; expectKey: boolean; key: string | undefined}> = []
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i)
    // white space, digits, letters of true/false/null: nothing to do
    if (
      code !== 0x22 &&
      code !== 0x7b &&
      code !== 0x7d &&
      code !== 0x5b &&
      code !== 0x5d &&
      code !== 0x2c &&
      code !== 0x3a
    )
      continue
    const top = stack.at(-1)
    if (code === 0x22) {
      const start = i + 1
      let end = start
      for (;;) {
        end = raw.indexOf('"', end)
        if (end === -1) return false
        let backslashes = 0
        while (raw.charCodeAt(end - 1 - backslashes) === 92) backslashes++
        if (backslashes % 2 === 0) break
        end++
      }

      if (top?.object && top.expectKey) {
        const text = raw.slice(start, end)
        top.key = text.includes('\\') ? (JSON.parse(`"${text}"`) as string) : text
        visit(start, end, undefined, true)
      } else {
        visit(start, end, top?.key, false)
      }

      i = end
    } else if (code === 0x7b) stack.push({object: true, expectKey: true, key: undefined})
    else if (code === 0x5b) stack.push({object: false, expectKey: false, key: top?.key})
    else if (code === 0x7d || code === 0x5d) {
      if (!stack.pop()) return false
    } else if (code === 0x2c) {
      if (top?.object) top.expectKey = true
    } else if (top) top.expectKey = false
  }

  return stack.length === 0
}

/**
 * The edits of a JSON text: every string token is decoded (its JSON escapes first) and searched
 * layer by layer; a property named by a rule's `keys` has its value handled by that rule. Matching
 * never runs on the escaped form itself, so a replacement can never split an escape.
 */
export function findJsonEdits(
  raw: string,
  finders: readonly Finder[],
  options: {hits?: readonly number[]} = {},
): Edit[] | undefined {
  const edits: Edit[] = []
  const hits = options.hits
  let next = 0
  const ok = forEachJsonString(raw, (start, end, key, isKey) => {
    const first = isKey ? undefined : keyFinder(key)
    if (hits) {
      // see LineHints: a string without a hit cannot match
      while (next < hits.length && hits[next] < start) next++
      if (!first && !(next < hits.length && hits[next] < end)) return
    }

    const content = raw.slice(start, end)
    if (!first && content.length === 0) return
    const found = findEdits(content, finders, {matchHere: !content.includes('\\'), first})
    for (const e of found) edits.push({...e, start: e.start + start, end: e.end + start})
  })
  return ok ? edits : undefined
}

/** The layers below `text` without position maps (for the filters: faster than {@link decodeStep}). */
export function decodedLayers(text: string): string[] {
  const out: string[] = []
  let current = text
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (!current.includes('\\') && !current.includes('%')) break
    let next: string
    if (JSON_ESCAPE.test(current))
      next = current.replaceAll(JSON_ESCAPES, (m: string, hex?: string) =>
        hex === undefined ? SIMPLE_ESCAPES[m[1]] : String.fromCharCode(Number.parseInt(hex, 16)),
      )
    else if (PERCENT_ESCAPE.test(current))
      next = current.replaceAll(PERCENT_ESCAPES, (_m: string, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      )
    else break
    out.push(next)
    current = next
  }

  return out
}

const JSON_ESCAPES = /\\(?:["\\/bfnrt]|u([0-9A-Fa-f]{4}))/g
const PERCENT_ESCAPES = /%([0-7][0-9A-Fa-f])/g

/** What a whole line shows before its strings are looked at one by one. */
export interface LineHints {
  /** some layer of the line holds a trigger of some secret rule */
  secrets: boolean
  /**
   * positions in the line where a string may need a closer look: rule triggers, and every `\` and
   * `%` (a string with neither is its own decoded value, so it can only match where a trigger is)
   */
  hits: number[]
}

export function lineHints(raw: string): LineHints {
  const hits: number[] = []
  const re = new RegExp(TRIGGERS.source, 'gi')
  for (let m = re.exec(raw); m !== null; m = re.exec(raw)) hits.push(m.index)
  let secrets = hits.length > 0
  const encoded = /[\\%]/g
  let any = false
  for (let m = encoded.exec(raw); m !== null; m = encoded.exec(raw)) {
    hits.push(m.index)
    any = true
  }

  if (!secrets && any) secrets = decodedLayers(raw).some((layer) => TRIGGERS.test(layer))
  return {secrets, hits: hits.sort((a, b) => a - b)}
}

/** Counts edits per rule into `counts`. */
export function countEdits(edits: readonly Edit[], counts: Record<string, number>): void {
  for (const e of edits) counts[e.rule] = (counts[e.rule] ?? 0) + 1
}

/**
 * Masks every secret in a message, a stack trace or a JSON text (audit details): JSON text stays
 * valid JSON with the same layout; anything else is treated as text.
 */
export function redactSecrets(text: string): string {
  const hints = lineHints(text)
  if (!hints.secrets) return text
  const first = text.trimStart().charCodeAt(0)
  if (first === 0x7b || first === 0x5b) {
    let json = false
    try {
      JSON.parse(text)
      json = true
    } catch {
      // not JSON after all: redact as text
    }

    if (json) {
      const edits = findJsonEdits(text, [secretFinder], {hits: hints.hits})
      if (edits) return applyEdits(text, edits)
    }
  }

  return applyEdits(text, findEdits(text, [secretFinder]))
}
