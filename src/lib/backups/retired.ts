/**
 * Customers custos has erased: a trusted, succeeded `erase.apply` (or `customer.erase`) record in
 * the audit trail. `backups verify` reports them as `retired` instead of failing them for having no
 * backups, which is what erasing them promised.
 */
import type {AzureClients} from '../azure/clients.js'
import {AuditTrail, type AuditRecord} from '../audit/trail.js'
import {CustosError, isAbortError} from '../errors.js'

export interface ErasedCustomer {
  customer: string
  /** when the erase finished (the succeeded record's time) */
  erasedAt: Date
  /** the certificate file the erase wrote, as its record names it */
  certificate?: string
  /**
   * The residual dates the certificate states, by database store name, when the erase record
   * carries them (`details.residuals[{store, until}]`); otherwise they are recomputed.
   */
  residualUntil?: Map<string, string>
}

const ERASE_ACTIONS = new Set(['erase.apply', 'customer.erase'])

/** Whether `record` says custos erased a customer successfully. */
function isEraseSucceeded(record: AuditRecord): boolean {
  return ERASE_ACTIONS.has(record.action) && record.result === 'succeeded' && typeof record.customer === 'string'
}

/**
 * The customers erased by custos, by id (the latest erase of each). A trail that cannot be read gives
 * an empty map and the reason, so that the checks still run (and say why no customer is retired).
 */
export async function erasedCustomers(
  clients: AzureClients,
): Promise<{erased: Map<string, ErasedCustomer>; problem?: string}> {
  const erased = new Map<string, ErasedCustomer>()
  const trail = new AuditTrail(clients, {signer: null})
  try {
    for (const record of await trail.findAll(isEraseSucceeded)) {
      const erasedAt = new Date(record.time)
      if (Number.isNaN(erasedAt.getTime())) continue
      const details = record.details as {certificate?: unknown; residuals?: unknown} | undefined
      const certificate = details?.certificate
      const residualUntil = new Map<string, string>()
      for (const r of Array.isArray(details?.residuals) ? details.residuals : []) {
        const {store, until} = (r ?? {}) as {store?: unknown; until?: unknown}
        if (typeof store === 'string' && typeof until === 'string' && !Number.isNaN(Date.parse(until)))
          residualUntil.set(store, until)
      }

      erased.set(record.customer!, {
        customer: record.customer!,
        erasedAt,
        ...(typeof certificate === 'string' ? {certificate} : {}),
        ...(residualUntil.size > 0 ? {residualUntil} : {}),
      })
    }

    return {erased}
  } catch (error) {
    if (isAbortError(error)) throw error
    if ((error as {statusCode?: number}).statusCode === 404) return {erased}
    if (!(error instanceof CustosError) && (error as {statusCode?: number}).statusCode === undefined) throw error
    return {
      erased,
      problem: `the audit trail (${trail.location}) could not be read, so erased customers cannot be told apart: ${(error as Error).message}`,
    }
  }
}
