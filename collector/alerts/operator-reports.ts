import { newEventId } from '../../shared/protocol/index.js'
import type { Alert } from './alert.js'

/** What the operator is told: an SLA breach or a notification that could not be delivered. */
export interface OperatorReport {
  readonly kind: 'sla' | 'delivery'
  readonly title: string
  readonly body: string
}

/** Collaborators of the operator reports. */
export interface OperatorReportsDeps {
  /** At most one report per key within this time. */
  readonly cooldownMs: number
  readonly now: () => number
  /** Sends the alert to the operator's channels. */
  readonly raise: (alert: Alert) => void
}

/**
 * Alerts to the operator, rate-limited per key (`sla:<class>:<channel>`, `dead:<channel>`): a backlog of
 * late readings after an outage, or a channel failing for every press, is one report per cooldown.
 */
export class OperatorReports {
  readonly #deps: OperatorReportsDeps
  readonly #lastReportMs = new Map<string, number>()

  constructor(deps: OperatorReportsDeps) {
    this.#deps = deps
  }

  /** Sends the report unless one with this key went out within the cooldown; true when this one was sent. */
  once(key: string, report: OperatorReport): boolean {
    const nowMs = this.#deps.now()
    const last = this.#lastReportMs.get(key)
    if (last !== undefined && nowMs - last < this.#deps.cooldownMs) return false
    this.#lastReportMs.set(key, nowMs)
    this.#deps.raise({
      ...report,
      id: newEventId(nowMs),
      tag: key.replaceAll(/[^A-Za-z0-9_-]/g, '-'),
      eventClass: 'high',
      priority: 4,
      tags: ['warning'],
      capturedAtMs: nowMs,
      isUpdate: false,
    })
    return true
  }
}
