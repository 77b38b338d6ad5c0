// Times in the homeowner's time zone: the one their settings name, else the browser's own (never UTC
// unless that is what they live in). Every view formats times through these functions.
let settingsZone = null

/** The browser's IANA time zone. */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone
}

/** Uses the zone of the user's settings; null or empty goes back to the browser's. */
export function useTimeZone(zone) {
  settingsZone = zone || null
}

/** The zone times are shown in. */
export function timeZone() {
  return settingsZone ?? browserTimeZone()
}

/** Date and time with the zone's short name, for the event detail: "Tue, Dec 3, 2024, 9:05:12 AM EST". */
export function dateTime(iso) {
  return new Date(iso).toLocaleString(undefined, {
    timeZone: timeZone(),
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  })
}

/** Compact, for lists: the time alone today, "Yesterday" and the time, else the date and the time. */
export function shortDateTime(iso, nowMs = Date.now()) {
  const zone = timeZone()
  const day = (ms) => new Date(ms).toLocaleDateString('en-CA', { timeZone: zone })
  const time = new Date(iso).toLocaleTimeString(undefined, {
    timeZone: zone,
    hour: 'numeric',
    minute: '2-digit',
    second: '2-digit',
  })
  const at = Date.parse(iso)
  if (day(at) === day(nowMs)) return time
  if (day(at) === day(nowMs - 24 * 60 * 60 * 1000)) return `Yesterday ${time}`
  const date = new Date(iso).toLocaleDateString(undefined, {
    timeZone: zone,
    month: 'short',
    day: 'numeric',
    ...(day(at).slice(0, 4) === day(nowMs).slice(0, 4) ? {} : { year: 'numeric' }),
  })
  return `${date}, ${time}`
}

/** Hours and minutes, for chart axes. */
export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString(undefined, {
    timeZone: timeZone(),
    hour: 'numeric',
    minute: '2-digit',
  })
}
