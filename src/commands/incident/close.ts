import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {color} from '../../lib/output/color.js'
import {IncidentLog} from '../../lib/incident/log.js'
import type {Incident} from '../../lib/incident/types.js'

export interface IncidentCloseResult {
  incident: Incident
  /** seq of the incident.close record */
  seq: number
  /** affected customers never notified (only with --allow-unnotified) */
  unnotified: string[]
}

export default class IncidentClose extends BaseCommand<typeof IncidentClose> {
  static override summary = 'Close an incident with its resolution.'
  static override description = `Appends incident.close. Refused while an affected customer has not been notified, unless --allow-unnotified (the record then names those customers).

Exit codes: 0 closed, 2 unknown incident or usage error, 3 refused (customers not notified, or already closed), 4 Azure failure.`
  static override examples = [
    '<%= config.bin %> incident close inc-20261024-7f3a9c --resolution "Account removed, all keys rotated, no further access found in 30 days of logs" --config custos.yaml',
    '<%= config.bin %> incident close inc-20261024-7f3a9c --resolution "No personal data was concerned after all" --allow-unnotified --config custos.yaml --json',
  ]
  static override args = {id: Args.string({description: 'incident id (inc-YYYYMMDD-xxxxxx)', required: true})}
  static override flags = {
    resolution: Flags.string({summary: 'How the incident was resolved.', required: true}),
    'allow-unnotified': Flags.boolean({
      summary: 'Close although some affected customers were not notified (say why in --resolution).',
    }),
  }

  public async run(): Promise<IncidentCloseResult> {
    const map = this.loadMap()
    const notified = (i: Incident) => new Set(i.notices.map((n) => n.customer))
    const {incident, record} = await new IncidentLog(this.makeClients(map), map).close(this.args.id, {
      resolution: this.flags.resolution,
      allowUnnotified: this.flags['allow-unnotified'],
    })
    const unnotified = incident.customers.filter((c) => !notified(incident).has(c))
    this.print(`${color.bold(`Closed incident ${incident.id}`)} (audit record ${record.seq}).`)
    if (unnotified.length > 0) this.print(color.yellow(`Closed without a notice to: ${unnotified.join(', ')}.`))

    return {incident, seq: record.seq, unnotified}
  }
}
