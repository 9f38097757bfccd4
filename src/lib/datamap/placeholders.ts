/**
 * `{customer}` and date placeholders in the data map. Which placeholders a field may hold is
 * decided here, once, so that the loader can reject an unknown one before anything runs.
 */

const DATE_TOKENS = ['yyyy', 'MM', 'dd', 'HH'] as const

const placeholderPattern = /\{([^{}]*)\}/g

/** The placeholder names used in `template`, in order. */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(placeholderPattern)].map((m) => m[1])
}

/** Replaces `{customer}` by the (already validated) customer id. */
export function expandCustomer(template: string, customer: string): string {
  return template.replaceAll('{customer}', customer)
}

/** Which placeholders each kind of field accepts. */
export const allowedPlaceholders = {
  customerOnly: ['customer'],
  dateTemplate: ['customer', ...DATE_TOKENS],
  none: [] as string[],
} as const

const tokenRegex: Record<string, string> = {
  yyyy: '(?<yyyy>[0-9]{4})',
  MM: '(?<MM>[0-9]{2})',
  dd: '(?<dd>[0-9]{2})',
  HH: '(?<HH>[0-9]{2})',
}

function escapeRegex(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`)
}

/**
 * Compiles a date template such as `{customer}/{yyyy}-{MM}-{dd}/` for one customer into a function
 * that reads a UTC date from the start of a blob name (undefined when the name does not match).
 */
export function compileDateTemplate(template: string, customer: string): (blobName: string) => Date | undefined {
  let source = '^'
  let last = 0
  for (const match of template.matchAll(placeholderPattern)) {
    source += escapeRegex(template.slice(last, match.index))
    const name = match[1]
    source += name === 'customer' ? escapeRegex(customer) : tokenRegex[name]
    last = match.index! + match[0].length
  }

  source += escapeRegex(template.slice(last))
  const regex = new RegExp(source)
  return (blobName) => {
    const groups = regex.exec(blobName)?.groups
    if (!groups?.yyyy) return undefined
    const [year, month, day, hour] = [groups.yyyy, groups.MM ?? '01', groups.dd ?? '01', groups.HH ?? '00'].map(Number)
    const date = new Date(Date.UTC(year, month - 1, day, hour))
    // Date.UTC rolls 2026-02-30 over into March; a path that names no real date has no date.
    const real =
      date.getUTCFullYear() === year &&
      date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day &&
      date.getUTCHours() === hour
    return real ? date : undefined
  }
}
