import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {timeFlag} from '../../flags.js'
import {color} from '../../lib/output/color.js'
import {incidentStatus, type IncidentStatus} from '../../lib/incident/clock.js'
import {factFlags, factsFromFlags} from '../../lib/incident/flags.js'
import {IncidentLog} from '../../lib/incident/log.js'
import {renderClock} from '../../lib/incident/render.js'
import {clockSettings} from '../../lib/incident/status.js'
import type {Incident} from '../../lib/incident/types.js'

export interface IncidentOpenResult {
  incident: Incident
  status: IncidentStatus
  /** seq of the incident.open record in the audit trail */
  seq: number
}

export default class IncidentOpen extends BaseCommand<typeof IncidentOpen> {
  static override summary = 'Record a security incident in the audit trail and start its 72-hour notification clock.'
  static override description = `The incident is an incident.open record in custos's audit trail (no local state); it prints the notification deadline — detection + 72 hours — in UTC and in incident.timeZone. The facts a notice needs (GDPR Art. 33(3)) can be given now or later with incident update.

Exit codes: 0 recorded, 2 usage or configuration error, 4 Azure failure.`
  static override examples = [
    '<%= config.bin %> incident open --detected 2026-10-24T10:00:00Z --summary "Support account signed in from an unknown IP and read customer documents" --customer acme --customer globex --config custos.yaml',
    '<%= config.bin %> incident open --detected -3h --summary "Misconfigured share link on the exports container" --customer acme --data-categories "contact data,invoices" --config custos.yaml --json',
  ]
  static override flags = {
    detected: timeFlag({
      summary:
        'When the incident was detected: ISO 8601 with a zone (Z or +01:00; a time without one is refused), or relative like -3h; the 72 hours run from here.',
      required: true,
    }),
    summary: Flags.string({summary: 'What happened, in one or two sentences.', required: true}),
    customer: Flags.string({summary: 'An affected customer (repeat the flag for each).', multiple: true}),
    ...factFlags,
  }

  public async run(): Promise<IncidentOpenResult> {
    const map = this.loadMap()
    const settings = clockSettings(map)
    const log = new IncidentLog(this.makeClients(map), map)
    const now = new Date()
    const {incident, record} = await log.open(
      {
        detectedAt: this.flags.detected,
        summary: this.flags.summary,
        customers: this.flags.customer,
        facts: factsFromFlags(this.flags),
      },
      now,
    )
    const status = incidentStatus(incident, {now, ...settings})
    this.print(
      `${color.bold(`Opened incident ${incident.id}`)} (audit record ${record.seq}) affecting ${incident.customers.join(', ') || color.yellow('no customer named yet')}.`,
    )
    this.print(renderClock(status, color))

    return {incident, status, seq: record.seq}
  }
}
