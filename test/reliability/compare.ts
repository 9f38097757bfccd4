/**
 * What must be equal between an interrupted (or faulted) run and an uninterrupted one, and what
 * may differ. Shared by the crash/resume and the fault tests.
 */
import {readFileSync} from 'node:fs'

interface Amount {
  items: number
  bytes: number
}

/**
 * The parts of a deletion certificate an interrupted erase must reproduce: what was planned, what
 * is gone (deleted by this run or found already gone — a batch in flight when a run was killed is
 * sent again and its items answer 404), what failed or was retained (nothing), how each store was
 * treated, the key's fate, the final listing and the statement.
 *
 * Not compared, because they differ by nature between two runs: operation id and times, the
 * plan's fingerprint and creation time (the fingerprint covers ETags and Last-Modified, which
 * differ between two uploads of the same bytes), file and data-map paths, container and key names
 * (each world has its own), request ids and batch counts (a resumed run re-sends the batch that
 * was in flight), and the hash and signature (they cover all of the above).
 */
export function comparableCertificate(doc: any): Record<string, unknown> {
  const b = doc.body
  const removed = (x: {deleted: Amount; alreadyGone: Amount}) => ({
    items: x.deleted.items + x.alreadyGone.items,
    bytes: x.deleted.bytes + x.alreadyGone.bytes,
  })
  return {
    customer: b.customer,
    plan: {items: b.plan.items, bytes: b.plan.bytes},
    guards: b.guards.map((g: any) => ({guard: g.guard, ok: g.ok})),
    totals: {
      planned: b.totals.planned,
      removed: removed(b.totals),
      retained: b.totals.retained,
      failed: b.totals.failed,
      softDeletedBeforeErase: b.totals.softDeletedBeforeErase,
    },
    stores: b.stores.map((s: any) => ({
      store: s.store,
      role: s.role,
      layout: s.layout,
      methods: s.methods,
      planned: s.planned,
      removed: removed(s),
      retained: s.retained,
      failed: s.failed,
      container: s.containerDeletion.action,
      verification: {
        result: s.verification.result,
        live: s.verification.live,
        retained: s.verification.retained,
        containerState: s.verification.containerState,
      },
    })),
    key: {method: b.key.method, state: b.key.state},
    verification: {result: b.verification.result, live: b.verification.live, retained: b.verification.retained},
    exceptions: b.exceptions,
    statement: b.statement,
  }
}

/**
 * An export manifest without the one field that differs by nature: `startedAt` (the start of the
 * first attempt). Everything else — every object with its size, type, Last-Modified, Content-MD5
 * and SHA-256, the totals, stores, options and destination — must be equal. The seal (hash and
 * signature) covers startedAt and therefore differs too.
 */
export function comparableManifest(path: string): Record<string, unknown> {
  const doc = JSON.parse(readFileSync(path, 'utf8'))
  // The start time and the audit record of the first attempt differ by nature between two runs.
  const {startedAt: _startedAt, audit: _audit, ...body} = doc.body
  return body
}

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'))
}
