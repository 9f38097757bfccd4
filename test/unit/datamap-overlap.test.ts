import assert from 'node:assert/strict'

import {compileIdLanguage} from '../../src/lib/datamap/id-language.js'

const DEFAULT_PATTERN = '^[a-z0-9][a-z0-9-]{1,55}$'

describe('data map: the id language of customers.idPattern', () => {
  const accepts = (language: ReturnType<typeof compileIdLanguage>, id: string) => {
    let states = language.start
    for (const c of id) states = language.step(states, c)
    return language.accepts(states)
  }

  const patterns = [
    DEFAULT_PATTERN,
    '^c[0-9]{6}$',
    '^[a-z]+-[0-9]+$',
    '^(acme|globex)(-[a-z]+)?$',
    '[a-z]{3}',
    '^a|b$',
    '^[^a-c]{2,4}$',
    String.raw`^\d+\.\w*$`,
    '^(?:ab)*$',
    String.raw`^[\d-x]+$`,
    '^x{2,}?y?$',
    '^(?<first>a)b$',
    '^[A-Z_.]{1,3}$',
  ]
  const samples = [
    '',
    'a',
    'ab',
    'acme',
    'acme-corp',
    'Acme',
    'c123456',
    'c12345',
    'x-1',
    'ab-',
    '1.x',
    '1.',
    '12',
    'abab',
    'xxy',
    'xx',
    'b',
    'AB_',
    'globex-eu',
    'dd',
    '-',
    '9-x',
  ]

  for (const pattern of patterns) {
    it(`analyses ${pattern} and agrees with the regular expression`, () => {
      const language = compileIdLanguage(pattern)
      assert.equal(language.analysed, true)
      const regex = new RegExp(pattern)
      for (const id of samples) assert.equal(accepts(language, id), regex.test(id), `${pattern} on "${id}"`)
    })
  }

  it('reads a set of characters at once (a position not chosen yet)', () => {
    const language = compileIdLanguage(DEFAULT_PATTERN)
    const any = (n: number) => {
      let states = language.start
      for (let k = 0; k < n; k++) states = language.step(states, 'a-')
      return language.accepts(states)
    }

    assert.deepEqual([1, 2, 56, 57].map(any), [false, true, true, false])
    assert.equal(language.step(language.start, '-').length, 0, 'no id starts with "-"')
  })

  it('falls back to the fixed rules for look-arounds and back-references', () => {
    for (const pattern of ['^(?!custos)[a-z]+$', String.raw`^(a)\1$`, String.raw`^a\b`])
      assert.equal(compileIdLanguage(pattern).analysed, false, pattern)
  })
})
