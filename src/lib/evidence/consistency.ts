/**
 * What `certificate verify` checks beyond the hash and the signature: that a sealed document names
 * what it claims, by kind — a deletion certificate's totals are the sum of its stores and every
 * store names the customer in its scope, an export manifest's totals are the sum of its objects
 * and every object lies inside one of its stores, a logs manifest's totals match its files.
 *
 * The checks read the parsed JSON of unknown shape (a document may be altered or foreign), never
 * the writers' types, so evidence/ depends on neither erase/ nor export/; they never throw on odd
 * shapes.
 */
import type {EvidenceKind} from './envelope.js'

/** Items and bytes, as certificates count them. */
interface Amount {
  items: number
  bytes: number
}

export interface ConsistencyCheck {
  /** false when custos knows no checks for this kind */
  checked: boolean
  problems: string[]
  /** what was checked, for the report */
  checks: string[]
}

type Doc = Record<string, unknown>

/** Checks that a sealed document names what it claims, by kind. Never throws on odd shapes. */
export function checkConsistency(doc: unknown): ConsistencyCheck {
  const d = (doc ?? {}) as {kind?: string; body?: unknown}
  const body = (d.body ?? {}) as Doc
  try {
    switch (d.kind as EvidenceKind | undefined) {
      case 'custos.deletion-certificate': {
        return checkCertificate(body)
      }

      case 'custos.export-manifest': {
        return checkExportManifest(body)
      }

      case 'custos.logs-manifest': {
        return checkFileManifest(body)
      }

      default: {
        return {checked: false, problems: [], checks: []}
      }
    }
  } catch (error) {
    return {
      checked: true,
      problems: [`the document's body does not have the shape of a ${d.kind} (${(error as Error).message})`],
      checks: [],
    }
  }
}

function amount(v: unknown): Amount {
  const a = v as Amount
  if (!a || typeof a.items !== 'number' || typeof a.bytes !== 'number')
    throw new TypeError('an amount lacks items or bytes')
  return a
}

function checkCertificate(b: Doc): ConsistencyCheck {
  const problems: string[] = []
  const checks: string[] = []
  const customer = b.customer as string
  const stores = b.stores as Doc[]
  if (typeof customer !== 'string' || !Array.isArray(stores)) throw new TypeError('customer or stores missing')
  const totals = b.totals as Record<string, unknown>
  for (const field of ['planned', 'deleted', 'alreadyGone', 'retained', 'failed'] as const) {
    const sum = stores.reduce<Amount>(
      (a, s) => ({items: a.items + amount(s[field]).items, bytes: a.bytes + amount(s[field]).bytes}),
      {items: 0, bytes: 0},
    )
    const t = amount(totals[field])
    if (t.items !== sum.items || t.bytes !== sum.bytes)
      problems.push(
        `totals.${field} (${t.items} items, ${t.bytes} bytes) is not the sum over the stores (${sum.items} items, ${sum.bytes} bytes)`,
      )
  }

  checks.push('totals equal the sum of the per-store counts')
  for (const s of stores) {
    const planned = amount(s.planned).items
    const accounted =
      amount(s.deleted).items +
      amount(s.alreadyGone).items +
      amount(s.retained).items +
      amount(s.failed).items +
      (s.softDeletedBeforeErase as number)
    if (planned !== accounted)
      problems.push(
        `store ${String(s.store)}: ${planned} planned items, but deleted + already gone + retained + failed + soft-deleted before = ${accounted}`,
      )
    const container = String(s.container)
    const prefix = String(s.prefix ?? '')
    if (!container.includes(customer) && !prefix.split('/').includes(customer))
      problems.push(`store ${String(s.store)}: scope ${container}/${prefix} does not name customer ${customer}`)
    const v = s.verification as Doc | undefined
    if (v && (v.live as number) > 0 && v.result !== 'residue')
      problems.push(
        `store ${String(s.store)}: verification found ${String(v.live)} live object(s) but says "${String(v.result)}"`,
      )
  }

  checks.push('every store accounts for each planned item and names the customer in its scope')
  const plan = b.plan as Doc
  const plannedTotal = amount(totals.planned)
  if (plan && (plan.items !== plannedTotal.items || plan.bytes !== plannedTotal.bytes))
    problems.push(`the plan's ${String(plan.items)} items / ${String(plan.bytes)} bytes differ from totals.planned`)
  checks.push('the plan totals equal the planned totals')
  const v = b.verification as Doc
  const databases = (b.databases as Doc[] | undefined) ?? []
  for (const d of databases) {
    const tables = (d.tables as Doc[]) ?? []
    const deleted = tables.reduce((n, t) => n + (t.deleted as number), 0)
    const planned = tables.reduce((n, t) => n + (t.planned as number), 0)
    if ((d.deleted as Doc)?.rows !== deleted)
      problems.push(`database ${String(d.store)}: deleted.rows is not the sum over its tables (${deleted})`)
    if ((d.planned as Doc)?.rows !== planned)
      problems.push(`database ${String(d.store)}: planned.rows is not the sum over its tables (${planned})`)
    const dv = d.verification as Doc | undefined
    if (dv && (dv.remainingRows as number) > 0 && dv.result !== 'residue')
      problems.push(
        `database ${String(d.store)}: ${String(dv.remainingRows)} row(s) remain but the result says "${String(dv.result)}"`,
      )
  }

  if (databases.length > 0) checks.push('every database store accounts for its rows per table')
  const storeResults = new Set([
    ...stores.map((s) => (s.verification as Doc | undefined)?.result),
    ...databases.map((d) => (d.verification as Doc | undefined)?.result),
  ])
  const expected = storeResults.has('residue') ? 'residue' : storeResults.has('retained') ? 'retained' : 'empty'
  if (v?.result !== expected)
    problems.push(`verification.result is "${String(v?.result)}" but the stores' results make it "${expected}"`)
  const live = stores.reduce((n, s) => n + (((s.verification as Doc | undefined)?.live as number) ?? 0), 0)
  if (v?.live !== live) problems.push(`verification.live (${String(v?.live)}) is not the sum over the stores (${live})`)
  checks.push('the verification result agrees with the per-store listings')
  const key = b.key as Doc | undefined
  if (key?.name && !String(key.name).includes(customer))
    problems.push(`the key ${String(key.name)} does not name customer ${customer}`)
  if (key?.state === 'purged' && !key.unrecoverableFrom)
    problems.push('the key is said to be purged but carries no date')
  if (key?.state === 'deleted-purge-pending' && !key.scheduledPurgeDate)
    problems.push('the key purge is pending but no scheduled purge date is given')
  checks.push('the key names the customer and its state carries its date')
  if (typeof b.startedAt === 'string' && typeof b.finishedAt === 'string' && b.startedAt > b.finishedAt)
    problems.push('the erase finished before it started')
  return {checked: true, problems, checks}
}

