import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {Writable} from 'node:stream'

import type pg from 'pg'

import {DEMO_TENANTS, ODD_TABLE} from '../../../src/lib/local/demo-postgres.js'
import {exportCustomer, csvFileName} from '../../../src/lib/stores/postgres/export.js'
import {inventoryCustomer} from '../../../src/lib/stores/postgres/inventory.js'
import {copyOut, usePostgres, type DemoDatabase} from '../../support/postgres.js'

/** Collects what the export writes, per file. */
function collector(): {files: Map<string, Buffer>; open: (file: string) => Writable} {
  const files = new Map<string, Buffer>()
  return {
    files,
    open(file) {
      const chunks: Buffer[] = []
      return new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk)
          done()
        },
        final(done) {
          files.set(file, Buffer.concat(chunks))
          done()
        },
      })
    },
  }
}

/**
 * The oracle: the customer's rows selected with a join (not the store's semi-join) into a temp
 * table in key order, then COPY … TO STDOUT CSV HEADER of it. The id is a bound parameter.
 */
async function expectedCsv(admin: pg.Client, select: string, customer: string): Promise<Buffer> {
  await admin.query('DROP TABLE IF EXISTS expected')
  await admin.query(`CREATE TEMP TABLE expected AS ${select}`, [customer])
  return copyOut(admin, 'COPY (SELECT * FROM expected) TO STDOUT WITH (FORMAT csv, HEADER true)')
}

const oracle: Record<string, string> = {
  'public.projects': 'SELECT * FROM public.projects WHERE tenant_id = $1 ORDER BY id',
  'public.documents': 'SELECT * FROM public.documents WHERE tenant_id = $1 ORDER BY id',
  'public.comments':
    'SELECT c.* FROM public.comments c JOIN public.documents d ON d.id = c.document_id WHERE d.tenant_id = $1 ORDER BY c.id',
  [`public.${ODD_TABLE}`]: `SELECT * FROM public."Notizen ""Ärger"" d'Acme" WHERE tenant_id = $1 ORDER BY id`,
}

