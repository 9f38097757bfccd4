/**
 * The audit vocabulary of an operation (PRODUCT.md, "The tool's own audit trail"): a `started`
 * record before the work, then exactly one outcome — `succeeded`, `failed`, or `refused` when the
 * work stopped on a refusal (exit 3) — all under one operation id. Export, erase, the log bundle
 * and incident evidence use this instead of each writing its own records; the details of each
 * record (what tests and `customer erase`'s export guard read) stay the caller's.
 */
import {randomUUID} from 'node:crypto'

import {CustosError, ExitCode, isAbortError} from '../errors.js'
import type {AuditEntry, AuditRecord, AuditResult, AuditTrail} from './trail.js'

export interface StartOperationOptions {
  /** e.g. `export`, `erase.plan`, `logs.bundle` */
  action: string
  customer?: string
  /** default: a new UUID */
  operationId?: string
  /** details of the `started` record */
  details?: Record<string, unknown>
}

/** The outcome of a failed operation: `refused` for a refusal (exit 3), else `failed`. */
export function failureResult(error: unknown): 'failed' | 'refused' {
  return error instanceof CustosError && error.exitCode === ExitCode.refused ? 'refused' : 'failed'
}

/** What a record says went wrong, as a code: `Interrupted`, a CustosError's code, else `InternalError`. */
export function failureCode(error: unknown): string {
  if (isAbortError(error)) return 'Interrupted'
  return error instanceof CustosError ? error.code : 'InternalError'
}

export class AuditedOperation {
  private constructor(
    private readonly trail: AuditTrail,
    private readonly base: Pick<AuditEntry, 'action' | 'customer' | 'operationId'>,
    /** the `started` record (documents name it: see `referenceTo`) */
    readonly started: AuditRecord,
  ) {}

  /** Appends the `started` record; an audit trail that cannot be written stops the operation here. */
  static async start(trail: AuditTrail, options: StartOperationOptions): Promise<AuditedOperation> {
    const base = {
      action: options.action,
      ...(options.customer === undefined ? {} : {customer: options.customer}),
      operationId: options.operationId ?? randomUUID(),
    }
    const started = await trail.append({
      ...base,
      result: 'started',
      ...(options.details ? {details: options.details} : {}),
    })
    return new AuditedOperation(trail, base, started)
  }

  /**
   * Records an operation refused before it started (a guard or the confirmation said no before any
   * work): one `refused` record with `details`, no `started`. Unlike `failed`, this throws when the
   * trail cannot be written — the refusal itself is the record of the run.
   */
  static async refused(
    trail: AuditTrail,
    options: Omit<StartOperationOptions, 'operationId'> & {operationId: string},
  ): Promise<AuditRecord> {
    const base = {
      ...(options.customer === undefined ? {} : {customer: options.customer}),
      operationId: options.operationId,
    }
    return trail.append(entryOf(base, options.action, 'refused', options.details))
  }

  get operationId(): string {
    return this.base.operationId!
  }

  /** Records the outcome; `result` is `failed` where the work finished but did not meet its goal. */
  async succeeded(
    details?: Record<string, unknown>,
    result: 'succeeded' | 'failed' = 'succeeded',
  ): Promise<AuditRecord> {
    return this.trail.append(entryOf(this.base, this.base.action, result, details))
  }

  /** Another record of the same operation (say, the `share-link` a log bundle hands out). */
  async record(action: string, result: AuditResult, details?: Record<string, unknown>): Promise<AuditRecord> {
    return this.trail.append(entryOf(this.base, action, result, details))
  }

  /**
   * Records that the work stopped on `error` (`refused` for a refusal, else `failed`). Never throws:
   * the operation's own error is the one to report, not a failed audit record about it.
   */
  async failed(error: unknown, details?: Record<string, unknown>): Promise<void> {
    try {
      await this.trail.append(entryOf(this.base, this.base.action, failureResult(error), details))
    } catch {
      // see above
    }
  }
}

/** One record, its fields in the order every writer has always used (action, result, customer, operationId, details). */
function entryOf(
  base: Pick<AuditEntry, 'customer' | 'operationId'>,
  action: string,
  result: AuditResult,
  details: Record<string, unknown> | undefined,
): AuditEntry {
  return {
    action,
    result,
    ...(base.customer === undefined ? {} : {customer: base.customer}),
    operationId: base.operationId,
    ...(details ? {details} : {}),
  }
}
