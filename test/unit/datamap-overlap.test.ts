import assert from 'node:assert/strict'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {compileIdLanguage} from '../../src/lib/datamap/id-language.js'
import {validateDataMap} from '../../src/lib/datamap/load.js'
import {findScopeOverlaps, type ScopeTemplate} from '../../src/lib/datamap/overlap.js'
import {CustosError, ExitCode} from '../../src/lib/errors.js'
import {assertCustomerId, isInScope, scopeOf} from '../../src/lib/scope.js'
import {runCli} from '../support/cli.js'

const DEFAULT_PATTERN = '^[a-z0-9][a-z0-9-]{1,55}$'
const prod = 'https://contosoprod.blob.core.windows.net'
const audit = 'https://contosoaudit.blob.core.windows.net'

function store(name: string, container: string, prefix?: string, account = prod) {
  return {name, account, container, ...(prefix === undefined ? {} : {prefix})}
}

function backup(name: string, container: string, prefix: string, account = prod) {
  return {...store(name, container, prefix, account), expect: {every: '24h', maxAge: '26h', keepDays: 30}}
}

/** The problem lines of a refused map, or [] when it validates. */
function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    validateDataMap(structuredClone(raw), '/tmp/custos.yaml')
    return []
  } catch (error) {
    assert.ok(error instanceof CustosError, String(error))
    assert.equal(error.exitCode, ExitCode.usage)
    return error.details
  }
}

/** A connection string in the form the local environment writes (the demo map's accounts). */
const local = (name: string) =>
  `DefaultEndpointsProtocol=http;AccountName=${name};AccountKey=${Buffer.from(name).toString('base64')};BlobEndpoint=http://127.0.0.1:10000/${name};`

/** The data map of `custos demo` (src/lib/local/environment.ts), without the local server's endpoints. */
const demoMap = {
  customers: {idPattern: DEFAULT_PATTERN, known: ['acme', 'acme-corp', 'globex', 'initech']},
  stores: [
    store('documents', 'tenant-{customer}', undefined, local('contosoprod')),
    store('attachments', 'attachments', '{customer}/', local('contosoprod')),
  ],
  backups: [
    {
      ...backup('nightly-db', 'backups', '{customer}/', local('contosobackup')),
      dateFrom: '{customer}/{yyyy}-{MM}-{dd}/',
    },
  ],
  keys: {vault: 'https://127.0.0.1:8443', customerKey: 'tenant-{customer}', signingKey: 'custos-evidence'},
  logs: {
    archive: {
      account: local('contosologs'),
      containers: ['insights-logs-signinlogs', 'insights-logs-storageread', 'insights-activity-logs'],
    },
  },
  exports: {account: local('contosoexport'), container: 'exports', linkExpiry: '7d'},
  audit: {account: local('contosoaudit'), container: 'custos-audit'},
}

interface RefusedCase {
  title: string
  map: Record<string, unknown>
  /** each must match one problem line */
  expect: RegExp[]
}

