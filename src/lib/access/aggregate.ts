/**
 * Per-principal aggregation of access events, and the findings drawn from it. Memory depends on
 * the number of principals, their distinct IPs and countries, the days in the range and the burst
 * buckets with failures — never on the number of events, so an archive of any size streams through.
 *
 * Failure bursts use buckets of a tenth of the window: a burst is `burstFailures` failed sign-ins in
 * ten consecutive buckets (one window). That finds every burst whose failures fall within 90 % of
 * the window, never reports one that does not fit in a window, and is exactly what the KQL of
 * ./workspace.ts computes with make-series and series_fir in Log Analytics.
 */
import type {WorkingHours} from './hours.js'
import {SignInAnalyzer} from './sign-ins.js'
import type {
  AccessEvent,
  AccessReportSettings,
  BurstFinding,
  CountryCount,
  DailyCount,
  Finding,
  PrincipalSummary,
} from './types.js'

/** buckets per burst window */
export const BURST_STEPS = 10
/** password spray: failures on this many distinct accounts from one IP within DEFAULT_SPRAY_WINDOW_IN_MS */
const DEFAULT_SPRAY_ACCOUNTS = 5
const DEFAULT_SPRAY_WINDOW_IN_MS = 3_600_000

export interface AggregatorOptions {
  sinceInMs: number
  untilInMs: number
  lookbackInMs: number
  allowedCountries: string[]
  burstFailures: number
  burstWindowInMs: number
  hours: WorkingHours
  /** password spray: distinct accounts one IP fails on within the window (default 5 in 1h) */
  sprayAccounts?: number
  sprayWindowInMs?: number
  /** principals that hold privileged roles (access.expected.privileged), for single-factor-privileged */
  privileged?: readonly string[]
}

interface IpStats {
  events: number
  first: number
}

interface CountryStats {
  signIns: number
  first: number
  last: number
  ips: Set<string>
}

class PrincipalState {
  signIns = 0
  failures = 0
  interrupts = 0
  readonly failuresByCode = new Map<string, number>()
  operations = 0
  failedOperations = 0
  readonly operationsByName = new Map<string, number>()
  readonly ips = new Map<string, IpStats>()
  readonly countries = new Map<string, CountryStats>()
  first = Number.POSITIVE_INFINITY
  last = Number.NEGATIVE_INFINITY
  offHours = 0
  offFirst = Number.POSITIVE_INFINITY
  offLast = Number.NEGATIVE_INFINITY
  /** bucket index → failed sign-ins */
  readonly failureBuckets = new Map<number, number>()
  /** burst windows computed elsewhere (Log Analytics): window-end bucket → failures in the window */
  readonly burstWindows = new Map<number, number>()

  constructor(readonly principal: string) {}

  seen(time: number): void {
    if (time < this.first) this.first = time
    if (time > this.last) this.last = time
  }
}

function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by)
}

function iso(time: number): string {
  return new Date(time).toISOString()
}

/** Partial per-principal totals from a source that aggregates by itself (Log Analytics). */
export interface PrincipalTotals {
  principal: string
  signIns: number
  failures: number
  /** absent from sources that do not tell interrupts apart */
  interrupts?: number
  operations: number
  failedOperations: number
  first: number
  last: number
  offHours: number
  offFirst?: number
  offLast?: number
  failuresByCode?: Record<string, number>
  operationsByName?: Record<string, number>
}

export class AccessAggregator {
  private readonly principals = new Map<string, PrincipalState>()
  /** principal → IPs seen in the look-back window */
  private readonly knownIps = new Map<string, Set<string>>()
  private readonly daily = new Map<string, {signIns: number; failures: number}>()
  private readonly countryCounts = new Map<string, number>()
  private readonly allowed: Set<string>
  private readonly bucketInMs: number
  readonly lookbackStartInMs: number
  /** events counted in the range, and in the look-back window */
  inRange = 0
  inLookback = 0
  private readonly signInAnalyzer: SignInAnalyzer

