/**
 * What a deletion certificate says (the body sealed as `custos.deletion-certificate`): the shape
 * certificate.ts builds from an erase run, render-certificate.ts renders as text and HTML, and the
 * store kinds fill in for their databases. Its kind and types only, so that builders and renderers
 * share it without importing each other.
 */
import type {OperatorIdentity} from '../azure/identity.js'
import type {AuditReference, SealedDocument} from '../evidence/envelope.js'
import type {Residual} from '../stores/kind.js'
import type {TableTarget} from '../stores/table/types.js'
import type {GuardVerdict} from './guards.js'
import type {KeyShredResult} from './shred.js'
import type {ErasureVerification, StoreVerification} from './verify.js'

export const CERTIFICATE_KIND = 'custos.deletion-certificate' as const

export interface Amount {
  items: number
  bytes: number
}

export type StoreMethod = 'delete' | 'purge' | 'crypto-erase'

export interface CertificateStore {
  store: string
  role: 'store' | 'backup'
  account: string
  container: string
  prefix: string
  layout: 'container-per-customer' | 'prefix-per-customer'
  /**
   * how the data went: `delete` (Delete Blob via Blob Batch), `purge` (permanent deletion of
   * soft-deleted snapshots and versions), `crypto-erase` (encrypted with the customer key, now destroyed)
   */
  methods: StoreMethod[]
  /** for `crypto-erase`: the encryption scope and the key it used */
  cryptoErase?: {encryptionScope: string; keyUri: string; effectiveFrom?: string}
  planned: Amount & {current: number; snapshots: number; versions: number; softDeleted: number}
  deleted: Amount
  /** already gone when their delete was sent (404), e.g. deleted by an interrupted run */
  alreadyGone: Amount
  /** soft-deleted snapshots and versions whose permanent deletion the service refused */
  retained: Amount
  failed: Amount
  /** soft-deleted base blobs listed in the plan: no API removes them before their retention ends */
  softDeletedBeforeErase: number
  /** deletes soft delete answered with "kept for its retention" */
  softDeleted: number
  purged: number
  batches: number
  requestIds: string[]
  /** what happened to the container: deleted once empty (container per customer), or never (shared) */
  containerDeletion: {action: 'deleted' | 'kept' | 'absent' | 'shared'; reason?: string; requestId?: string}
  exceptions: string[]
  verification: StoreVerification
}

/** A database store in the certificate: how its rows went, how many, and what was left. */
export type CertificateDatabase = PostgresCertificateDatabase | TableCertificateDatabase

/** A PostgreSQL database store in the certificate. */
export interface PostgresCertificateDatabase {
  store: string
  engine: 'postgresql'
  host: string
  database: string
  schema?: string
  isolation: 'shared' | 'schema' | 'database'
  method: 'SQL DELETE' | 'DROP SCHEMA' | 'DROP DATABASE'
  /** the plan's fingerprint of this store's rows */
  fingerprint: string
  /** per table in deletion order: rows planned and rows deleted (over every run of the plan) */
  tables: Array<{table: string; planned: number; deleted: number}>
  planned: {rows: number}
  deleted: {rows: number}
  /** the schema or database was already gone when this run came (an earlier run dropped it) */
  alreadyGone: boolean
  /** VACUUM (ANALYZE) after the deletes (--vacuum): whether it ran on every emptied table */
  vacuum: {requested: boolean; ran: boolean; skipped: string[]}
  verification: {result: 'empty' | 'residue'; remainingRows: number; schemaOrDatabaseExists?: boolean}
}

/**
 * An Azure Table storage store in the certificate: entities count as its rows, one `tables` entry
 * for the table; `backups` states what the service keeps that custos cannot read (no point-in-time
 * restore for tables). The table and which entities were the customer's are named as the export
 * manifest names them (stores/table/types.ts `TableTarget`).
 */
export interface TableCertificateDatabase extends Pick<
  TableTarget,
  'table' | 'isolation' | 'partitionKey' | 'rowKeyPrefix'
> {
  store: string
  engine: 'table'
  /** the table endpoint (never a key) */
  account: string
  method: 'entity group transactions' | 'delete table'
  fingerprint: string
  tables: Array<{table: string; planned: number; deleted: number}>
  planned: {rows: number}
  deleted: {rows: number}
  /** the table was already gone when this run came (an earlier run deleted it) */
  alreadyGone: boolean
  /** planned entities no journaled transaction of custos deleted (gone before, or by a run killed before journaling) */
  goneWithoutJournal: number
  backups: string
  verification: {result: 'empty' | 'residue'; remainingRows: number; tableExists: boolean}
}

export interface DeletionCertificateBody {
  title: 'Deletion certificate'
  customer: string
  operator: OperatorIdentity
  tool: {name: 'custos'; version: string}
  operationId: string
  /** the erase's own `erase.apply started` record in the audit trail */
  audit?: AuditReference
  startedAt: string
  finishedAt: string
  dataMap: string
  plan: {file: string; fingerprint: string; createdAt: string; items: number; bytes: number}
  guards: Array<Pick<GuardVerdict, 'guard' | 'ok' | 'message'> & {skipped?: boolean}>
  stores: CertificateStore[]
  /** database stores (only when the data map has databases) */
  databases?: CertificateDatabase[]
  /** what still holds the erased data and until when: the database servers' backups (never claimed gone) */
  residuals?: Residual[]
  key: KeyShredResult
  totals: {
    planned: Amount
    deleted: Amount
    alreadyGone: Amount
    retained: Amount
    failed: Amount
    softDeletedBeforeErase: number
  }
  verification: {
    result: ErasureVerification['result']
    checkedAt: string
    live: number
    retained: number
    permanentlyDeletedBy?: string
    /** database rows still found (only when the data map has databases) */
    remainingRows?: number
  }
  exceptions: string[]
  /** one sentence for readers: what this certificate does and does not prove */
  statement: string
}

export type DeletionCertificate = SealedDocument<DeletionCertificateBody>
