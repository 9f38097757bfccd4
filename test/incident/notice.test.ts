import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CustosError} from '../../src/lib/errors.js'
import {loadTemplates, renderNotice, REQUIRED_ITEMS} from '../../src/lib/incident/notice.js'
import {escapeHtml} from '../../src/lib/output/html.js'
import {COMPLETE_FACTS, incidentOf} from './helpers.js'

const NOW = new Date('2026-10-25T08:30:00Z')
const options = {customer: 'acme', timeZone: 'Europe/Berlin', now: NOW}

/** What each language must show for every Art. 33(3) item: the heading and the value. */
const EXPECTED = {
  en: {
    headings: [
      'Nature of the personal data breach (Art. 33(3)(a) GDPR)',
      'Categories of data subjects concerned',
      'Approximate number of data subjects concerned: 120',
      'Categories of personal data records concerned',
      'Approximate number of personal data records concerned: 4,000',
      'Contact point for more information (Art. 33(3)(b) GDPR)',
      'Likely consequences of the personal data breach (Art. 33(3)(c) GDPR)',
      'Measures taken or proposed',
    ],
    detected: '24 October 2026 at 12:00 CEST',
  },
  de: {
    headings: [
      'Art der Verletzung des Schutzes personenbezogener Daten (Art. 33 Abs. 3 lit. a DSGVO)',
      'Kategorien der betroffenen Personen',
      'Ungefähre Zahl der betroffenen Personen: 120',
      'Kategorien der betroffenen personenbezogenen Datensätze',
      'Ungefähre Zahl der betroffenen personenbezogenen Datensätze: 4.000',
      'Anlaufstelle für weitere Informationen (Art. 33 Abs. 3 lit. b DSGVO)',
      'Wahrscheinliche Folgen der Verletzung (Art. 33 Abs. 3 lit. c DSGVO)',
      'Ergriffene oder vorgeschlagene Maßnahmen',
    ],
    detected: '24. Oktober 2026 um 12:00 MESZ',
  },
} as const

describe('incident notice (GDPR Art. 33(3))', () => {
  const incident = incidentOf('2026-10-24T10:00:00.000Z', ['acme', 'globex'], {facts: COMPLETE_FACTS})

  for (const lang of ['en', 'de'] as const) {
    it(`in ${lang === 'en' ? 'English' : 'German'} states every Art. 33(3) item, as text and as HTML`, () => {
      const notice = renderNotice(incident, {...options, lang})
      const values = [
        COMPLETE_FACTS.nature!,
        'end users, employees',
        'contact data, contracts',
        COMPLETE_FACTS.consequences!,
        COMPLETE_FACTS.measures!,
        COMPLETE_FACTS.contact!,
        incident.id,
        'acme',
        incident.summary,
      ]
      for (const text of [...EXPECTED[lang].headings, ...values, EXPECTED[lang].detected, '2026-10-24 10:00 UTC']) {
        assert.ok(notice.text.includes(text), `${lang} text lacks ${JSON.stringify(text)}`)
      }

      for (const text of [...values, EXPECTED[lang].detected])
        assert.ok(notice.html.includes(escapeHtml(text)), `${lang} HTML lacks ${JSON.stringify(text)}`)
      assert.doesNotMatch(notice.text + notice.html, /\{\{/, 'every placeholder is filled')
      assert.match(notice.html, new RegExp(`<html lang="${lang}">`))
    })
  }

  it('refuses to render with required items empty, naming each (exit 2)', () => {
    const partial = incidentOf('2026-10-24T10:00:00.000Z', ['acme'], {
      facts: {nature: 'read access', subjects: 0, dataCategories: ['contact data'], measures: '  '},
    })
    assert.throws(
      () => renderNotice(partial, {...options, lang: 'en'}),
      (e: unknown) => {
        assert.ok(e instanceof CustosError)
        assert.equal(e.exitCode, 2)
        assert.match(e.message, /subjectCategories, records, contact, consequences, measures are empty/)
        assert.deepEqual(
          e.details.map((d) => d.split(':')[0]),
          ['subjectCategories', 'records', 'contact', 'consequences', 'measures'],
        )
        assert.match(
          e.details.join('\n'),
          /--subject-categories.*\n.*--records.*\n.*--contact.*\n.*--consequences.*\n.*--measures/,
        )
        return true
      },
    )
  })

  it('takes the contact point from the data map when the incident sets none', () => {
    const noContact = incidentOf('2026-10-24T10:00:00.000Z', ['acme'], {facts: {...COMPLETE_FACTS, contact: undefined}})
    const notice = renderNotice(noContact, {...options, lang: 'en', defaultContact: 'DPO <dpo@contoso.example>'})
    assert.ok(notice.text.includes('DPO <dpo@contoso.example>'))
    assert.ok(notice.html.includes('DPO &lt;dpo@contoso.example&gt;'))
  })

  it('refuses a notice to a customer the incident does not affect', () => {
    assert.throws(
      () => renderNotice(incident, {...options, customer: 'initech', lang: 'en'}),
      /Customer initech is not affected by incident inc-20261024-abcdef/,
    )
  })

  it('uses an operator template, HTML-escaping every value in the HTML one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-notice-'))
    const all = REQUIRED_ITEMS.map((r) => `{{${r.fact}}}`).join('\n')
    writeFileSync(join(dir, 'notice.en.txt'), `Hello {{customer}}\n${all}\n`)
    writeFileSync(join(dir, 'notice.en.html'), `<p>{{ summary }}</p><p>${all}</p>`)
    const evil = incidentOf('2026-10-24T10:00:00.000Z', ['acme'], {
      facts: {...COMPLETE_FACTS, nature: '<script>alert("x")</script> & more\nsecond line'},
    })
    const notice = renderNotice(evil, {...options, lang: 'en', templateDir: dir})
    assert.ok(notice.text.startsWith('Hello acme\n<script>alert("x")</script> & more\nsecond line'))
    assert.ok(notice.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more<br>\nsecond line'))
    assert.doesNotMatch(notice.html, /<script>/)
    assert.deepEqual(notice.templates, {text: join(dir, 'notice.en.txt'), html: join(dir, 'notice.en.html')})
  })

  it('refuses an operator template that leaves out an Art. 33(3) item or uses an unknown placeholder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-notice-'))
    writeFileSync(
      join(dir, 'notice.de.txt'),
      'Hallo {{customer}}, {{nature}} {{subjects}} {{records}} {{dataCategories}} {{subjectCategories}} {{consequences}} {{measures}} {{kunde}}',
    )
    assert.throws(
      () => loadTemplates('de', dir),
      (e: unknown) =>
        e instanceof CustosError &&
        e.exitCode === 2 &&
        e.details.some((d) => d.startsWith('{{kunde}} is not a placeholder')) &&
        e.details.some((d) => d.startsWith('{{contact}} is missing')),
    )
    assert.throws(() => loadTemplates('en', dir), /holds neither notice\.en\.txt nor notice\.en\.html/)
  })

  it('keeps the built-in templates complete', () => {
    for (const lang of ['de', 'en'] as const) {
      const t = loadTemplates(lang)
      for (const r of REQUIRED_ITEMS) {
        assert.ok(t.text.body.includes(`{{${r.fact}}}`), `${lang} text lacks ${r.fact}`)
        assert.ok(t.html.body.includes(`{{${r.fact}}}`), `${lang} html lacks ${r.fact}`)
      }
    }
  })
})