  constructor(readonly options: AggregatorOptions) {
    this.signInAnalyzer = new SignInAnalyzer({
      privileged: options.privileged ?? [],
      sprayAccounts: options.sprayAccounts ?? DEFAULT_SPRAY_ACCOUNTS,
      sprayWindowInMs: options.sprayWindowInMs ?? DEFAULT_SPRAY_WINDOW_IN_MS,
    })
    this.allowed = new Set(options.allowedCountries.map((c) => c.toUpperCase()))
    this.bucketInMs = Math.max(1, Math.floor(options.burstWindowInMs / BURST_STEPS))
    this.lookbackStartInMs = options.sinceInMs - options.lookbackInMs
  }

  /** The width of one burst bucket (a tenth of the window). */
  get burstBucketInMs(): number {
    return this.bucketInMs
  }

  private state(principal: string): PrincipalState {
    let s = this.principals.get(principal)
    if (!s) this.principals.set(principal, (s = new PrincipalState(principal)))
    return s
  }

  /**
   * Counts one event: in [since, until) it adds to the report, in the look-back window before
   * `since` it only records the principal's IP as known; anything else is ignored. Returns where it went.
   */
  add(event: AccessEvent): 'range' | 'lookback' | 'outside' {
    const t = event.time
    if (t >= this.options.sinceInMs && t < this.options.untilInMs) {
      this.addInRange(event)
      return 'range'
    }

    if (t >= this.lookbackStartInMs && t < this.options.sinceInMs) {
      this.inLookback++
      if (event.ip) this.addKnownIp(event.principal, event.ip)
      return 'lookback'
    }

    return 'outside'
  }

  addKnownIp(principal: string, ip: string): void {
    let set = this.knownIps.get(principal)
    if (!set) this.knownIps.set(principal, (set = new Set()))
    set.add(ip)
  }

  private addInRange(event: AccessEvent): void {
    this.inRange++
    const s = this.state(event.principal)
    const t = event.time
    s.seen(t)
    if (event.kind === 'sign-in') {
      s.signIns++
      this.signInAnalyzer.add(event)
      const day = this.dayEntry(this.options.hours.localDay(t))
      day.signIns++
      if (event.interrupt) {
        s.interrupts++
      } else if (!event.success) {
        s.failures++
        day.failures++
        increment(s.failuresByCode, event.errorCode ?? 'unknown')
        increment(s.failureBuckets, Math.floor(t / this.bucketInMs))
      }

      if (event.country) {
        increment(this.countryCounts, event.country)
        let c = s.countries.get(event.country)
        if (!c) s.countries.set(event.country, (c = {signIns: 0, first: t, last: t, ips: new Set()}))
        c.signIns++
        if (t < c.first) c.first = t
        if (t > c.last) c.last = t
        if (event.ip) c.ips.add(event.ip)
      }
    } else {
      s.operations++
      if (!event.success) s.failedOperations++
      if (event.operation) increment(s.operationsByName, event.operation)
    }

    if (event.ip) this.addIp(event.principal, event.ip, 1, t)
    if (this.options.hours.isOffHours(t)) {
      s.offHours++
      if (t < s.offFirst) s.offFirst = t
      if (t > s.offLast) s.offLast = t
    }
  }

  private dayEntry(day: string): {signIns: number; failures: number} {
    let d = this.daily.get(day)
    if (!d) this.daily.set(day, (d = {signIns: 0, failures: 0}))
    return d
  }

  // ---------------------------------------------------------------- pre-aggregated input (Log Analytics)

  addTotals(totals: PrincipalTotals): void {
    const s = this.state(totals.principal)
    s.signIns += totals.signIns
    s.failures += totals.failures
    s.interrupts += totals.interrupts ?? 0
    s.operations += totals.operations
    s.failedOperations += totals.failedOperations
    s.seen(totals.first)
    s.seen(totals.last)
    s.offHours += totals.offHours
    if (totals.offHours > 0) {
      if (totals.offFirst !== undefined && totals.offFirst < s.offFirst) s.offFirst = totals.offFirst
      if (totals.offLast !== undefined && totals.offLast > s.offLast) s.offLast = totals.offLast
    }

    for (const [code, n] of Object.entries(totals.failuresByCode ?? {})) increment(s.failuresByCode, code, n)
    for (const [name, n] of Object.entries(totals.operationsByName ?? {})) increment(s.operationsByName, name, n)
    this.inRange += totals.signIns + totals.operations
  }

  addIp(principal: string, ip: string, events: number, first: number): void {
    const s = this.state(principal)
    const stats = s.ips.get(ip)
    if (stats) {
      stats.events += events
      if (first < stats.first) stats.first = first
    } else {
      s.ips.set(ip, {events, first})
    }
  }

