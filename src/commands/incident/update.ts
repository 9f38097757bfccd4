import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {timeFlag} from '../../flags.js'
import {color} from '../../lib/output/color.js'
import {incidentStatus, type IncidentStatus} from '../../lib/incident/clock.js'
import {factFlags, factsFromFlags} from '../../lib/incident/flags.js'
import {IncidentLog} from '../../lib/incident/log.js'
import {renderClock} from '../../lib/incident/render.js'
import {clockSettings} from '../../lib/incident/status.js'
import type {Incident} from '../../lib/incident/types.js'

export interface IncidentUpdateResult {
  incident: Incident
  status: IncidentStatus
  /** seq of the incident.update record */
  seq: number
}

export default class IncidentUpdate extends BaseCommand<typeof IncidentUpdate> {
  static override summary =
    'Record what has become known about an incident: affected customers and the facts its notice needs.'
  static override description = `Appends an incident.update record holding only what changed. The notice facts (GDPR Art. 33(3)) hold for every affected customer unless --for names one customer (its own numbers of data subjects and records, say).

Exit codes: 0 recorded, 2 usage or configuration error (unknown incident, nothing to change), 3 the incident is closed, 4 Azure failure.`
  static override examples = [
    '<%= config.bin %> incident update inc-20261024-7f3a9c --nature "Read access to stored documents by a compromised support account" --subject-categories "end users" --data-categories "contact data,contracts" --subjects 120 --records 4000 --config custos.yaml',
    '<%= config.bin %> incident update inc-20261024-7f3a9c --consequences "Disclosure of contract terms to an unknown party" --measures "Account disabled, sessions revoked, keys rotated" --contact "DPO, dpo@contoso.example, +49 30 1234567" --config custos.yaml',
    '<%= config.bin %> incident update inc-20261024-7f3a9c --customer initech --for initech --subjects 12 --records 80 --config custos.yaml',
  ]
  static override args = {id: Args.string({description: 'incident id (inc-YYYYMMDD-xxxxxx)', required: true})}
  static override flags = {
    detected: timeFlag({
      summary:
        'Correct the detection time: ISO 8601 with a zone (Z or +01:00), or relative like -3h (moves the deadline; the change is recorded).',
    }),
    summary: Flags.string({summary: 'Replace the summary.'}),
    customer: Flags.string({summary: 'Add an affected customer (repeatable).', multiple: true}),
    'remove-customer': Flags.string({
      summary: 'Remove a customer found not to be affected (repeatable).',
      multiple: true,
    }),
    for: Flags.string({summary: 'Set the given notice facts for this one customer only.'}),
    ...factFlags,
  }

  public async run(): Promise<IncidentUpdateResult> {
    const map = this.loadMap()
    const settings = clockSettings(map)
    const f = this.flags
    const now = new Date()
    const {incident, record} = await new IncidentLog(this.makeClients(map), map).update(
      this.args.id,
      {
        detectedAt: f.detected,
        summary: f.summary,
        addCustomers: f.customer,
        removeCustomers: f['remove-customer'],
        forCustomer: f.for,
        facts: factsFromFlags(f),
      },
      now,
    )
    const status = incidentStatus(incident, {now, ...settings})
    this.print(
      `${color.bold(`Updated incident ${incident.id}`)} (audit record ${record.seq}); affected: ${incident.customers.join(', ') || 'no customer named yet'}.`,
    )
    this.print(renderClock(status, color))

    return {incident, status, seq: record.seq}
  }
}
