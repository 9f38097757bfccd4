/**
 * The demo's Table storage store: Azurite's table service with a `settings` table in which each
 * demo customer keeps its settings in a partition of its own (`partitionKey: "{customer}"`) —
 * `acme-corp`'s partition sits right beside `acme`'s and must survive acme's erase.
 */
import {TableClient, type TableEntity} from '@azure/data-tables'

import type {TableDatabaseConfig} from '../stores/table/types.js'
import {startAzuriteTable, type AzuriteTableInstance} from './azurite.js'
import {DEMO_TENANTS} from './demo-postgres.js'

export interface DemoTables {
  azurite: AzuriteTableInstance
  /** the data map entry of the `settings` store */
  config: TableDatabaseConfig
  /** entities per customer */
  perCustomer: number
  stop(): Promise<void>
}

/** Starts Azurite's table service on loopback and fills the `settings` table (one transaction per customer). */
export async function startDemoTables(options: {perCustomer?: number} = {}): Promise<DemoTables> {
  const azurite = await startAzuriteTable()
  const perCustomer = options.perCustomer ?? 12
  try {
    const account = azurite.connectionString()
    const settings = TableClient.fromConnectionString(account, 'settings', {allowInsecureConnection: true})
    await settings.createTable()
    for (const [n, customer] of DEMO_TENANTS.entries()) {
      const entities: Array<TableEntity<Record<string, unknown>>> = Array.from({length: perCustomer}, (_, i) => ({
        partitionKey: customer,
        rowKey: `setting-${String(i).padStart(3, '0')}`,
        value: `${customer} option ${i}`,
        quotaBytes: {value: String(2 ** 34 * (n + 1) + i), type: 'Int64'},
        enabled: i % 2 === 0,
      }))
      await settings.submitTransaction(entities.map((e) => ['create', e] as const))
    }

    return {
      azurite,
      config: {name: 'settings', engine: 'table', account, table: 'settings', partitionKey: '{customer}'},
      perCustomer,
      stop: () => azurite.stop(),
    }
  } catch (error) {
    await azurite.stop()
    throw error
  }
}
