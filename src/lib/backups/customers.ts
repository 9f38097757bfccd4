/**
 * Reading customer ids back out of names, so that one listing of a shared backup container (or one
 * listing of the account's containers) finds every customer, instead of one listing per customer.
 */
import {assertCustomerId} from '../scope.js'

export interface CustomerTemplate {
  /** the literal text before the first `{customer}`: the listing prefix that covers every customer */
  staticPrefix: string
  /** the customer id a name belongs to, or undefined when the name does not fit the template */
  customerOf(name: string): string | undefined
}

function escapeRegex(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`)
}

/**
 * Compiles a `prefix` (e.g. `{customer}/`, `backups/{customer}/db/`) or a `container` template
 * (`backup-{customer}`). `whole`: the name must match the template entirely (container names);
 * otherwise the template must match the start of the name (blob names).
 */
export function customerTemplate(template: string, options: {whole?: boolean} = {}): CustomerTemplate {
  const first = template.indexOf('{customer}')
  if (first === -1) throw new Error(`template "${template}" has no {customer}`)
  const parts = template.split('{customer}')
  // Ids never contain "/" (assertCustomerId), so a customer segment never crosses a folder boundary.
  const source = parts
    .map(escapeRegex)
    .reduce(
      (acc, part, i) => (i === 0 ? part : `${acc}${i === 1 ? '(?<customer>[^/]+)' : String.raw`\k<customer>`}${part}`),
      '',
    )
  const regex = new RegExp(`^${source}${options.whole ? '$' : ''}`)
  return {
    staticPrefix: template.slice(0, first),
    customerOf(name) {
      return regex.exec(name)?.groups?.customer
    },
  }
}

/**
 * Remembers which ids are acceptable customer ids (customers.idPattern and the safety rules), so
 * that names streaming by in customer order are validated once per customer, not once per blob.
 */
export class CustomerIdFilter {
  private lastId?: string
  private lastOk = false

  constructor(private readonly idPattern: string) {}

  accepts(id: string): boolean {
    if (id === this.lastId) return this.lastOk
    this.lastId = id
    try {
      assertCustomerId(id, this.idPattern)
      this.lastOk = true
    } catch {
      this.lastOk = false
    }

    return this.lastOk
  }
}
