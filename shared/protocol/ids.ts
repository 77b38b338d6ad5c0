import { monotonicFactory } from 'ulid'

/** Crockford base32 ULID: 48-bit millisecond time then 80 random bits; sorts by time. */
export const ulidPattern = /^[0-9A-HJKMNP-TV-Z]{26}$/

/** Device ids are one MQTT topic level: no '/', '+', '#', at most 64 characters. */
export const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

const nextUlid = monotonicFactory()

/** A new event id; strictly increasing within this process even inside one millisecond. */
export function newEventId(nowMs: number = Date.now()): string {
  return nextUlid(nowMs)
}

/** The millisecond timestamp encoded in a ULID. */
export function eventIdTimeMs(id: string): number {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
  let ms = 0
  for (const char of id.slice(0, 10)) ms = ms * 32 + alphabet.indexOf(char)
  return ms
}

/** True for a syntactically valid device id. */
export function isValidDeviceId(deviceId: string): boolean {
  return deviceIdPattern.test(deviceId)
}