describe('data map: overlapping scopes', () => {
  const refused: RefusedCase[] = [
    {
      title: 'tenant-{customer} and tenant-shared/{customer}/: customer "shared" would own every customer\'s folder',
      map: {stores: [store('documents', 'tenant-{customer}'), store('shared-folders', 'tenant-shared', '{customer}/')]},
      expect: [
        /^stores\[1\]: overlaps stores\[0\] \(documents\): stores\[0\] "documents" for customer "shared" \(tenant-shared\/\) contains stores\[1\] "shared-folders" for customer "[a-z0-9-]+" \(tenant-shared\/[a-z0-9-]+\/\) in account contosoprod/,
      ],
    },
    {
      title: '{customer}/ and data/{customer}/ in one container: customer "data" would hold data/acme/',
      map: {stores: [store('documents', 'files', '{customer}/'), store('attachments', 'files', 'data/{customer}/')]},
      expect: [
        /^stores\[1\]: overlaps stores\[0\] \(documents\): stores\[0\] "documents" for customer "data" \(files\/data\/\) contains stores\[1\] "attachments" for customer "[a-z0-9-]+" \(files\/data\/[a-z0-9-]+\/\)/,
      ],
    },
    {
      title: '{customer}/ and {customer}-old/: customer "x-old" would own the old folder of customer "x"',
      map: {stores: [store('documents', 'files', '{customer}/'), store('archive', 'files', '{customer}-old/')]},
      expect: [
        /^stores\[1\]\.prefix: \{customer\} must be followed directly by "\/".* write "\{customer\}\/old\/" instead$/,
        /^stores\[1\]: overlaps stores\[0\] \(documents\): stores\[0\] "documents" for customer "([a-z0-9-]+)-old" \(files\/\1-old\/\) is the same scope as stores\[1\] "archive" for customer "\1"/,
      ],
    },
    {
      title: 'custos-{customer} on the audit account: customer "audit" would be the audit trail',
      map: {
        stores: [store('documents', 'tenant-{customer}'), store('misc', 'custos-{customer}', undefined, audit)],
        audit: {account: audit, container: 'custos-audit'},
      },
      expect: [
        /^stores\[1\]: overlaps audit: audit \(custos-audit\/\) is the same scope as stores\[1\] "misc" for customer "audit" \(custos-audit\/\) in account contosoaudit; no customer id may reach audit$/,
        // and customer "audit-locks" the erase locks' container beside it
        /^stores\[1\]: overlaps audit\.lockContainer: .* for customer "audit-locks" \(custos-audit-locks\/\)/,
      ],
    },
    {
      title: "custos-{customer} on the first store's account, where the audit container is by default",
      map: {stores: [store('documents', 'custos-{customer}')]},
      expect: [
        /^stores\[0\]: overlaps audit: .* for customer "audit" \(custos-audit\/\)/,
        /^stores\[0\]: overlaps audit\.lockContainer: .* for customer "audit-locks" \(custos-audit-locks\/\)/,
      ],
    },
    {
      title: 'a{customer} and ab{customer}: two different ids give one container',
      map: {stores: [store('a', 'a{customer}'), store('b', 'ab{customer}')]},
      expect: [
        /^stores\[1\]: overlaps stores\[0\] \(a\): stores\[0\] "a" for customer "b([a-z0-9-]+)" \(ab\1\/\) is the same scope as stores\[1\] "b" for customer "\1"/,
      ],
    },
    {
      title: 'x{customer}/ and {customer}/ in one container: customer "xacme" is the folder of customer "acme"',
      map: {stores: [store('a', 'files', 'x{customer}/'), store('b', 'files', '{customer}/')]},
      expect: [/^stores\[1\]: overlaps stores\[0\] \(a\): .* is the same scope as stores\[1\] "b" for customer "x/],
    },
    {
      title: 'two stores with one container template in one account (same id, same scope)',
      map: {
        stores: [store('documents', 'tenant-{customer}'), store('copy', 'tenant-{customer}', undefined, `${prod}/`)],
      },
      expect: [
        /^stores\[1\]: overlaps stores\[0\] \(documents\): .* is the same scope as .*; that customer's data would be inventoried, exported and erased twice$/,
      ],
    },
    {
      title: 'a container per customer and a folder inside it (same id, nested)',
      map: {stores: [store('documents', 'tenant-{customer}'), store('mail', 'tenant-{customer}', 'mail/')]},
      expect: [
        /^stores\[1\]: overlaps stores\[0\] \(documents\): stores\[0\] "documents" for customer "([a-z0-9-]+)" \(tenant-\1\/\) contains stores\[1\] "mail" for customer "\1" \(tenant-\1\/mail\/\)/,
      ],
    },
    {
      title: 'a backup set whose container a store template can name',
      map: {
        stores: [store('documents', 'tenant-{customer}')],
        backups: [backup('nightly', 'tenant-backups', '{customer}/')],
      },
      expect: [
        /^backups\[0\]: overlaps stores\[0\] \(documents\): stores\[0\] "documents" for customer "backups" \(tenant-backups\/\) contains backups\[0\] "nightly"/,
      ],
    },
    {
      title: 'a log archive container a store template can name',
      map: {
        stores: [
          store('documents', 'insights-logs-{customer}', undefined, 'https://contosologs.blob.core.windows.net'),
        ],
        logs: {
          archive: {account: 'https://contosologs.blob.core.windows.net', containers: ['insights-logs-signinlogs']},
        },
      },
      expect: [/^stores\[0\]: overlaps logs\.archive\.containers\[0\]: .* for customer "signinlogs"/],
    },
    {
      title: 'customer folders inside the exports container',
      map: {
        stores: [store('documents', 'exports', '{customer}/', 'https://contosoexport.blob.core.windows.net')],
        exports: {account: 'https://contosoexport.blob.core.windows.net', container: 'exports'},
      },
      expect: [/^stores\[0\]: overlaps exports: exports \(exports\/\) contains stores\[0\] "documents" for customer/],
    },
    {
      title: 'a literal container compared case-insensitively (Azure container names are lower-case)',
      map: {stores: [store('documents', 'tenant-{customer}'), store('shared', 'Tenant-Shared', '{customer}/')]},
      expect: [/^stores\[1\]: overlaps stores\[0\] \(documents\): .* for customer "shared"/],
    },
    {
      title: 'an id pattern of the form word-number still yields a colliding pair',
      map: {customers: {idPattern: '^[a-z]+-[0-9]+$'}, stores: [store('a', 'a{customer}'), store('b', 'ab{customer}')]},
      expect: [/^stores\[1\]: overlaps stores\[0\] \(a\): stores\[0\] "a" for customer "b[a-z]*-[0-9]+"/],
    },
    {
      title: 'an id pattern with a look-ahead (not analysed): ids that satisfy the fixed rules, said so',
      map: {
        customers: {idPattern: '^(?=cust-)[a-z0-9-]+$'},
        stores: [store('a', 'tenant-{customer}'), store('b', 'tenant-{customer}', 'docs/')],
      },
      expect: [
        /^stores\[1\]: overlaps stores\[0\] \(a\): .*\(customers\.idPattern uses syntax this check does not analyse, so the ids satisfy the fixed id rules only\)$/,
      ],
    },
    {
      title: "a store container template that reaches only the erase locks' container (custos-locks)",
      map: {
        stores: [store('documents', 'custos-{customer}', undefined, audit)],
        audit: {account: audit, container: 'custos'},
      },
      expect: [/^stores\[0\]: overlaps audit\.lockContainer: .*customer "locks" \(custos-locks\/\)/],
    },
    {
      title:
        'a customer key template that reaches the signing key: crypto-shredding customer "evidence" would destroy custos-evidence',
      map: {
        stores: [store('documents', 'tenant-{customer}')],
        keys: {
          vault: 'https://contoso-kv.vault.azure.net',
          customerKey: 'custos-{customer}',
          signingKey: 'custos-evidence',
        },
      },
      expect: [/keys\.(customerKey|signingKey).*customer "evidence"/],
    },
  ]

  for (const c of refused) {
    it(`refuses ${c.title}`, () => {
      const problems = problemsOf(c.map)
      for (const pattern of c.expect)
        assert.ok(
          problems.some((p) => pattern.test(p)),
          `${pattern}\n${problems.join('\n')}`,
        )
      assert.equal(problems.length, c.expect.length, problems.join('\n'))
    })
  }

  const allowed: Array<{title: string; map: Record<string, unknown>}> = [
    {title: 'the demo data map', map: demoMap},
    {
      title: 'one {customer}/ store for acme and acme-corp (the boundary is the "/")',
      map: {stores: [store('attachments', 'attachments', '{customer}/')]},
    },
    {
      title: 'one container template in two accounts',
      map: {
        stores: [
          store('documents', 'tenant-{customer}'),
          store('replica', 'tenant-{customer}', undefined, 'https://contosodr.blob.core.windows.net'),
        ],
      },
    },
    {
      title: 'tenant-{customer} beside attachments/{customer}/',
      map: {stores: [store('documents', 'tenant-{customer}'), store('attachments', 'attachments', '{customer}/')]},
    },
    {
      title: 'tenant-{customer} beside a literal container no id can make (ids are at least 2 characters)',
      map: {stores: [store('documents', 'tenant-{customer}'), store('x', 'tenant-x', '{customer}/')]},
    },
    {
      title: '{customer}/ beside data/{customer}/ when the id pattern cannot spell "data"',
      map: {
        customers: {idPattern: '^c[0-9]{6}$'},
        stores: [store('a', 'files', '{customer}/'), store('b', 'files', 'data/{customer}/')],
      },
    },
    {
      title: 'custos-{customer} on the audit account when no id can be "audit"',
      map: {customers: {idPattern: '^c[0-9]{6}$'}, stores: [store('a', 'custos-{customer}')]},
    },
    {
      title: '{customer}/docs/ beside {customer}/mail/ (siblings, never nested)',
      map: {stores: [store('docs', 'files', '{customer}/docs/'), store('mail', 'files', '{customer}/mail/')]},
    },
    {
      title: 'a{customer} and ab{customer} when ids cannot start with "b"',
      map: {customers: {idPattern: '^a[a-z]{2,10}$'}, stores: [store('a', 'a{customer}'), store('b', 'ab{customer}')]},
    },
  ]

  for (const c of allowed) {
    it(`accepts ${c.title}`, () => {
      assert.deepEqual(problemsOf(c.map), [])
    })
  }

  it('refuses old-{customer}-v2/ on its own: the id must end at a "/"', () => {
    const problems = problemsOf({stores: [store('archive', 'files', 'old-{customer}-v2/')]})
    assert.deepEqual(problems, [
      'stores[0].prefix: {customer} must be followed directly by "/", so that a customer\'s folder ends where its id ends ("old-{customer}-v2/" gives customer "acme" the folder "old-acme-v2/", which "old-{customer}/" would give customer "acme-v2"); write "old-{customer}/v2/" instead',
    ])
  })

  it('does not claim {customer}-old/ reaches {customer}/ when the id pattern has no "-"', () => {
    const problems = problemsOf({
      customers: {idPattern: '^[a-z0-9]{2,20}$'},
      stores: [store('documents', 'files', '{customer}/'), store('archive', 'files', '{customer}-old/')],
    })
    assert.equal(problems.length, 1, problems.join('\n'))
    assert.match(problems[0], /^stores\[1\]\.prefix: \{customer\} must be followed directly by "\/"/)
  })

  describe('the ids it names', () => {
    const template = (path: string, container: string, prefix = '', account = 'a'): ScopeTemplate => ({
      path,
      account,
      container,
      prefix,
    })

    const cases: Array<{title: string; templates: ScopeTemplate[]; pattern?: string; outer?: string; inner?: string}> =
      [
        {
          title: 'a literal fixes the id',
          templates: [template('s0', 'tenant-{customer}'), template('s1', 'tenant-shared', '{customer}/')],
          outer: 'shared',
        },
        {
          title: 'a fixed container fixes the id',
          templates: [template('audit', 'custos-audit'), template('s0', 'custos-{customer}')],
          inner: 'audit',
        },
        {
          title: 'a folder name fixes the outer id',
          templates: [template('s0', 'c', '{customer}/'), template('s1', 'c', 'data/{customer}/')],
          outer: 'data',
        },
      ]
    for (const c of cases) {
      it(`${c.title}, and every id it names passes the id rules and nests`, () => {
        const pattern = c.pattern ?? DEFAULT_PATTERN
        const [overlap] = findScopeOverlaps(c.templates, pattern)
        assert.ok(overlap, 'an overlap')
        if (c.outer) assert.equal(overlap.outer.id, c.outer)
        if (c.inner) assert.equal(overlap.inner.id, c.inner)
        for (const side of [overlap.outer, overlap.inner]) if (side.id !== undefined) assertCustomerId(side.id, pattern)
        assert.ok(
          overlap.inner.scope.startsWith(overlap.outer.scope),
          `${overlap.outer.scope} holds ${overlap.inner.scope}`,
        )
      })
    }

    it('a{customer} against ab{customer}: the first id is "b" + the second', () => {
      const [overlap] = findScopeOverlaps(
        [template('s0', 'a{customer}'), template('s1', 'ab{customer}')],
        DEFAULT_PATTERN,
      )
      assert.equal(overlap.outer.id, `b${overlap.inner.id}`)
      assert.equal(overlap.same, true)
      assert.equal(overlap.assumed, false)
    })

    it('never pairs a {customer}/ scope with itself: acme and acme-corp stay apart', () => {
      const attachments = {name: 'attachments', account: prod, container: 'attachments', prefix: '{customer}/'}
      assert.deepEqual(findScopeOverlaps([template('s0', 'attachments', '{customer}/')], DEFAULT_PATTERN), [])
      assert.equal(isInScope(scopeOf(attachments, 'acme'), 'attachments', 'acme-corp/x.pdf'), false)
    })

    it('agrees with an exhaustive search over a small id language (random templates)', () => {
      // Every id of ^[ab][ab-]{0,2}$ against every other, for 400 random pairs of templates built from
      // the characters those ids hold, so that collisions are frequent.
      const pattern = '^[ab][ab-]{0,2}$'
      const ids: string[] = []
      const grow = (id: string): void => {
        if (id.length > 3) return
        if (new RegExp(pattern).test(id)) ids.push(id)
        for (const c of 'ab-') grow(id + c)
      }

      grow('')
      let seed = 7
      const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n
      const literal = () => ['a', 'b', '-', '', '', 'ab'][random(6)] + ['a', 'b', '-', '', 'ab'][random(5)]
      const randomTemplate = (path: string): ScopeTemplate => {
        switch (random(4)) {
          case 0: {
            return template(path, `c${literal()}{customer}${literal()}z`)
          }

          case 1: {
            return template(path, 'cab', `${literal()}{customer}/${random(2) ? `${literal()}/` : ''}`)
          }

          case 2: {
            return template(path, 'cab', `${random(2) ? `${literal()}/` : ''}${literal()}{customer}/`)
          }

          default: {
            return template(path, `c${literal()}z`)
          }
        }
      }

      const scope = (t: ScopeTemplate, id?: string) => {
        const container = id === undefined ? t.container : t.container.replaceAll('{customer}', id)
        if (container !== t.container && !/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) return undefined
        return `${container}/${id === undefined ? t.prefix : t.prefix.replaceAll('{customer}', id)}`
      }

      const nested = (a: ScopeTemplate, x: string | undefined, b: ScopeTemplate, y: string | undefined) => {
        const [sa, sb] = [scope(a, x), scope(b, y)]
        return sa !== undefined && sb !== undefined && (sa.startsWith(sb) || sb.startsWith(sa))
      }

      const hasId = (t: ScopeTemplate) => `${t.container}${t.prefix}`.includes('{customer}')
      let collisions = 0
      for (let trial = 0; trial < 400; trial++) {
        const [a, b] = [randomTemplate('t0'), randomTemplate('t1')]
        if (!hasId(a) && !hasId(b)) continue
        const idsOf = (t: ScopeTemplate) => (hasId(t) ? ids : [undefined])
        const expected =
          idsOf(a).some((x) => idsOf(b).some((y) => nested(a, x, b, y))) ||
          [a, b].some((t) => hasId(t) && ids.some((x) => ids.some((y) => x !== y && nested(t, x, t, y))))
        if (expected) collisions++
        assert.equal(findScopeOverlaps([a, b], pattern).length > 0, expected, JSON.stringify([a, b]))
      }

      assert.ok(collisions > 20, `only ${collisions} collisions among the random templates`)
    })

    it('only compares templates in the same account', () => {
      const templates = [
        template('s0', 'tenant-{customer}', '', 'a'),
        template('s1', 'tenant-shared', '{customer}/', 'b'),
      ]
      assert.deepEqual(findScopeOverlaps(templates, DEFAULT_PATTERN), [])
    })
  })
})

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

describe('config validate on overlapping scopes (built bin/run.js)', function () {
  this.timeout(180_000)

  it('exits 2 naming both entries of tenant-{customer} and tenant-shared/{customer}/', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'custos-overlap-')), 'custos.yaml')
    writeFileSync(
      path,
      [
        'stores:',
        '  - name: documents',
        '    account: https://contosoprod.blob.core.windows.net',
        '    container: "tenant-{customer}"',
        '  - name: shared-folders',
        '    account: https://contosoprod.blob.core.windows.net',
        '    container: tenant-shared',
        '    prefix: "{customer}/"',
      ].join('\n'),
    )
    const result = await runCli(['config', 'validate', '--config', path, '--json'])
    assert.equal(result.code, 2, result.stdout + result.stderr)
    const error = result.json<{error: {code: string; details: string[]}}>().error
    assert.equal(error.code, 'ConfigInvalid')
    assert.equal(error.details.length, 1, error.details.join('\n'))
    assert.match(error.details[0], /^stores\[1\]: overlaps stores\[0\] \(documents\): /)
    assert.match(error.details[0], /stores\[1\] "shared-folders" for customer/)
    assert.match(error.details[0], /for customer "shared" \(tenant-shared\/\)/)
  })
})
