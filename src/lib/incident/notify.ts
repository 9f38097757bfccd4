/**
 * `incident notify`: renders the notice to one customer, writes it as text and HTML, and records
 * in the audit trail that it was issued (who, when, to whom, the hashes of both renderings).
 * `preview` renders and writes without recording.
 */
import {mkdirSync} from 'node:fs'
import {join, resolve} from 'node:path'

import type {AzureClients} from '../azure/clients.js'
import type {DataMap} from '../datamap/types.js'
import {sha256Hex} from '../evidence/canonical.js'
import {PRIVATE_DIR_MODE, refuseOverwrite, writePrivateFileSync} from '../output/files.js'
import {assertCustomerId} from '../scope.js'
import {clockSettings} from './status.js'
import {IncidentLog} from './log.js'
import {renderNotice, type NoticeLanguage, type RenderedNotice} from './notice.js'

export interface IssueNoticeOptions {
  incident: string
  customer: string
  lang: NoticeLanguage
  templateDir?: string
  /** folder for notice-<incident>-<customer>.<lang>.txt / .html; default the working directory */
  outDir?: string
  /** the flag that named `outDir`, as the operator typed it, for a refusal (default `--output`) */
  outputFlag?: string
  /** render and write, but record nothing */
  preview?: boolean
  /** replace notice files that exist (--force; e.g. after a --preview); otherwise that is refused */
  force?: boolean
  now?: Date
  log?: IncidentLog
}

export interface IssuedNotice extends RenderedNotice {
  files: {text: string; html: string}
  sha256: {text: string; html: string}
  deadline: string
  /** issued after the deadline */
  late: boolean
  /** false for a preview */
  recorded: boolean
  /** seq of the incident.notify record */
  seq?: number
  /** earlier notices of this incident to this customer */
  previousNotices: number
}

export async function issueNotice(
  clients: AzureClients,
  map: DataMap,
  options: IssueNoticeOptions,
): Promise<IssuedNotice> {
  const now = options.now ?? new Date()
  const {timeZone} = clockSettings(map)
  const customer = assertCustomerId(options.customer, map.customers.idPattern)
  const log = options.log ?? new IncidentLog(clients, map)
  const incident = await log.get(options.incident)
  const notice = renderNotice(incident, {
    customer,
    lang: options.lang,
    templateDir: options.templateDir,
    timeZone,
    now,
    defaultContact: map.incident.contact,
  })

  const dir = resolve(options.outDir ?? '.')
  const base = join(dir, `notice-${incident.id}-${customer}.${options.lang}`)
  const files = {text: `${base}.txt`, html: `${base}.html`}
  refuseOverwrite([files.text, files.html], options.outputFlag ?? '--output', options.force)
  mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR_MODE})
  writePrivateFileSync(files.text, notice.text)
  writePrivateFileSync(files.html, notice.html)
  const sha256 = {text: sha256Hex(notice.text), html: sha256Hex(notice.html)}
  const late = now.getTime() > Date.parse(incident.deadline)
  const previousNotices = incident.notices.filter((n) => n.customer === customer).length

  let seq: number | undefined
  if (!options.preview) {
    const template =
      notice.templates.text === 'built-in' && notice.templates.html === 'built-in'
        ? 'built-in'
        : resolve(options.templateDir!)
    const record = await log.recordNotice(
      incident,
      customer,
      {
        lang: options.lang,
        template,
        text: {sha256: sha256.text, bytes: Buffer.byteLength(notice.text)},
        html: {sha256: sha256.html, bytes: Buffer.byteLength(notice.html)},
        deadline: incident.deadline,
        late,
      },
      now,
    )
    seq = record.seq
  }

  return {
    ...notice,
    files,
    sha256,
    deadline: incident.deadline,
    late,
    recorded: !options.preview,
    ...(seq === undefined ? {} : {seq}),
    previousNotices,
  }
}
