import {BaseCommand} from '../../base-command.js'
import {customerArg} from '../../flags.js'
import {inventoryCustomer, type CustomerInventory} from '../../lib/inventory/inventory.js'
import {color} from '../../lib/output/color.js'
import {formatBytes, formatCount} from '../../lib/output/table.js'

export type CustomerInventoryResult = CustomerInventory

export default class CustomerInventoryCommand extends BaseCommand<typeof CustomerInventoryCommand> {
  static override summary =
    "Count a customer's data per store and backup set (blobs, bytes, snapshots, versions, soft-deleted items, holds), per database table (rows, approximate bytes), and its key."
  static override examples = [
    '<%= config.bin %> customer inventory acme --config custos.yaml',
    '<%= config.bin %> customer inventory acme --config custos.yaml --json',
  ]
  static override args = {
    customer: customerArg,
  }

  public async run(): Promise<CustomerInventoryResult> {
    const map = this.loadMap()
    const progress = this.progress({label: `Listing ${this.args.customer}`, unit: 'items'})
    const inventory = await inventoryCustomer(this.makeClients(map), map, this.args.customer, {
      abortSignal: this.abortSignal,
      onObject: () => progress.increment(1, 1),
    })
    progress.stop()
    this.render(inventory)
    return inventory
  }

  private render(inv: CustomerInventory): void {
    const rows = inv.stores.map((s) => [
      s.kind === 'backup' ? `${s.store} (backup)` : s.store,
      s.scope,
      s.exists ? formatCount(s.blobs) : color.dim('no container'),
      formatBytes(s.bytes),
      formatCount(s.snapshots),
      formatCount(s.versions),
      formatCount(s.softDeleted),
      s.legalHolds + s.immutable > 0 ? color.yellow(`${s.legalHolds} hold / ${s.immutable} immutable`) : '0',
    ])
    this.table(['store', 'scope', 'blobs', 'bytes', 'snapshots', 'versions', 'soft-deleted', 'holds'], rows, {
      title: color.bold(`Inventory of customer ${inv.customer}`),
    })
    for (const d of inv.databases) {
      this.table(
        ['table', 'rows', 'bytes (approx.)'],
        d.tables.map((t) => [t.table, formatCount(t.rows), formatBytes(t.bytes)]),
        {
          title: color.bold(
            `Database ${d.store}: ${d.database}${'schema' in d && d.schema ? `, schema ${d.schema}` : ''}`,
          ),
        },
      )
    }

    const k = inv.key
    const keyText =
      k.state === 'not-configured'
        ? 'no customer key configured'
        : `${k.name}: ${k.state}${k.scheduledPurgeDate ? ` (purged on ${k.scheduledPurgeDate})` : ''}${k.detail ? ` — ${k.detail}` : ''}`
    this.print(`Customer key: ${keyText}`)
    this.print(
      `Total: ${formatCount(inv.totals.objects)} objects, ${formatBytes(inv.totals.bytes)}` +
        (inv.databases.length > 0
          ? `; ${formatCount(inv.totals.rows)} rows, about ${formatBytes(inv.totals.rowBytes)}`
          : ''),
    )
  }
}
