/**
 * Reading fields out of log records whatever path they came by. The same event has different
 * shapes by source (see ../shared/azure-contracts/SOURCES.md, "What the samples teach"):
 *
 * | source                         | example of the same field                          |
 * |--------------------------------|----------------------------------------------------|
 * | storage archive (PT1H.json)    | `properties.objectKey`, `Level` next to `time`     |
 * | Log Analytics table            | `ObjectKey` (properties promoted, PascalCase), `TimeGenerated` |
 * | Log Analytics AzureDiagnostics | `identity_claim_upn_s` (flattened, type suffix)    |
 * | activity log (REST)            | `category: {value, localizedValue}`, `eventTimestamp`, `properties` as a string map |
 * | LA dynamic / string columns    | JSON text in a string (`Properties`, `Status`)     |
 *
 * {@link getField} takes the archive's dotted path (`properties.customerId`) and finds the value in
 * any of these shapes, so selection rules are written once.
 */

export type LogRecord = Record<string, unknown>

/** Log Analytics type suffixes of flattened custom columns (`_s` string, `_d` double/dynamic, `_g` guid, ...). */
const TYPE_SUFFIXES = ['_s', '_d', '_g', '_b', '_t', '_n'] as const

function isObject(value: unknown): value is LogRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

/** A JSON object or array carried as text (LA string columns, `dynamic` cells seen raw). */
function parseJsonText(value: string): unknown {
  const first = value.trimStart().charCodeAt(0)
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) return undefined
  try {
    return JSON.parse(value)
  } catch {
    return undefined
  }
}

/** `obj[key]`, else a key differing only in case, else one with a Log Analytics type suffix. */
function lookup(obj: LogRecord, key: string): unknown {
  const exact = obj[key]
  if (exact !== undefined) return exact
  const lower = key.toLowerCase()
  let suffixed: unknown
  for (const k of Object.keys(obj)) {
    const kl = k.toLowerCase()
    if (kl === lower) return obj[k]
    if (
      suffixed === undefined &&
      kl.length === lower.length + 2 &&
      kl.startsWith(lower) &&
      (TYPE_SUFFIXES as readonly string[]).includes(kl.slice(lower.length))
    )
      suffixed = obj[k]
  }

  return suffixed
}

function walk(record: unknown, segments: readonly string[]): unknown {
  let current: unknown = record
  for (const segment of segments) {
    if (typeof current === 'string') current = parseJsonText(current)
    if (!isObject(current)) return undefined
    current = lookup(current, segment)
    if (current === undefined) return undefined
  }

  return current
}

/** `{value, localizedValue}` (activity log REST shape) stands for its `value`. */
function unwrapLocalizable(value: unknown): unknown {
  if (isObject(value) && 'value' in value && 'localizedValue' in value) return value.value
  return value
}

/**
 * The value at a dotted path such as `properties.customerId`, found in the archive shape, the Log
 * Analytics shapes (case-insensitive keys, `properties.*` promoted to columns, flattened
 * `a_b_c` columns with type suffixes, JSON text in string columns) and the activity-log REST shape
 * (`{value, localizedValue}` pairs are unwrapped). Undefined when absent.
 */
export function getField(record: unknown, path: string): unknown {
  const segments = path.split('.')
  let value = walk(record, segments)
  if (value === undefined && segments.length > 1 && isObject(record)) {
    const rest = segments[0].toLowerCase() === 'properties' ? segments.slice(1) : undefined
    // Log Analytics promotes the archive's `properties.*` to top-level columns.
    if (rest) value = walk(record, rest)
    // AzureDiagnostics flattens nesting into `a_b_c` (with `properties` dropped) plus a type suffix.
    if (value === undefined) value = lookup(record, segments.join('_'))
    if (value === undefined && rest && rest.length > 1) value = lookup(record, rest.join('_'))
  }

  return unwrapLocalizable(value)
}

/** {@link getField} as a string (numbers are rendered; objects and missing values are undefined). */
export function getString(record: unknown, path: string): string | undefined {
  const value = getField(record, path)
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value instanceof Date) return value.toISOString()
  return undefined
}

/** Fields that carry a record's own time, by source: archive, Log Analytics, activity log (REST). */
const TIME_FIELDS = ['time', 'TimeGenerated', 'eventTimestamp', 'timeStamp', 'createdDateTime'] as const

/** A record's own time in epoch milliseconds, or undefined when it has none that parses. */
export function recordTime(record: LogRecord): number | undefined {
  for (const field of TIME_FIELDS) {
    const value = record[field]
    if (value === undefined || value === null) continue
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime()
    if (typeof value === 'string') {
      const t = Date.parse(value)
      if (!Number.isNaN(t)) return t
    }

    if (typeof value === 'number' && Number.isFinite(value)) return value
  }

  return undefined
}

/** A record's category: `category` (archive; `{value}` in the activity log), else the LA table (`Type`). */
export function recordCategory(record: LogRecord): string | undefined {
  for (const field of ['category', 'Category', 'SourceTable', 'Type']) {
    const value = unwrapLocalizable(record[field])
    if (typeof value === 'string' && value !== '') return value
  }

  return undefined
}
