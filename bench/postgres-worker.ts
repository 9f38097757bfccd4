/**
 * One measured run for bench/postgres.ts, in its own process so that GNU time sees its peak RSS
 * alone: `export <json>` writes the customer's tables as files with the store's exportCustomer;
 * `erase <json>` plans and applies with the store (strategy `custos`), or deletes with one of the
 * alternatives the benchmark compares it with. Prints one JSON line with what it did.
 */
import {createWriteStream} from 'node:fs'
import {join} from 'node:path'

import pg from 'pg'

import {connect} from '../src/lib/stores/postgres/connection.js'
import {applyErase, planErase} from '../src/lib/stores/postgres/erase.js'
import {exportCustomer} from '../src/lib/stores/postgres/export.js'
import type {PostgresDatabaseConfig} from '../src/lib/stores/postgres/types.js'

interface Job {
  config: PostgresDatabaseConfig
  customer: string
  dir?: string
  strategy?: 'ctid-any' | 'ctid-in' | 'custos' | 'key' | 'plain'
  batchSize?: number
}

const tables = [
  {table: 'public.comments', where: 'document_id IN (SELECT id FROM public.documents WHERE tenant_id = $1)'},
  {table: 'public.documents', where: 'tenant_id = $1'},
  {table: 'public.projects', where: 'tenant_id = $1'},
  {table: `public."Notizen ""Ärger"" d'Acme"`, where: 'tenant_id = $1'},
]

const [mode, json] = process.argv.slice(2)
const job = JSON.parse(json) as Job
const started = performance.now()
if (mode === 'export') {
  const result = await exportCustomer(job.config, job.customer, (file) => createWriteStream(join(job.dir!, file)))
  console.log(JSON.stringify({rows: result.rows, bytes: result.bytes, seconds: (performance.now() - started) / 1000}))
} else if (job.strategy === 'custos') {
  const plan = await planErase(job.config, job.customer)
  const planned = performance.now()
  const result = await applyErase(job.config, plan, {batchSize: job.batchSize})
  console.log(
    JSON.stringify({
      rows: result.deleted,
      statements: result.statements,
      planSeconds: (planned - started) / 1000,
      applySeconds: (performance.now() - planned) / 1000,
    }),
  )
} else {
  const client = await connect(job.config)
  const rows = job.strategy === 'plain' ? await plain(client, job.customer) : await batched(client, job)
  await client.end()
  console.log(
    JSON.stringify({rows: rows.rows, statements: rows.statements, applySeconds: (performance.now() - started) / 1000}),
  )
}

/** The peer: one plain DELETE per table, all in one transaction. */
async function plain(client: pg.Client, customer: string): Promise<{rows: number; statements: number}> {
  let rows = 0
  await client.query('BEGIN')
  for (const t of tables)
    rows += (await client.query(`DELETE FROM ${t.table} WHERE ${t.where}`, [customer])).rowCount ?? 0
  await client.query('COMMIT')
  return {rows, statements: tables.length}
}

/** The other batch shapes the store could have used, each batch its own transaction like the store's. */
async function batched(client: pg.Client, job: Job): Promise<{rows: number; statements: number}> {
  const size = job.batchSize ?? 10_000
  let rows = 0
  let statements = 0
  for (const t of tables) {
    const sql =
      job.strategy === 'key'
        ? `DELETE FROM ${t.table} WHERE id IN (SELECT id FROM ${t.table} WHERE ${t.where} ORDER BY id LIMIT $2)`
        : job.strategy === 'ctid-any'
          ? `DELETE FROM ${t.table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${t.table} WHERE ${t.where} LIMIT $2))`
          : `DELETE FROM ${t.table} WHERE ctid IN (SELECT ctid FROM ${t.table} WHERE ${t.where} LIMIT $2)`
    for (;;) {
      await client.query('BEGIN')
      const n = (await client.query(sql, [job.customer, size])).rowCount ?? 0
      await client.query('COMMIT')
      statements++
      rows += n
      if (n < size) break
    }
  }

  return {rows, statements}
}
