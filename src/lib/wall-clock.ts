/**
 * Wall-clock time in an IANA zone, read through Intl.DateTimeFormat (the zone database of the
 * running Node): the incident clock shows it, the access report's off-hours rule computes with it.
 */

/**
 * A formatter whose `formatToParts` gives every numeric field of the wall-clock time (24-hour)
 * in `timeZone`; throws a RangeError when Node does not know the zone.
 */
export function wallClockFormat(
  timeZone: string,
  locale: string,
  timeZoneName?: Intl.DateTimeFormatOptions['timeZoneName'],
): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    ...(timeZoneName ? {timeZoneName} : {}),
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  })
}
