/**
 * The notice to a customer: every item GDPR Art. 33(3) asks for, as text and as HTML, from a
 * built-in template (de, en) or the operator's (`--template DIR` with `notice.<lang>.txt` and/or
 * `notice.<lang>.html`). Substitution is `{{name}}` only — no logic in templates — and every value
 * is HTML-escaped in the HTML one. A notice with a required item empty is refused (exit 2) with
 * each missing item named, and so is a template that leaves one out.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {usageError} from '../errors.js'
import {escapeHtml} from '../output/html.js'
import {factsFor} from './fold.js'
import {factFlag} from './log.js'
import * as de from './templates/notice-de.js'
import * as en from './templates/notice-en.js'
import type {FactName, Incident, IncidentFacts} from './types.js'

export const NOTICE_LANGUAGES = ['de', 'en'] as const
export type NoticeLanguage = (typeof NOTICE_LANGUAGES)[number]

const BUILT_IN: Record<NoticeLanguage, {text: string; html: string}> = {de, en}
const LOCALE: Record<NoticeLanguage, string> = {de: 'de-DE', en: 'en-GB'}

/** The Art. 33(3) items a notice must carry, with where the regulation asks for them. */
export const REQUIRED_ITEMS: ReadonlyArray<{fact: FactName; item: string; article: string}> = [
  {fact: 'nature', item: 'nature of the breach', article: 'Art. 33(3)(a)'},
  {fact: 'subjectCategories', item: 'categories of data subjects', article: 'Art. 33(3)(a)'},
  {fact: 'subjects', item: 'approximate number of data subjects', article: 'Art. 33(3)(a)'},
  {fact: 'dataCategories', item: 'categories of personal data records', article: 'Art. 33(3)(a)'},
  {fact: 'records', item: 'approximate number of personal data records', article: 'Art. 33(3)(a)'},
  {fact: 'contact', item: 'contact point (data protection officer)', article: 'Art. 33(3)(b)'},
  {fact: 'consequences', item: 'likely consequences', article: 'Art. 33(3)(c)'},
  {fact: 'measures', item: 'measures taken or proposed', article: 'Art. 33(3)(d)'},
]

/** Every placeholder a template may use. */
const PLACEHOLDERS = [
  'incident',
  'customer',
  'summary',
  ...REQUIRED_ITEMS.map((r) => r.fact),
  'detectedAt',
  'detectedAtUtc',
  'deadline',
  'deadlineUtc',
  'issuedAt',
  'issuedAtUtc',
  'timeZone',
] as const

export interface NoticeTemplates {
  text: {source: string; body: string}
  html: {source: string; body: string}
}

export interface RenderedNotice {
  incident: string
  customer: string
  lang: NoticeLanguage
  text: string
  html: string
  /** `built-in`, or the file each part came from */
  templates: {text: string; html: string}
  /** the facts the notice was rendered from */
  facts: IncidentFacts
}

export interface RenderNoticeOptions {
  customer: string
  lang: NoticeLanguage
  /** folder with notice.<lang>.txt / notice.<lang>.html */
  templateDir?: string
  timeZone: string
  /** when the notice is issued */
  now: Date
  /** a contact point to use when the incident names none (data map incident.contact) */
  defaultContact?: string
}

/** Which required items are empty for `customer` (customer facts over incident facts over the default contact). */
export function missingItems(facts: IncidentFacts): (typeof REQUIRED_ITEMS)[number][] {
  return REQUIRED_ITEMS.filter(({fact}) => {
    const value = facts[fact]
    if (value === undefined || value === null) return true
    if (typeof value === 'string') return value.trim() === ''
    if (Array.isArray(value)) return value.length === 0
    return false
  })
}

