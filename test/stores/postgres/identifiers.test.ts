import assert from 'node:assert/strict'
import {Writable} from 'node:stream'

import {applyErase, planErase} from '../../../src/lib/stores/postgres/erase.js'
import {exportCustomer} from '../../../src/lib/stores/postgres/export.js'
import {inventoryCustomer} from '../../../src/lib/stores/postgres/inventory.js'
import {validateDatabase} from '../../../src/lib/stores/postgres/target.js'
import type {PostgresDatabaseConfig} from '../../../src/lib/stores/postgres/types.js'
import {copyOut, usePostgres} from '../../support/postgres.js'

/**
 * Identifiers from the data map are quoted everywhere: a schema, table AND tenant column whose
 * names hold double quotes, single quotes, dots, spaces, mixed case and umlauts, and a tenant
 * column of type varchar(12) (the COPY path casts the id to the column's type without its length,
 * so a longer id can never be cut down to a shorter one).
 */
describe('postgres store: odd identifiers and column types', function () {
  this.timeout(60_000)
  const pg = usePostgres()
  const schema = 'Mandanten.Daten'
  const parent = `Kunden "Ä" d'Or`
  const child = 'Bestellungen'
  const column = 'Mandant "ID" Ü'
  let config: PostgresDatabaseConfig

  before(async () => {
    const database = await pg.freshDatabase('odd')
    const admin = await pg.admin(database)
    await admin.query(`CREATE SCHEMA "Mandanten.Daten"`)
    await admin.query(`CREATE TABLE "Mandanten.Daten"."Kunden ""Ä"" d'Or" (
      id int PRIMARY KEY, "Mandant ""ID"" Ü" varchar(12) NOT NULL, "Näme" text)`)
    await admin.query(`CREATE TABLE "Mandanten.Daten"."Bestellungen" (
      id int PRIMARY KEY, kunde int NOT NULL REFERENCES "Mandanten.Daten"."Kunden ""Ä"" d'Or" (id), "Betrag €" numeric)`)
    const rows: [number, string][] = [
      [1, 'acme'],
      [2, 'acme-corp'],
      [3, 'acme'],
      [4, 'initech'],
      [5, 'acme-corpora'], // exactly what varchar(12) would cut acme-corporation-long down to
    ]
    for (const [id, tenant] of rows) {
      await admin.query(`INSERT INTO "Mandanten.Daten"."Kunden ""Ä"" d'Or" VALUES ($1, $2, $3)`, [
        id,
        tenant,
        `Ä ${id}`,
      ])
      await admin.query(`INSERT INTO "Mandanten.Daten"."Bestellungen" VALUES ($1, $1, $2)`, [id, id * 1.5])
    }

    // the superuser here: this file is about names, erase.test.ts about privileges
    process.env.CUSTOS_TEST_PG_ODD = pg.server.password
    config = {
      name: 'odd',
      engine: 'postgresql',
      host: pg.server.host,
      port: pg.server.port,
      database,
      auth: 'password',
      user: pg.server.user,
      passwordEnv: 'CUSTOS_TEST_PG_ODD',
      ca: pg.server.caFile,
      isolation: 'shared',
      tenantColumn: column,
      tables: [
        // a quoted part for the schema with a dot in it; the table part taken as it is
        `"Mandanten.Daten".${parent}`,
        {table: `"Mandanten.Daten".${child}`, via: {column: 'kunde', references: `"Mandanten.Daten".${parent}.id`}},
      ],
    }
  })

  it('validates the map, inventories, exports and erases through every kind of quoting', async () => {
    const check = await validateDatabase(config)
    assert.deepEqual(check.problems, [])
    assert.deepEqual(
      check.tables.map((t) => [t.schema, t.table]),
      [
        [schema, child],
        [schema, parent],
      ],
    )

    const inv = await inventoryCustomer(config, 'acme')
    assert.deepEqual(
      inv.tables.map((t) => [t.table, t.rows]),
      [
        [`"Mandanten.Daten".${child}`, 2],
        [`"Mandanten.Daten".${parent}`, 2],
      ],
    )
    // an id longer than varchar(12) whose first 12 characters are another customer's id matches
    // nothing, with a bound parameter (inventory) and with the COPY setting (export)
    assert.equal((await inventoryCustomer(config, 'acme-corpora')).rows, 2)
    assert.equal((await inventoryCustomer(config, 'acme-corporation-long')).rows, 0)
    const files = new Map<string, string>()
    const open = (file: string) => {
      let text = ''
      return new Writable({
        write(chunk: Buffer, _e, done) {
          text += chunk.toString('utf8')
          done()
        },
        final(done) {
          files.set(file, text)
          done()
        },
      })
    }

    const exported = await exportCustomer(config, 'initech', open)
    assert.deepEqual(
      exported.tables.map((t) => [t.name, t.rows]),
      [
        [`Mandanten%2EDaten.${child}.csv`, 1],
        [`Mandanten%2EDaten.${parent}.csv`, 1],
      ],
    )
    assert.equal(files.get(`Mandanten%2EDaten.${parent}.csv`), `id,"Mandant ""ID"" Ü",Näme\n4,initech,Ä 4\n`)
    assert.equal((await exportCustomer(config, 'acme-corporation-long', open)).rows, 0)

    const admin = await pg.admin(config.database)
    const neighbours = () =>
      copyOut(
        admin,
        `COPY (SELECT * FROM "Mandanten.Daten"."Kunden ""Ä"" d'Or" WHERE id IN (2, 4, 5) ORDER BY id) TO STDOUT`,
      )
    const before = await neighbours()
    const result = await applyErase(config, await planErase(config, 'acme'))
    assert.equal(result.deleted, 4)
    assert.ok((await neighbours()).equals(before))
    assert.equal((await inventoryCustomer(config, 'acme')).rows, 0)
  })
})