  addCountry(principal: string, country: string, signIns: number, first: number, last: number, ips: string[]): void {
    const s = this.state(principal)
    const key = country.toUpperCase()
    let c = s.countries.get(key)
    if (!c) s.countries.set(key, (c = {signIns: 0, first, last, ips: new Set()}))
    c.signIns += signIns
    if (first < c.first) c.first = first
    if (last > c.last) c.last = last
    for (const ip of ips) c.ips.add(ip)
    increment(this.countryCounts, key, signIns)
  }

  addDaily(day: string, signIns: number, failures: number): void {
    const d = this.dayEntry(day)
    d.signIns += signIns
    d.failures += failures
  }

  /** A burst window computed by the service: the window ending with bucket `endBucket` held `failures` failed sign-ins. */
  addBurstWindow(principal: string, endBucket: number, failures: number): void {
    const s = this.state(principal)
    s.burstWindows.set(endBucket, Math.max(s.burstWindows.get(endBucket) ?? 0, failures))
  }

  // ---------------------------------------------------------------- results

  principalSummaries(): PrincipalSummary[] {
    const out: PrincipalSummary[] = []
    for (const s of this.principals.values()) {
      if (s.first === Number.POSITIVE_INFINITY) continue
      out.push({
        principal: s.principal,
        signIns: s.signIns,
        failures: s.failures,
        interrupts: s.interrupts,
        failuresByCode: sortedRecord(s.failuresByCode),
        operations: s.operations,
        failedOperations: s.failedOperations,
        operationsByName: sortedRecord(s.operationsByName),
        ips: [...s.ips.keys()].sort(),
        countries: [...s.countries.keys()].sort(),
        firstSeen: iso(s.first),
        lastSeen: iso(s.last),
        offHours: s.offHours,
      })
    }

    return out.sort(
      (a, b) => b.signIns + b.operations - (a.signIns + a.operations) || a.principal.localeCompare(b.principal),
    )
  }

  findings(): Finding[] {
    const findings: Finding[] = []
    const principals = [...this.principals.values()]
      .filter((s) => s.first !== Number.POSITIVE_INFINITY)
      .sort((a, b) => a.principal.localeCompare(b.principal))
    for (const s of principals) {
      for (const [country, c] of [...s.countries].sort(([a], [b]) => a.localeCompare(b))) {
        if (this.allowed.has(country)) continue
        findings.push({
          type: 'country-not-allowed',
          principal: s.principal,
          country,
          signIns: c.signIns,
          ips: [...c.ips].sort(),
          firstSeen: iso(c.first),
          lastSeen: iso(c.last),
          message: `${s.principal} signed in ${c.signIns} time${c.signIns === 1 ? '' : 's'} from ${country}, which is not an allowed country (${[...this.allowed].join(', ') || 'none'}).`,
        })
      }

      findings.push(...this.bursts(s))
      if (this.options.lookbackInMs > 0) {
        const known = this.knownIps.get(s.principal)
        for (const [ip, stats] of [...s.ips].sort(([a], [b]) => a.localeCompare(b))) {
          if (known?.has(ip)) continue
          findings.push({
            type: 'new-ip',
            principal: s.principal,
            ip,
            events: stats.events,
            firstSeen: iso(stats.first),
            message: `${s.principal} used ${ip}, not seen for this principal in the ${formatDays(this.options.lookbackInMs)} before the report range.`,
          })
        }
      }

      if (s.offHours > 0) {
        findings.push({
          type: 'off-hours',
          principal: s.principal,
          events: s.offHours,
          firstSeen: iso(s.offFirst),
          lastSeen: iso(s.offLast),
          message: `${s.principal} accessed the infrastructure ${s.offHours} time${s.offHours === 1 ? '' : 's'} outside working hours (${this.options.hours.describe()}).`,
        })
      }
    }

    findings.push(...this.signInAnalyzer.findings())
    return findings
  }

