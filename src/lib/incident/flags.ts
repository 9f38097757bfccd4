/**
 * The flags that set an incident's Art. 33(3) facts, shared by `incident open` and `incident
 * update` (declared once; oclif treats every file under src/commands as a command, so they live here).
 */
import {Flags} from '@oclif/core'

import type {IncidentFacts} from './types.js'

export const factFlags = {
  nature: Flags.string({
    summary: 'Nature of the breach: what happened to which data (Art. 33(3)(a)).',
    helpGroup: 'NOTICE FACTS',
  }),
  'data-categories': Flags.string({
    summary: 'Categories of personal data records concerned, comma-separated (e.g. "contact data,invoices").',
    multiple: true,
    delimiter: ',',
    helpGroup: 'NOTICE FACTS',
  }),
  'subject-categories': Flags.string({
    summary: 'Categories of data subjects concerned, comma-separated (e.g. "end users,employees").',
    multiple: true,
    delimiter: ',',
    helpGroup: 'NOTICE FACTS',
  }),
  subjects: Flags.integer({
    summary: 'Approximate number of data subjects concerned.',
    min: 0,
    helpGroup: 'NOTICE FACTS',
  }),
  records: Flags.integer({
    summary: 'Approximate number of personal data records concerned.',
    min: 0,
    helpGroup: 'NOTICE FACTS',
  }),
  consequences: Flags.string({
    summary: 'Likely consequences of the breach (Art. 33(3)(c)).',
    helpGroup: 'NOTICE FACTS',
  }),
  measures: Flags.string({
    summary: 'Measures taken or proposed, including mitigation (Art. 33(3)(d)).',
    helpGroup: 'NOTICE FACTS',
  }),
  contact: Flags.string({
    summary:
      'Contact point for more information, usually the data protection officer (Art. 33(3)(b)); default incident.contact.',
    helpGroup: 'NOTICE FACTS',
  }),
}

type FactFlagValues = {
  nature?: string
  'data-categories'?: string[]
  'subject-categories'?: string[]
  subjects?: number
  records?: number
  consequences?: string
  measures?: string
  contact?: string
}

/** The facts given on the command line (flags not given stay undefined). */
export function factsFromFlags(flags: FactFlagValues): IncidentFacts {
  return {
    nature: flags.nature,
    dataCategories: flags['data-categories'],
    subjectCategories: flags['subject-categories'],
    subjects: flags.subjects,
    records: flags.records,
    consequences: flags.consequences,
    measures: flags.measures,
    contact: flags.contact,
  }
}