function checkExportManifest(b: Doc): ConsistencyCheck {
  const problems: string[] = []
  const checks: string[] = []
  const objects = b.objects as Doc[]
  const totals = b.totals as Record<string, number>
  const customer = b.customer as string
  const stores = (b.stores as Doc[]) ?? []
  if (!Array.isArray(objects) || !totals || typeof customer !== 'string')
    throw new TypeError('customer, objects or totals missing')
  const count = {objects: 0, bytes: 0, current: 0, versions: 0, snapshots: 0, withContentMD5: 0}
  const byName = new Map(stores.map((s) => [String(s.name ?? s.store), s]))
  let outside = 0
  for (const o of objects) {
    count.objects++
    count.bytes += o.size as number
    if (o.kind === 'current') count.current++
    else if (o.kind === 'version') count.versions++
    else if (o.kind === 'snapshot') count.snapshots++
    if (o.contentMD5) count.withContentMD5++
    const store = byName.get(String(o.store))
    if (!store || !String(o.name).startsWith(String(store.prefix ?? ''))) {
      outside++
      if (outside <= 5)
        problems.push(`object ${String(o.store)}:${String(o.name)} is not inside a store of the manifest`)
    }
  }

  if (outside > 5) problems.push(`… ${outside} objects outside the manifest's stores in all`)
  for (const k of Object.keys(count) as Array<keyof typeof count>) {
    if (totals[k] !== undefined && totals[k] !== count[k])
      problems.push(`totals.${k} is ${totals[k]} but the objects add up to ${count[k]}`)
  }

  checks.push('totals equal the sum over the objects', 'every object lies inside one of the stores named')
  for (const s of stores) {
    if (s.engine !== undefined) {
      // a database store: its rows are the customer's by the tenant column, its schema or its database
      const named =
        s.engine === 'table'
          ? s.isolation === 'partition-key'
            ? s.partitionKey === customer || String(s.partitionKey ?? '').includes(customer)
            : s.isolation === 'row-key-prefix'
              ? String(s.rowKeyPrefix ?? '').endsWith(`${customer}|`)
              : String(s.table ?? '').includes(customer)
          : s.isolation === 'shared'
            ? typeof s.tenantColumn === 'string' && s.tenantColumn.length > 0
            : s.isolation === 'schema'
              ? String(s.schema ?? '').includes(customer)
              : String(s.database ?? '').includes(customer)
      if (!named)
        problems.push(
          `database store ${String(s.name)}: isolation ${String(s.isolation)} does not say how the rows are customer ${customer}'s`,
        )
      continue
    }

    const container = String(s.container ?? '')
    const prefix = String(s.prefix ?? '')
    if (!container.includes(customer) && !prefix.split('/').includes(customer))
      problems.push(
        `store ${String(s.name ?? s.store)}: scope ${container}/${prefix} does not name customer ${customer}`,
      )
  }

  checks.push(
    'every store names the customer in its scope (database stores: tenant column, schema or database; table stores: partition key, row-key prefix or table)',
  )
  return {checked: true, problems, checks}
}

/** Manifests that list files with sizes (log bundles): totals against the files, where present. */
function checkFileManifest(b: Doc): ConsistencyCheck {
  const files = (b.files ?? b.objects) as Doc[] | undefined
  const totals = b.totals as Record<string, number> | undefined
  if (!Array.isArray(files) || !totals) return {checked: false, problems: [], checks: []}
  const problems: string[] = []
  const n = files.length
  const bytes = files.reduce((a, f) => a + ((f.size as number) ?? 0), 0)
  const countField = totals.files !== undefined ? 'files' : totals.objects !== undefined ? 'objects' : undefined
  if (countField && totals[countField] !== n)
    problems.push(`totals.${countField} is ${totals[countField]} but ${n} are listed`)
  if (totals.bytes !== undefined && totals.bytes !== bytes)
    problems.push(`totals.bytes is ${totals.bytes} but the listed sizes add up to ${bytes}`)
  return {checked: true, problems, checks: ['totals equal the sum over the listed files']}
}