/** Reads the templates for `lang`: the operator's where present, else the built-in one. */
export function loadTemplates(lang: NoticeLanguage, templateDir?: string): NoticeTemplates {
  const builtIn = BUILT_IN[lang]
  if (!templateDir)
    return {text: {source: 'built-in', body: builtIn.text}, html: {source: 'built-in', body: builtIn.html}}
  const dir = resolve(templateDir)
  const textPath = join(dir, `notice.${lang}.txt`)
  const htmlPath = join(dir, `notice.${lang}.html`)
  if (!existsSync(textPath) && !existsSync(htmlPath)) {
    throw usageError(
      `The template folder ${dir} holds neither notice.${lang}.txt nor notice.${lang}.html.`,
      `Add one or both (placeholders: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}), or leave --template out for the built-in notice.`,
    )
  }

  const read = (path: string, fallback: string) =>
    existsSync(path) ? {source: path, body: readFileSync(path, 'utf8')} : {source: 'built-in', body: fallback}
  const templates = {text: read(textPath, builtIn.text), html: read(htmlPath, builtIn.html)}
  for (const part of [templates.text, templates.html]) checkTemplate(part.source, part.body)
  return templates
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g

/** A template may use only known placeholders and must use every Art. 33(3) item. */
function checkTemplate(source: string, body: string): void {
  const used = new Set([...body.matchAll(PLACEHOLDER)].map((m) => m[1]))
  const unknown = [...used].filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p))
  const absent = REQUIRED_ITEMS.filter((r) => !used.has(r.fact))
  const details = [
    ...unknown.map((p) => `{{${p}}} is not a placeholder custos knows`),
    ...absent.map((r) => `{{${r.fact}}} is missing: the notice must state the ${r.item} (${r.article} GDPR)`),
  ]
  if (details.length > 0) {
    throw usageError(
      `The notice template ${source} cannot be used: ${details.length} problem${details.length === 1 ? '' : 's'}.`,
      `Known placeholders: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}.`,
      details,
    )
  }
}

/** Substitutes `{{name}}` with `values[name]`; in HTML every value is escaped and its line breaks become <br>. */
function substitute(template: string, values: Record<string, string>, html: boolean): string {
  return template.replaceAll(PLACEHOLDER, (_match, name: string) => {
    const value = values[name] ?? ''
    return html ? escapeHtml(value).replaceAll(/\r?\n/g, '<br>\n') : value
  })
}

function formatTime(instant: string | Date, lang: NoticeLanguage, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALE[lang], {
    timeZone,
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(instant))
}

function formatUtc(instant: string | Date): string {
  return `${new Date(instant).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/**
 * Renders the notice of `incident` to `options.customer`. Throws a usage error (exit 2) naming
 * every empty Art. 33(3) item, the customer if it is not affected, and template problems.
 */
export function renderNotice(incident: Incident, options: RenderNoticeOptions): RenderedNotice {
  const {customer, lang} = options
  if (!incident.customers.includes(customer)) {
    throw usageError(
      `Customer ${customer} is not affected by incident ${incident.id}.`,
      `Affected: ${incident.customers.join(', ') || 'none yet'}. Add it with: custos incident update ${incident.id} --customer ${customer}`,
    )
  }

  const facts = factsFor(incident, customer)
  if (!facts.contact?.trim() && options.defaultContact) facts.contact = options.defaultContact
  const missing = missingItems(facts)
  if (missing.length > 0) {
    throw usageError(
      `The notice of incident ${incident.id} to ${customer} cannot be rendered: ${missing.map((m) => m.fact).join(', ')} ${missing.length === 1 ? 'is' : 'are'} empty.`,
      `Set ${missing.length === 1 ? 'it' : 'them'} with: custos incident update ${incident.id} ${missing.map((m) => `${factFlag(m.fact)} …`).join(' ')}`,
      missing.map((m) => `${m.fact}: the ${m.item} (${m.article} GDPR) — set with ${factFlag(m.fact)}`),
    )
  }

  const templates = loadTemplates(lang, options.templateDir)
  const number = (n: number | undefined) => (n ?? 0).toLocaleString(LOCALE[lang])
  const values: Record<string, string> = {
    incident: incident.id,
    customer,
    summary: incident.summary,
    nature: facts.nature!,
    subjectCategories: facts.subjectCategories!.join(', '),
    subjects: number(facts.subjects),
    dataCategories: facts.dataCategories!.join(', '),
    records: number(facts.records),
    contact: facts.contact!,
    consequences: facts.consequences!,
    measures: facts.measures!,
    detectedAt: formatTime(incident.detectedAt, lang, options.timeZone),
    detectedAtUtc: formatUtc(incident.detectedAt),
    deadline: formatTime(incident.deadline, lang, options.timeZone),
    deadlineUtc: formatUtc(incident.deadline),
    issuedAt: formatTime(options.now, lang, options.timeZone),
    issuedAtUtc: formatUtc(options.now),
    timeZone: options.timeZone,
  }
  return {
    incident: incident.id,
    customer,
    lang,
    text: substitute(templates.text.body, values, false),
    html: substitute(templates.html.body, values, true),
    templates: {text: templates.text.source, html: templates.html.source},
    facts,
  }
}
