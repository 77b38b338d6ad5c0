import { decodeTime, encodeTime, monotonicFactory, TIME_LEN, TIME_MAX } from 'ulid'

/**
 * Crockford base32 ULID: 48-bit millisecond time then 80 random bits; sorts by time. The alphabet is the
 * ulid package's; this pattern is the one copy of it in our code (JSON schemas use its `.source`).
 */
export const ulidCharsSource = '[0-9A-HJKMNP-TV-Z]{26}'

/** A whole string that is one ULID. */
export const ulidPattern = new RegExp(`^${ulidCharsSource}$`)

/** Device ids are one MQTT topic level: no '/', '+', '#', at most 64 characters. */
export const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

const nextUlid = monotonicFactory()

/** A new event id; strictly increasing within this process even inside one millisecond. */
export function newEventId(nowMs: number = Date.now()): string {
  return nextUlid(nowMs)
}

/** The millisecond timestamp encoded in a ULID (throws on a string that is not one). */
export function eventIdTimeMs(id: string): number {
  return decodeTime(id)
}

/**
 * The first ten ULID characters for a time (clamped to what a ULID can hold): every id captured at or
 * after ms sorts at or after it, so a time range is a key range.
 */
export function ulidTimePrefix(ms: number): string {
  return encodeTime(Math.max(0, Math.min(Math.floor(ms), TIME_MAX)), TIME_LEN)
}

/** True for a syntactically valid device id. */
export function isValidDeviceId(deviceId: string): boolean {
  return deviceIdPattern.test(deviceId)
}
