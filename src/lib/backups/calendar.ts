/**
 * Which days (or, for backups rarer than daily, which periods of `expect.every`) within
 * `expect.keepDays` hold a backup. Memory is bounded by keepDays, not by the number of backups.
 */
const DAY_IN_MS = 86_400_000

export interface CalendarOptions {
  now: Date
  keepDays: number
  /** `expect.every`; up to a day means "a backup every calendar day (UTC)" */
  everyInMs: number
}

export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}

export class BackupCalendar {
  count = 0
  newest?: Date
  oldest?: Date
  /** backups dated before the keepDays window (retention may not be deleting them) */
  beforeWindow = 0
  private readonly slots = new Set<number>()
  private readonly daily: boolean
  private readonly today: number
  private readonly slotCount: number

  constructor(private readonly options: CalendarOptions) {
    this.daily = options.everyInMs <= DAY_IN_MS
    this.today = Math.floor(options.now.getTime() / DAY_IN_MS)
    this.slotCount = this.daily
      ? options.keepDays
      : Math.max(1, Math.floor((options.keepDays * DAY_IN_MS) / options.everyInMs))
  }

  add(time: Date): void {
    this.count++
    if (!this.newest || time > this.newest) this.newest = time
    if (!this.oldest || time < this.oldest) this.oldest = time
    const slot = this.slotOf(time)
    if (slot === undefined) return
    if (slot >= this.slotCount) this.beforeWindow++
    else this.slots.add(slot)
  }

  /** Slot 0 is the current day (or period); slot k lies k days (periods) back; undefined in the future. */
  private slotOf(time: Date): number | undefined {
    if (this.daily) {
      const back = this.today - Math.floor(time.getTime() / DAY_IN_MS)
      return back < 0 ? undefined : back
    }

    const ago = this.options.now.getTime() - time.getTime()
    return ago < 0 ? undefined : Math.floor(ago / this.options.everyInMs)
  }

  /**
   * The days (YYYY-MM-DD) or periods (YYYY-MM-DD..YYYY-MM-DD) within the window that lack a backup,
   * oldest first. The current day or period is not counted: it has not ended (freshness covers it).
   */
  missing(): string[] {
    const out: string[] = []
    for (let slot = this.slotCount - 1; slot >= 1; slot--) {
      if (this.slots.has(slot)) continue
      if (this.daily) {
        out.push(isoDay(new Date((this.today - slot) * DAY_IN_MS)))
      } else {
        const end = this.options.now.getTime() - slot * this.options.everyInMs
        out.push(`${isoDay(new Date(end - this.options.everyInMs))}..${isoDay(new Date(end))}`)
      }
    }

    return out
  }
}