  /** Windows of BURST_STEPS buckets with at least `burstFailures` failures, merged into episodes. */
  private bursts(s: PrincipalState): BurstFinding[] {
    const threshold = this.options.burstFailures
    const windows = new Map(s.burstWindows)
    if (s.failureBuckets.size > 0 && s.failures >= threshold) {
      const buckets = [...s.failureBuckets.keys()].sort((a, b) => a - b)
      const ends = new Set<number>()
      for (const b of buckets) for (let e = b; e < b + BURST_STEPS; e++) ends.add(e)
      for (const end of [...ends].sort((a, b) => a - b)) {
        let sum = 0
        for (let b = end - BURST_STEPS + 1; b <= end; b++) sum += s.failureBuckets.get(b) ?? 0
        if (sum >= threshold) windows.set(end, Math.max(windows.get(end) ?? 0, sum))
      }
    }

    const qualifying = [...windows].filter(([, n]) => n >= threshold).sort(([a], [b]) => a - b)
    const out: BurstFinding[] = []
    let episode: {firstEnd: number; lastEnd: number; peak: number} | undefined
    const flush = () => {
      if (!episode) return
      const firstBucket =
        this.firstFailureBucket(s, episode.firstEnd - BURST_STEPS + 1, episode.firstEnd) ??
        episode.firstEnd - BURST_STEPS + 1
      const lastBucket =
        this.lastFailureBucket(s, episode.lastEnd - BURST_STEPS + 1, episode.lastEnd) ?? episode.lastEnd
      const from = iso(firstBucket * this.bucketInMs)
      const to = iso((lastBucket + 1) * this.bucketInMs)
      out.push({
        type: 'failure-burst',
        principal: s.principal,
        failures: episode.peak,
        from,
        to,
        message: `${s.principal} failed to sign in ${episode.peak} times within ${formatWindow(this.options.burstWindowInMs)} (between ${from} and ${to}).`,
      })
      episode = undefined
    }

    for (const [end, n] of qualifying) {
      if (episode && end <= episode.lastEnd + BURST_STEPS) {
        episode.lastEnd = end
        episode.peak = Math.max(episode.peak, n)
      } else {
        flush()
        episode = {firstEnd: end, lastEnd: end, peak: n}
      }
    }

    flush()
    return out
  }

  private firstFailureBucket(s: PrincipalState, from: number, to: number): number | undefined {
    for (let b = from; b <= to; b++) if (s.failureBuckets.has(b)) return b
    return undefined
  }

  private lastFailureBucket(s: PrincipalState, from: number, to: number): number | undefined {
    for (let b = to; b >= from; b--) if (s.failureBuckets.has(b)) return b
    return undefined
  }

  /** Sign-ins per local day, every day of the range included (days without sign-ins count 0). */
  dailyCounts(): DailyCount[] {
    const days = new Map(this.daily)
    const first = this.options.hours.localDay(this.options.sinceInMs)
    const last = this.options.hours.localDay(this.options.untilInMs - 1)
    for (let t = Date.parse(`${first}T00:00:00Z`), n = 0; n < 3700; t += 86_400_000, n++) {
      const day = new Date(t).toISOString().slice(0, 10)
      if (day > last) break
      if (!days.has(day)) days.set(day, {signIns: 0, failures: 0})
    }

    return [...days].map(([day, d]) => ({day, ...d})).sort((a, b) => a.day.localeCompare(b.day))
  }

  countryCountsList(): CountryCount[] {
    return [...this.countryCounts]
      .map(([country, signIns]) => ({country, signIns}))
      .sort((a, b) => b.signIns - a.signIns || a.country.localeCompare(b.country))
  }

  settings(): AccessReportSettings {
    return {
      allowedCountries: [...this.allowed],
      timeZone: this.options.hours.timeZone,
      workingHours: this.options.hours.config.workingHours,
      workingDays: [...this.options.hours.config.workingDays],
      burstFailures: this.options.burstFailures,
      burstWindowInMs: this.options.burstWindowInMs,
      lookbackInMs: this.options.lookbackInMs,
      sprayAccounts: this.signInAnalyzer.options.sprayAccounts,
      sprayWindowInMs: this.signInAnalyzer.options.sprayWindowInMs,
    }
  }
}

function sortedRecord(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)))
}

function formatDays(ms: number): string {
  const days = ms / 86_400_000
  return Number.isInteger(days) ? `${days} day${days === 1 ? '' : 's'}` : `${Math.round(ms / 3_600_000)} hours`
}

function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  return `${ms / 1000} s`
}