describe('postgres store: export', function () {
  this.timeout(60_000)
  const pg = usePostgres()
  let demo: DemoDatabase
  let admin: pg.Client

  before(async () => {
    demo = await pg.demoDatabase()
    admin = await pg.admin(demo.database)
  })

  it('writes one CSV per table, byte-identical to COPY … CSV HEADER of the same rows', async () => {
    for (const customer of ['acme', 'acme-corp']) {
      const out = collector()
      const result = await exportCustomer(demo.config, customer, out.open)
      assert.equal(result.tables.length, 4)
      for (const item of result.tables) {
        const expected = await expectedCsv(admin, oracle[item.table], customer)
        const written = out.files.get(item.name)!
        assert.ok(written.equals(expected), `${customer} ${item.table}:\n${written}\n---\n${expected}`)
        assert.equal(item.bytes, expected.length)
        assert.equal(item.sha256, createHash('sha256').update(expected).digest('hex'))
        assert.equal(
          item.rows,
          expected.toString('utf8').trimEnd().split('\n').length - 1 - countQuotedNewlines(expected),
        )
      }

      // acme never sees acme-corp's rows and the other way round
      const projects = out.files.get('public.projects.csv')!.toString()
      for (const other of DEMO_TENANTS.filter((t) => t !== customer)) {
        assert.ok(!projects.includes(`,${other},`), `${customer}'s export holds a row of ${other}`)
      }
    }
  })

  it('names files <schema>.<table>.csv, the umlaut/quote table as it is', async () => {
    const out = collector()
    const result = await exportCustomer(demo.config, 'globex', out.open)
    assert.deepEqual(
      result.tables.map((t) => t.name).sort(),
      ['public.comments.csv', 'public.documents.csv', 'public.projects.csv', `public.${ODD_TABLE}.csv`].sort(),
    )
    const odd = out.files.get(`public.${ODD_TABLE}.csv`)!.toString('utf8')
    assert.equal(odd.split('\n')[0], 'id,tenant_id,Größe,"Text ""zitiert"""')
    assert.match(odd, /"Ärger ""1""\tglobex"/)
    assert.equal(csvFileName('a.b', 'c/d%'), 'a%2Eb.c%2Fd%25.csv')
  })

  it('reads every table in one snapshot: rows written by another session during the export do not appear', async () => {
    const own = await pg.demoDatabase() // this test writes: its own database
    const out = collector()
    const writer = await pg.admin(own.database)
    const seen: string[] = []
    const result = await exportCustomer(own.config, 'acme', out.open, {
      async beforeTable(table) {
        seen.push(table)
        if (seen.length === 2) {
          // between the first and the second table: a new project, document and comment for acme
          const p = await writer.query<{id: string}>(
            `INSERT INTO public.projects (tenant_id, name) VALUES ($1, 'late') RETURNING id`,
            ['acme'],
          )
          const d = await writer.query<{id: string}>(
            `INSERT INTO public.documents (tenant_id, project_id, title) VALUES ($1, $2, 'late') RETURNING id`,
            ['acme', p.rows[0].id],
          )
          await writer.query(`INSERT INTO public.comments (document_id, author) VALUES ($1, 'late')`, [d.rows[0].id])
          await writer.query(`UPDATE public.projects SET name = 'renamed' WHERE tenant_id = $1`, ['acme'])
        }
      },
    })
    assert.equal(seen.length, 4)
    const all = [...out.files.values()].map((b) => b.toString()).join('\n')
    assert.ok(!all.includes('late'), 'a row written after the export began is in the export')
    assert.ok(!all.includes('renamed'), 'an update made after the export began is in the export')
    assert.equal(result.tables.find((t) => t.table === 'public.projects')!.rows, 3)
    // and a new export sees them
    const again = collector()
    await exportCustomer(own.config, 'acme', again.open)
    assert.match(again.files.get('public.comments.csv')!.toString(), /late/)
  })

  it('describes every table in schema.json: columns, types, nullability, how rows were chosen', async () => {
    const result = await exportCustomer(demo.config, 'initech', collector().open)
    const comments = result.schema.tables.find((t) => t.table === 'comments')!
    assert.deepEqual(comments, {
      file: 'public.comments.csv',
      schema: 'public',
      table: 'comments',
      rows: {via: {column: 'document_id', references: 'public.documents.id'}},
      columns: [
        {name: 'id', type: 'bigint', nullable: false},
        {name: 'document_id', type: 'bigint', nullable: false},
        {name: 'author', type: 'text', nullable: false},
        {name: 'body', type: 'text', nullable: true},
      ],
    })
    const odd = result.schema.tables.find((t) => t.table === ODD_TABLE)!
    assert.deepEqual(odd.rows, {column: 'tenant_id'})
    assert.deepEqual(
      odd.columns.map((c) => [c.name, c.type]),
      [
        ['id', 'bigint'],
        ['tenant_id', 'text'],
        ['Größe', 'integer'],
        ['Text "zitiert"', 'text'],
      ],
    )
    assert.equal(result.schema.isolation, 'shared')
    assert.equal(JSON.parse(JSON.stringify(result.schema)).tables.length, 4)
  })

  it('counts rows and bytes per table for the inventory', async () => {
    const inv = await inventoryCustomer(demo.config, 'acme')
    assert.deepEqual(Object.fromEntries(inv.tables.map((t) => [t.table, t.rows])), {
      'public.comments': 12,
      'public.documents': 6,
      'public.projects': 3,
      [`public.${ODD_TABLE}`]: 2,
    })
    assert.ok(inv.tables.every((t) => t.bytes > 0))
    assert.equal(inv.rows, 23)
    const none = await inventoryCustomer(demo.config, 'nobody')
    assert.equal(none.rows, 0)
    assert.equal(none.bytes, 0)
  })
})

/** Newlines inside quoted CSV fields (the demo's bodies hold some). */
function countQuotedNewlines(csv: Buffer): number {
  let inQuotes = false
  let n = 0
  for (const ch of csv.toString('utf8')) {
    if (ch === '"') inQuotes = !inQuotes
    else if (ch === '\n' && inQuotes) n++
  }

  return n
}
