/**
 * Working hours in the operator's time zone (data map `access.timeZone`, `access.workingHours`,
 * `access.workingDays`). Local time comes from Intl.DateTimeFormat, so daylight saving time follows
 * the IANA rules of the zone; the zone's UTC offset is cached per quarter hour of UTC time (no zone
 * changes its offset inside a quarter hour), which keeps the per-event cost to a map lookup.
 */
import {usageError} from '../errors.js'
import {wallClockFormat} from '../wall-clock.js'

export interface WorkingHoursConfig {
  /** IANA zone, e.g. Europe/Berlin */
  timeZone: string
  /** `HH:MM-HH:MM`; an end before the start spans midnight (`22:00-06:00`) */
  workingHours: string
  /** 0 = Sunday … 6 = Saturday */
  workingDays: number[]
}

/** The local wall-clock view of one instant. */
export interface LocalTime {
  /** YYYY-MM-DD in the zone */
  day: string
  /** 0 = Sunday … 6 = Saturday */
  weekday: number
  /** minutes since local midnight */
  minuteOfDay: number
}

const QUARTER_HOUR_MS = 15 * 60_000
const MAX_CACHED_OFFSETS = 50_000

export class WorkingHours {
  readonly timeZone: string
  private readonly startMinute: number
  private readonly endMinute: number
  private readonly days: Set<number>
  private readonly format: Intl.DateTimeFormat
  /** per quarter hour of UTC time: the zone's offset and the local day */
  private readonly blocks = new Map<number, {offset: number; day: string}>()

  constructor(readonly config: WorkingHoursConfig) {
    this.timeZone = config.timeZone
    try {
      this.format = wallClockFormat(config.timeZone, 'en-US')
    } catch {
      throw usageError(
        `The time zone "${config.timeZone}" (access.timeZone) is not a known IANA time zone.`,
        'Use a name like Europe/Berlin or UTC.',
      )
    }

    const match = /^([0-2][0-9]):([0-5][0-9])-([0-2][0-9]):([0-5][0-9])$/.exec(config.workingHours)
    if (!match || Number(match[1]) > 24 || Number(match[3]) > 24) {
      throw usageError(
        `The working hours "${config.workingHours}" (access.workingHours) are not of the form HH:MM-HH:MM.`,
        'Write them like 07:00-19:00.',
      )
    }

    this.startMinute = Number(match[1]) * 60 + Number(match[2])
    this.endMinute = Number(match[3]) * 60 + Number(match[4])
    this.days = new Set(config.workingDays)
  }

  /** Milliseconds to add to a UTC instant to get the zone's wall-clock time. */
  offsetInMs(timeInMs: number): number {
    return this.block(timeInMs).offset
  }

  private block(timeInMs: number): {offset: number; day: string} {
    const index = Math.floor(timeInMs / QUARTER_HOUR_MS)
    let entry = this.blocks.get(index)
    if (entry === undefined) {
      const start = index * QUARTER_HOUR_MS
      const offset = this.computeOffset(start)
      // offsets are whole quarter hours, so a local day never starts inside a block
      entry = {offset, day: new Date(start + offset).toISOString().slice(0, 10)}
      if (this.blocks.size >= MAX_CACHED_OFFSETS) this.blocks.clear()
      this.blocks.set(index, entry)
    }

    return entry
  }

  private computeOffset(timeInMs: number): number {
    const parts: Record<string, number> = {}
    for (const p of this.format.formatToParts(new Date(timeInMs)))
      if (p.type !== 'literal') parts[p.type] = Number(p.value)
    const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second)
    return asUtc - Math.floor(timeInMs / 1000) * 1000
  }

  local(timeInMs: number): LocalTime {
    const shifted = new Date(timeInMs + this.offsetInMs(timeInMs))
    return {
      day: shifted.toISOString().slice(0, 10),
      weekday: shifted.getUTCDay(),
      minuteOfDay: shifted.getUTCHours() * 60 + shifted.getUTCMinutes(),
    }
  }

  /** The local calendar day (YYYY-MM-DD) of an instant. */
  localDay(timeInMs: number): string {
    return this.block(timeInMs).day
  }

  /** True when the instant falls outside the working days or hours. */
  isOffHours(timeInMs: number): boolean {
    const shifted = timeInMs + this.offsetInMs(timeInMs)
    const dayMs = 86_400_000
    const daysSinceEpoch = Math.floor(shifted / dayMs)
    // 1970-01-01 was a Thursday (4)
    const weekday = (((daysSinceEpoch + 4) % 7) + 7) % 7
    const minute = Math.floor((shifted - daysSinceEpoch * dayMs) / 60_000)
    if (this.startMinute <= this.endMinute) {
      return !this.days.has(weekday) || minute < this.startMinute || minute >= this.endMinute
    }

    // a shift over midnight belongs to the day it starts on
    if (minute >= this.startMinute) return !this.days.has(weekday)
    if (minute < this.endMinute) return !this.days.has((weekday + 6) % 7)
    return true
  }

  /** `07:00-19:00 Mon–Fri Europe/Berlin`, for reports. */
  describe(): string {
    const names = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
    const days = [...this.days]
      .sort((a, b) => a - b)
      .map((d) => names[d])
      .join(',')
    return `${this.config.workingHours} ${days} ${this.timeZone}`
  }
}
