/** Building check results and the region rules every resource kind shares. */
import {checkDefinition, fillRemediation} from './catalogue.js'
import {parseResourceId} from './resolve.js'
import type {CheckResult, CheckStatus} from './types.js'

/** `Germany West Central` → `germanywestcentral`, the form ARM and the data map use. */
export function normalizeRegion(region: string | undefined): string | undefined {
  return region?.replace(/\s+/g, '').toLowerCase()
}

export function regionAllowed(region: string | undefined, allowedRegions: string[]): boolean {
  const r = normalizeRegion(region)
  return r !== undefined && allowedRegions.some((a) => normalizeRegion(a) === r)
}

/** Placeholder values for the remediation templates of a resource. */
export function resourcePlaceholders(
  id: string | undefined,
  name: string,
  allowedRegions: string[],
): Record<string, string | undefined> {
  const parts = id ? parseResourceId(id) : undefined
  return {
    id,
    name,
    resourceGroup: parts?.resourceGroup,
    subscription: parts?.subscription,
    allowedRegion: allowedRegions[0],
  }
}

/**
 * Builds a result of catalogue check `id`. For `fail` and `unknown` the remediation is the
 * catalogue's command filled in with `placeholders`, or `remediation` when given (e.g. "add resourceId").
 */
export function result(
  id: string,
  status: CheckStatus,
  detail: string,
  placeholders: Record<string, string | undefined> = {},
  remediation?: string,
): CheckResult {
  const def = checkDefinition(id)
  const out: CheckResult = {check: id, title: def.title, severity: def.severity, status, detail}
  if (status === 'fail' || status === 'unknown')
    out.remediation = remediation ?? fillRemediation(def.remediation, placeholders)
  return out
}

/** `unknown` results for every check of `ids`, all with the same reason and hint. */
export function unknownResults(ids: readonly string[], reason: string, hint: string): CheckResult[] {
  return ids.map((id) => result(id, 'unknown', reason, {}, hint))
}
