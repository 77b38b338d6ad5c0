import { alertLinks } from './alert.js'
import type { AlertEvent } from './alert-event.js'
import { AlertMetrics } from './alert-metrics.js'
import { AlertRouter } from './alert-router.js'
import { AlertService, type HealthFeed } from './alert-service.js'
import type { AlertsConfig, AlertUser } from './alerts-config.js'
import { CapturingDeliveryQueue } from './capturing-delivery-queue.js'
import type { Channel } from './channel.js'
import { createChannels } from './create-channels.js'
import type { DeadLetterLog } from './dead-letter-log.js'
import { DeliveryLanes, type DeliveryOutcome } from './delivery-lanes.js'
import type { DeviceHealthLoad, DeviceHealthStore } from './device-health-store.js'
import { DeviceHealthTracker } from './device-health-tracker.js'
import { OperatorReports } from './operator-reports.js'
import type { PushSubscriptionStore } from './push-subscription-store.js'
import { SlaTracker } from './sla-tracker.js'
import { TemperatureAnomalyDetector } from './temperature-anomaly.js'

/** What the alert pipeline is built from. */
export interface AlertPipelineDeps {
  readonly config: AlertsConfig
  readonly now: () => number
  readonly onEvent: (event: AlertEvent) => void
  /** The homeowners as the alerts see them now. */
  readonly users: () => readonly AlertUser[]
  readonly stores: {
    readonly pushSubscriptions: PushSubscriptionStore
    readonly deadLetters: DeadLetterLog
    readonly deviceHealth: DeviceHealthStore
  }
  /** What the device health store held at start (the caller awaits its load). */
  readonly savedHealth: DeviceHealthLoad
  /** Replaces the channels built from config. */
  readonly channels?: readonly Channel[]
  /** Takes what devices are heard doing instead of the tracker (a fleet's shared view, which feeds it). */
  readonly healthFeed?: HealthFeed
  /** False while another fleet node raises device-health alerts (default: this node does). */
  readonly isHealthLeader?: () => boolean
}

/** The alert pipeline's parts: the service that takes the collector's facts, and what the routes read. */
export interface AlertPipeline {
  readonly service: AlertService
  readonly router: AlertRouter
  readonly health: DeviceHealthTracker
  readonly metrics: AlertMetrics
  /** The router's queue; a fleet captures deliveries from it for its shared outbox. */
  readonly queue: CapturingDeliveryQueue
  /** The channels, for a fleet's outbox to send through. */
  readonly channels: readonly Channel[]
  /** Counts a delivery made outside the lanes (a fleet's outbox) as the lanes' own are counted. */
  readonly reportDelivery: (outcome: DeliveryOutcome) => void
}

/**
 * Builds the alert pipeline (docs/alerts.md): channels and their delivery lanes with retries and the
 * dead-letter log, the per-user router, device health, SLA tracking with operator reports, the
 * temperature watch, and the service that connects them to the collector's facts.
 */
export function createAlertPipeline(deps: AlertPipelineDeps): AlertPipeline {
  const { config, now, onEvent } = deps
  const metrics = new AlertMetrics()
  const channels =
    deps.channels ??
    createChannels(config, {
      subscriptions: deps.stores.pushSubscriptions,
      onSubscriptionGone: (subscription, status) =>
        onEvent({ kind: 'subscription_gone', user: subscription.user, status }),
      onEndpointRefused: () => metrics.endpointsRefused.inc({ at: 'send' }),
    })
  const operatorReports = new OperatorReports({
    cooldownMs: config.sla.operatorCooldownMs,
    now,
    raise: (alert) => router.raiseOperator(alert),
  })
  const sla = new SlaTracker({
    targetMsOf: (eventClass) => config.sla[eventClass].targetMs,
    metrics,
    reports: operatorReports,
    onViolation: (violation) => onEvent({ kind: 'sla_violation', ...violation }),
  })
  const lanes = new DeliveryLanes({
    channels,
    retry: config.retry,
    deadLetters: deps.stores.deadLetters,
    now,
    onOutcome: (outcome) => reportDelivery(outcome),
  })
  const queue = new CapturingDeliveryQueue(lanes)
  const router = new AlertRouter({
    lanes: queue,
    users: deps.users,
    operatorChannels: config.operatorChannels,
    metrics,
    now,
    onEvent,
  })
  const health = new DeviceHealthTracker({
    thresholds: config.health,
    store: deps.stores.deviceHealth,
    saved: deps.savedHealth,
    now,
    onTransition: (transition) => {
      if (deps.isHealthLeader?.() ?? true) service.onHealthTransition(transition)
    },
    onEvent,
  })
  const service = new AlertService({
    router,
    health,
    sla,
    ...(deps.healthFeed ? { healthFeed: deps.healthFeed } : {}),
    temperature: new TemperatureAnomalyDetector(config.temperature),
    lanes,
    links: alertLinks(config.publicUrl),
    now,
    onEvent,
  })

  /** Counts a delivery, measures it against its SLA, and tells the operator of a dead letter. */
  function reportDelivery(outcome: DeliveryOutcome): void {
    metrics.deliveries.inc({ channel: outcome.channel, outcome: outcome.kind })
    onEvent({ kind: 'delivery', outcome })
    if (outcome.kind === 'sent' && !outcome.recipient.isOperator && isTimed(outcome.alert.kind)) {
      const latencyMs = outcome.atMs - outcome.alert.capturedAtMs
      sla.observe(outcome.alert.eventClass, outcome.channel, latencyMs, outcome.alert.id)
    }
    if (outcome.kind === 'dead_letter' && !outcome.recipient.isOperator) {
      operatorReports.once(`dead:${outcome.channel}`, {
        kind: 'delivery',
        title: 'Doorbell: a notification could not be delivered',
        body: `Channel ${outcome.channel} failed ${outcome.attempt} time(s) for ${outcome.recipient.name}; see the dead-letter log.`,
      })
    }
  }

  return { service, router, health, metrics, queue, channels, reportDelivery }
}

/** Presses and motion are measured against the SLA of their class; derived alerts have no capture time. */
function isTimed(kind: string): boolean {
  return kind === 'press' || kind === 'motion'
}
