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

/** Crockford base32 digit of each char code below 128 (either case, as the ulid package reads it); -1 if none. */
const base32Digit = new Int8Array(128).fill(-1)
for (const [i, char] of [...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'].entries()) {
  base32Digit[char.charCodeAt(0)] = i
  base32Digit[char.toLowerCase().charCodeAt(0)] = i
}

/**
 * The millisecond timestamp encoded in a ULID (throws on a string that is not one). A table lookup per
 * character: the ingest path reads the time of every event id, and the ulid package's decodeTime (split,
 * reverse, indexOf, Math.pow per character) cost about 1 µs a message there. Anything the fast loop does
 * not accept goes to decodeTime, so errors and their messages stay the package's own.
 */
export function eventIdTimeMs(id: string): number {
  if (id.length !== 26) return decodeTime(id)
  let time = 0
  for (let i = 0; i < TIME_LEN; i++) {
    const code = id.charCodeAt(i)
    const digit = code < 128 ? (base32Digit[code] as number) : -1
    if (digit < 0) return decodeTime(id)
    time = time * 32 + digit
  }
  return time > TIME_MAX ? decodeTime(id) : time
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
