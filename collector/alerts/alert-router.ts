import { newEventId } from '../../shared/protocol/index.js'
import type { Alert } from './alert.js'
import type { AlertEvent } from './alert-event.js'
import type { AlertMetrics } from './alert-metrics.js'
import type { AlertUser } from './alerts-config.js'
import type { Recipient } from './channel.js'
import { UserAlertPolicy } from './user-policy.js'

/** Where the router queues deliveries (DeliveryLanes). */
export interface DeliveryQueue {
  /** Queues one delivery on a channel; false when the channel is unknown or its lane is full. */
  enqueue(channelName: string, alert: Alert, recipient: Recipient): boolean
}

/** Collaborators of the router. */
export interface AlertRouterDeps {
  readonly lanes: DeliveryQueue
  /** The homeowners as the alerts see them now (their saved settings over the config's). */
  readonly users: () => readonly AlertUser[]
  readonly operatorChannels: readonly string[]
  readonly metrics: AlertMetrics
  readonly now: () => number
  readonly onEvent: (event: AlertEvent) => void
  readonly policy?: UserAlertPolicy
}

/**
 * Sends each alert to every user whose settings allow it, on each of their channels, and operator alerts
 * to the operator's channels. Each user is routed inside an error boundary: one user's bad setting (a
 * time zone Intl does not know) is reported (routing_failed) and counted, and the others still get it.
 */
export class AlertRouter {
  readonly #deps: AlertRouterDeps
  readonly #policy: UserAlertPolicy
  #isClosed = false

  constructor(deps: AlertRouterDeps) {
    this.#deps = deps
    this.#policy = deps.policy ?? new UserAlertPolicy()
  }

  /** Sends an alert to every user whose settings allow it, on each of their channels. */
  raise(alert: Alert): void {
    if (this.#isClosed) return
    const { metrics, onEvent } = this.#deps
    metrics.raised.inc({ kind: alert.kind })
    const nowMs = this.#deps.now()
    for (const user of this.#deps.users()) {
      try {
        this.#route(user, alert, nowMs)
      } catch (err) {
        metrics.routingFailures.inc()
        onEvent({ kind: 'routing_failed', user: user.name, alertId: alert.id, err })
      }
    }
  }

  /** Sends an alert to the operator's channels (SLA breaches, dead letters). */
  raiseOperator(alert: Alert): void {
    if (this.#isClosed) return
    this.#deps.metrics.raised.inc({ kind: alert.kind })
    const recipient: Recipient = { name: 'operator', isOperator: true }
    for (const channel of this.#deps.operatorChannels) this.#deps.lanes.enqueue(channel, alert, recipient)
  }

  /** Sends a test notification to one user's channels, bypassing their policy; the channels it went to. */
  sendTest(userName: string): string[] {
    const user = this.#deps.users().find((u) => u.name === userName)
    if (!user || this.#isClosed) return []
    const nowMs = this.#deps.now()
    const id = newEventId(nowMs)
    const alert: Alert = {
      id,
      tag: `test-${id}`,
      kind: 'press',
      eventClass: 'high',
      title: 'Test notification',
      body: `Notifications reach ${user.name} on this channel.`,
      priority: 3,
      tags: ['test'],
      capturedAtMs: nowMs,
      isUpdate: false,
    }
    for (const channel of user.channels)
      this.#deps.lanes.enqueue(channel, alert, { name: user.name, isOperator: false })
    return [...user.channels]
  }

  /** Routes nothing more. */
  close(): void {
    this.#isClosed = true
  }

  #route(user: AlertUser, alert: Alert, nowMs: number): void {
    const suppression = this.#policy.decide(user, alert, nowMs)
    if (suppression) {
      this.#deps.metrics.suppressed.inc({ reason: suppression })
      this.#deps.onEvent({ kind: 'suppressed', user: user.name, alertId: alert.id, reason: suppression })
      return
    }
    const recipient: Recipient = { name: user.name, isOperator: false }
    for (const channel of user.channels) this.#deps.lanes.enqueue(channel, alert, recipient)
  }
}
