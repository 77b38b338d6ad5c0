import type { EventClass } from '../../shared/protocol/index.js'
import type { AlertMetrics } from './alert-metrics.js'
import type { OperatorReports } from './operator-reports.js'

/** A reported SLA breach, with the violations of its class and channel since the last report. */
export interface SlaViolation {
  readonly eventClass: EventClass
  readonly channel: string
  readonly latencyMs: number
  readonly targetMs: number
  readonly subjectId: string
  /** Violations of this class and channel since the last report (reports are rate-limited). */
  readonly count: number
}

/** Collaborators of the SLA tracker. */
export interface SlaTrackerDeps {
  /** Target per class, in ms. */
  readonly targetMsOf: (eventClass: EventClass) => number
  readonly metrics: AlertMetrics
  readonly reports: OperatorReports
  /** Called for each breach that was reported to the operator (main.ts logs it as an error). */
  readonly onViolation: (violation: SlaViolation) => void
}

/**
 * Per-class SLAs: every latency goes into the histogram of its class and channel; a breach is
 * counted, and reported to the operator at most once per cooldown with the count since the last report.
 */
export class SlaTracker {
  readonly #deps: SlaTrackerDeps
  readonly #unreported = new Map<string, number>()

  constructor(deps: SlaTrackerDeps) {
    this.#deps = deps
  }

  /** Records one latency: capture to delivery on a channel, or to storage (`store`, `clip`). */
  observe(eventClass: EventClass, channel: string, latencyMs: number, subjectId: string): void {
    const { metrics, reports } = this.#deps
    const boundedMs = Math.max(0, latencyMs)
    metrics.latencyOf(eventClass, channel).observe(boundedMs / 1000)
    const targetMs = this.#deps.targetMsOf(eventClass)
    if (boundedMs <= targetMs) return
    metrics.violations.inc({ class: eventClass, channel })
    // Every violation is counted; the error log and the operator alert are rate-limited together, so a
    // backlog replayed after an outage (thousands of late readings) is one report, with its count.
    const key = `sla:${eventClass}:${channel}`
    const count = (this.#unreported.get(key) ?? 0) + 1
    const isReported = reports.once(key, {
      kind: 'sla',
      title: `Doorbell SLA missed: ${eventClass} via ${channel}`,
      body: `${Math.round(boundedMs)} ms against a target of ${targetMs} ms (${subjectId}); ${count} violation(s) since the last report.`,
    })
    if (!isReported) {
      this.#unreported.set(key, count)
      return
    }
    this.#unreported.delete(key)
    this.#deps.onViolation({ eventClass, channel, latencyMs: boundedMs, targetMs, subjectId, count })
  }
}
