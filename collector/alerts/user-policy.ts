import type { Alert } from './alert.js'
import type { AlertUser } from './alerts-config.js'

/** Why an alert is not sent to a user. */
export type Suppression = 'kind_off' | 'cooldown' | 'quiet_hours' | 'parent_suppressed' | 'foreign_device'

/** Minutes since local midnight in a time zone (the collector's when none is given). */
export function localMinutes(nowMs: number, timeZone?: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...(timeZone ? { timeZone } : {}),
  }).formatToParts(new Date(nowMs))
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0)
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0)
  return hour * 60 + minute
}

/** True when minutes-of-day falls in [start, end), a window that may wrap midnight (22:00-07:00). */
export function isInWindow(minutes: number, start: string, end: string): boolean {
  const toMin = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))
  const from = toMin(start)
  const to = toMin(end)
  if (from === to) return false
  return from < to ? minutes >= from && minutes < to : minutes >= from || minutes < to
}

/**
 * Per-user decisions: kinds on or off, quiet hours, and a cooldown per device and kind so a double press
 * sends one notification. An update (snapshot, clip) goes to exactly the users its first alert reached,
 * and only when it comes from that alert's device: a device's snapshot whose relatesTo names another
 * device's press must not replace that press's notification (foreign_device).
 */
export class UserAlertPolicy {
  readonly #lastSentMs = new Map<string, number>()
  /** tag -> the device of its first alert and the users it reached; bounded, oldest forgotten first. */
  readonly #reached = new Map<string, { deviceId: string | undefined; users: Set<string> }>()
  readonly #maxTags: number

  constructor(maxTags = 10_000) {
    this.#maxTags = maxTags
  }

  /** Undefined when the alert goes to the user (and records it), or why not. */
  decide(user: AlertUser, alert: Alert, nowMs: number): Suppression | undefined {
    if (alert.isUpdate) {
      const first = this.#reached.get(alert.tag)
      if (first && first.deviceId !== alert.deviceId) return 'foreign_device'
      return first?.users.has(user.name) ? undefined : 'parent_suppressed'
    }
    if (alert.kind === 'sla' || alert.kind === 'delivery') return 'kind_off'
    if (!user.kinds.includes(alert.kind)) return 'kind_off'
    const quiet = user.quietHours
    if (
      quiet &&
      !quiet.allowKinds.includes(alert.kind) &&
      isInWindow(localMinutes(nowMs, quiet.timeZone), quiet.start, quiet.end)
    ) {
      return 'quiet_hours'
    }
    const key = `${user.name}\u0000${alert.deviceId ?? ''}\u0000${alert.kind}`
    const last = this.#lastSentMs.get(key)
    if (last !== undefined && nowMs - last < user.cooldownMs) return 'cooldown'
    this.#lastSentMs.set(key, nowMs)
    let first = this.#reached.get(alert.tag)
    if (!first) {
      first = { deviceId: alert.deviceId, users: new Set() }
      this.#reached.set(alert.tag, first)
      if (this.#reached.size > this.#maxTags) {
        const oldest = this.#reached.keys().next().value
        if (oldest !== undefined) this.#reached.delete(oldest)
      }
    }
    first.users.add(user.name)
    return undefined
  }
}
