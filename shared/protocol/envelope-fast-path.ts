import { z } from 'zod'
import { type EventClass, eventClasses } from './classes.js'
import { deviceIdPattern, ulidPattern } from './ids.js'
import { maxAckIds } from './limits.js'

/**
 * The common valid envelopes checked in plain code, without zod: readings, presses, motion, status and
 * acks are most of what a collector decodes and an agent receives, and zod's safeParse of the header and
 * payload cost about 1 µs of the 2 µs a reading's decode took. Each check here accepts a subset of what
 * the zod schema (envelope.ts, messages.ts) accepts and builds the same output; anything it does not
 * accept, valid or not, goes to zod, which gives every rejection its message as before. The property test
 * (test/shared/protocol/envelope-fast-path.test.ts) holds the two to that.
 */

type Plain = Record<string, unknown>

/** The datetime pattern zod uses for `z.iso.datetime({ offset: true })` (the test compares the two). */
export const isoDateTimeWithOffset = z.core.regexes.datetime({ offset: true, local: false, precision: null })

const classSet: ReadonlySet<string> = new Set(eventClasses)

function isPlain(value: unknown): value is Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** True when every own key of value is in keys and at least `required` of them are present. */
function hasOnlyKeys(value: Plain, keys: ReadonlySet<string>, required: readonly string[]): boolean {
  let count = 0
  for (const key in value) {
    if (!Object.hasOwn(value, key) || !keys.has(key)) return false
    count += 1
  }
  if (count < required.length) return false
  for (const key of required) if (!Object.hasOwn(value, key)) return false
  return true
}

const isNumberIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && value >= min && value <= max

const isStringOf = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max

const isUlid = (value: unknown): value is string => typeof value === 'string' && ulidPattern.test(value)

/** A payload check: the output zod would give, or undefined to let zod decide. */
type PayloadCheck = (payload: unknown) => object | undefined

const keys = (...names: string[]): ReadonlySet<string> => new Set(names)
const sensorKeys = keys('celsius', 'sensor')
const lightKeys = keys('lux', 'sensor')
const soundKeys = keys('dbfs', 'peakDbfs', 'windowMs', 'isLoud')
const pressKeys = keys('button')
const motionKeys = keys('armed', 'zone')
const statusKeys = keys('state')
const ackKeys = keys('ids', 'rejected')
const rejectedKeys = keys('id', 'code', 'retry')

function ackIds(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > maxAckIds) return undefined
  for (const id of value) if (!isUlid(id)) return undefined
  return value.slice()
}

function ackRejected(value: unknown): { id: string; code: string; retry: boolean }[] | undefined {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > maxAckIds) return undefined
  const out: { id: string; code: string; retry: boolean }[] = []
  for (const entry of value) {
    if (!isPlain(entry) || !hasOnlyKeys(entry, rejectedKeys, ['id', 'code', 'retry'])) return undefined
    const { id, code, retry } = entry
    if (!isUlid(id) || !isStringOf(code, 1, 64) || typeof retry !== 'boolean') return undefined
    out.push({ id, code, retry })
  }
  return out
}

/** The types checked here; every other type goes to zod. */
const payloadChecks: Readonly<Record<string, PayloadCheck>> = {
  temperature(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, sensorKeys, ['celsius', 'sensor'])) return undefined
    const { celsius, sensor } = p
    return isNumberIn(celsius, -60, 150) && isStringOf(sensor, 1, 64) ? { celsius, sensor } : undefined
  },
  light(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, lightKeys, ['lux', 'sensor'])) return undefined
    const { lux, sensor } = p
    return isNumberIn(lux, 0, 200_000) && isStringOf(sensor, 1, 64) ? { lux, sensor } : undefined
  },
  'sound.level'(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, soundKeys, ['dbfs', 'peakDbfs', 'windowMs', 'isLoud']))
      return undefined
    const { dbfs, peakDbfs, windowMs, isLoud } = p
    const isValid =
      isNumberIn(dbfs, -200, 0) &&
      isNumberIn(peakDbfs, -200, 0) &&
      Number.isSafeInteger(windowMs) &&
      isNumberIn(windowMs, 1, 600_000) &&
      typeof isLoud === 'boolean'
    return isValid ? { dbfs, peakDbfs, windowMs, isLoud } : undefined
  },
  'button.press'(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, pressKeys, [])) return undefined
    const button = p.button === undefined ? 'front' : p.button
    return isStringOf(button, 1, 32) ? { button } : undefined
  },
  motion(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, motionKeys, ['armed'])) return undefined
    const { armed, zone } = p
    if (typeof armed !== 'boolean') return undefined
    if (zone === undefined) return Object.hasOwn(p, 'zone') ? undefined : { armed }
    return isStringOf(zone, 1, 32) ? { armed, zone } : undefined
  },
  status(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, statusKeys, ['state'])) return undefined
    return p.state === 'online' || p.state === 'offline' ? { state: p.state } : undefined
  },
  ack(p) {
    if (!isPlain(p) || !hasOnlyKeys(p, ackKeys, ['ids'])) return undefined
    if (Object.hasOwn(p, 'rejected') && p.rejected === undefined) return undefined
    const ids = ackIds(p.ids)
    const rejected = ids && ackRejected(p.rejected)
    return ids && rejected ? { ids, rejected } : undefined
  },
}

const headerKeys = keys('v', 'id', 'deviceId', 'seq', 'class', 'type', 'capturedAt', 'payload')
const headerRequired = ['v', 'id', 'deviceId', 'seq', 'class', 'type', 'capturedAt', 'payload']

/** The envelope fields as zod's header schema outputs them, in its key order. */
export interface FastEnvelope {
  readonly v: 1
  readonly id: string
  readonly deviceId: string
  readonly seq: number
  readonly class: EventClass
  readonly type: string
  readonly capturedAt: string
  readonly payload: object
}

/**
 * The validated envelope when value is a common, valid one, with the classes its type may travel in
 * already checked by allowedClasses; undefined otherwise (zod then decides, and words any rejection).
 */
export function acceptCommonEnvelope(
  value: unknown,
  allowedClasses: (type: string) => readonly string[] | undefined,
): FastEnvelope | undefined {
  if (!isPlain(value) || !hasOnlyKeys(value, headerKeys, headerRequired)) return undefined
  const { v, id, deviceId, seq, class: eventClass, type, capturedAt } = value
  if (v !== 1 || !isUlid(id) || typeof deviceId !== 'string' || !deviceIdPattern.test(deviceId))
    return undefined
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) return undefined
  if (typeof eventClass !== 'string' || !classSet.has(eventClass) || typeof type !== 'string')
    return undefined
  if (typeof capturedAt !== 'string' || !isoDateTimeWithOffset.test(capturedAt)) return undefined
  const check = Object.hasOwn(payloadChecks, type) ? payloadChecks[type] : undefined
  if (!check || !allowedClasses(type)?.includes(eventClass)) return undefined
  const payload = check(value.payload)
  if (!payload) return undefined
  return Object.freeze({
    v,
    id,
    deviceId,
    seq: seq as number,
    class: eventClass as EventClass,
    type,
    capturedAt,
    payload,
  })
}
