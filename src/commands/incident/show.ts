import {Args} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {durationFlag} from '../../flags.js'
import {color} from '../../lib/output/color.js'
import {incidentStatus, needsAttention, type IncidentStatus} from '../../lib/incident/clock.js'
import {IncidentLog} from '../../lib/incident/log.js'
import {renderIncident} from '../../lib/incident/render.js'
import {clockSettings} from '../../lib/incident/status.js'
import type {Incident} from '../../lib/incident/types.js'
import {ExitCode} from '../../lib/errors.js'

export interface IncidentShowResult {
  incident: Incident
  status: IncidentStatus
}

export default class IncidentShow extends BaseCommand<typeof IncidentShow> {
  static override summary =
    'Show one incident: its clock per affected customer, the notice facts, notices, evidence and audit records.'
  static override description = `Exit codes: 0 shown (and not close to its deadline), 1 the incident is open and overdue or due within the warning window, 2 unknown incident or configuration error, 4 Azure failure.`
  static override examples = [
    '<%= config.bin %> incident show inc-20261024-7f3a9c --config custos.yaml',
    '<%= config.bin %> incident show inc-20261024-7f3a9c --json --config custos.yaml',
  ]
  static override args = {id: Args.string({description: 'incident id (inc-YYYYMMDD-xxxxxx)', required: true})}
  static override flags = {
    'warn-within': durationFlag({summary: 'Warn when the deadline is this close (default incident.warnWithin, 12h).'}),
  }

  public async run(): Promise<IncidentShowResult> {
    const map = this.loadMap()
    const settings = clockSettings(map, this.flags['warn-within'])
    const incident = await new IncidentLog(this.makeClients(map), map).get(this.args.id)
    const status = incidentStatus(incident, {now: new Date(), ...settings})
    this.print(renderIncident(incident, status, color, map.incident.contact))
    if (needsAttention(status)) this.setExitCode(ExitCode.findings)
    return {incident, status}
  }
}
