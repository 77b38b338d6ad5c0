import { join } from 'node:path'
import type { Registry } from 'prom-client'
import { eventIdTimeMs, newEventId } from '../../shared/protocol/index.js'
import type { CollectorEvent } from '../events/collector-event.js'
import type { Forwarder } from '../forwarding/forwarder.js'
import type { StoredEvent } from '../store/event-store.js'
import { type Alert, type AlertLinks, alertFromEvent, alertLinks } from './alert.js'
import type { AlertEvent } from './alert-event.js'
import { AlertMetrics } from './alert-metrics.js'
import type { AlertsConfig, AlertUser } from './alerts-config.js'
import type { Channel, Recipient } from './channel.js'
import { createChannels } from './create-channels.js'
import { type DeadLetterLog, FileDeadLetterLog } from './dead-letter-log.js'
import { DeliveryLanes, type DeliveryOutcome } from './delivery-lanes.js'
import { healthAlert, temperatureAlert } from './derived-alerts.js'
import { type DeviceHealthLoad, type DeviceHealthStore, FileDeviceHealthStore } from './device-health-file.js'
import { DeviceHealthMonitor, type HealthTransition } from './device-health-monitor.js'
import { OperatorReports } from './operator-reports.js'
import { FilePushSubscriptionStore, type PushSubscriptionStore } from './push-subscription-store.js'
import { SlaTracker } from './sla-tracker.js'
import { type TemperatureAnomaly, TemperatureAnomalyDetector } from './temperature-anomaly.js'
import { ThrottledSaver } from './throttled-saver.js'
import { UserAlertPolicy } from './user-policy.js'

export type { AlertEvent } from './alert-event.js'

/** Collaborators of the alert service. */
export interface AlertServiceDeps {
  readonly config: AlertsConfig
  /** The collector's data folder; alerts keep `alerts/` inside it. */
  readonly dataDir: string
  readonly now?: () => number
  readonly onEvent?: (event: AlertEvent) => void
  /** Replaces the channels built from config (tests). */
  readonly channels?: readonly Channel[]
  readonly deadLetters?: DeadLetterLog
  readonly subscriptions?: PushSubscriptionStore
  readonly healthStore?: DeviceHealthStore
  /** What the health store held at start (the caller awaits its load); default none. */
  readonly savedHealth?: DeviceHealthLoad
  /** Current homeowner settings (the dashboard's settings store); default the config's users. */
  readonly users?: () => readonly AlertUser[]
}

/** Hooks that observe raised alerts and stored events (Home Assistant discovery plugs in here). */
export interface AlertObserver {
  close?(): void
  onStored?(events: readonly StoredEvent[]): void
  onAlert?(alert: Alert): void
  onHealth?(transition: HealthTransition): void
  /** The registry's enabled devices, at start and after each change. */
  onDevices?(enabledDeviceIds: readonly string[]): void
  /** A read-only service user (Home Assistant) subscribed to these filters. */
  onServiceSubscribed?(filters: readonly string[]): void
}

/**
 * The alert pipeline (issue 9): turns stored events and presence into alerts, applies each user's
 * settings, delivers through per-channel lanes with retries and a dead-letter log, measures every SLA as
 * a histogram, and tells the operator about breaches. Collector-facing entry points are the forwarder,
 * onStored and onCollectorEvent; none of them blocks ingest.
 */
export class AlertService {
  readonly metrics = new AlertMetrics()
  readonly health: DeviceHealthMonitor
  readonly subscriptions: PushSubscriptionStore
  readonly deadLetters: DeadLetterLog
  readonly lanes: DeliveryLanes
  readonly #config: AlertsConfig
  readonly #now: () => number
  readonly #users: () => readonly AlertUser[]
  readonly #onEvent: (event: AlertEvent) => void
  readonly #links: AlertLinks
  readonly #policy = new UserAlertPolicy()
  readonly #temperature: TemperatureAnomalyDetector
  readonly #sla: SlaTracker
  readonly #operatorReports: OperatorReports
  readonly #observers: AlertObserver[] = []
  readonly #healthTimer: NodeJS.Timeout
  readonly #healthSaver: ThrottledSaver
  #isClosed = false

  /** The forwarder to hand to startCollector: presses, armed motion and their snapshots and clips. */
  readonly forwarder: Forwarder = {
    name: 'alerts',
    forward: async (event) => {
      const alert = alertFromEvent(event, this.#links)
      if (alert) this.raise(alert)
    },
  }

  constructor(deps: AlertServiceDeps) {
    this.#config = deps.config
    this.#now = deps.now ?? Date.now
    this.#users = deps.users ?? (() => deps.config.users)
    this.#onEvent = (event) => {
      try {
        deps.onEvent?.(event)
      } catch {
        // A faulty observer must not break alerts.
      }
    }
    this.#links = alertLinks(deps.config.publicUrl)
    const dir = join(deps.dataDir, 'alerts')
    this.subscriptions =
      deps.subscriptions ?? new FilePushSubscriptionStore(join(dir, 'push-subscriptions.json'))
    this.deadLetters = deps.deadLetters ?? new FileDeadLetterLog(join(dir, 'dead-letters.jsonl'))
    const channels =
      deps.channels ??
      createChannels(deps.config, {
        subscriptions: this.subscriptions,
        onSubscriptionGone: (subscription, status) =>
          this.#onEvent({ kind: 'subscription_gone', user: subscription.user, status }),
      })
    this.lanes = new DeliveryLanes({
      channels,
      retry: deps.config.retry,
      deadLetters: this.deadLetters,
      now: this.#now,
      onOutcome: (outcome) => this.#onDelivery(outcome),
    })
    this.#operatorReports = new OperatorReports({
      cooldownMs: deps.config.sla.operatorCooldownMs,
      now: this.#now,
      raise: (alert) => this.raiseOperator(alert),
    })
    this.#sla = new SlaTracker({
      targetMsOf: (eventClass) => deps.config.sla[eventClass].targetMs,
      metrics: this.metrics,
      reports: this.#operatorReports,
      onViolation: (violation) => this.#onEvent({ kind: 'sla_violation', ...violation }),
    })
    this.health = new DeviceHealthMonitor(deps.config.health)
    const healthStore = deps.healthStore ?? new FileDeviceHealthStore(join(dir, 'device-health.json'))
    const saved = deps.savedHealth ?? { records: [] }
    if (saved.err) this.#onEvent({ kind: 'health_state_invalid', err: saved.err })
    this.health.restore(saved.records, this.#now())
    this.#healthSaver = new ThrottledSaver({
      save: () => healthStore.save(this.health.records(), this.#now()),
      intervalMs: healthSaveIntervalMs,
      onError: (err) => this.#onEvent({ kind: 'task_failed', task: 'device health save', err }),
    })
    this.#temperature = new TemperatureAnomalyDetector(deps.config.temperature)
    this.#healthTimer = setInterval(() => {
      const transitions = this.health.check(this.#now())
      if (transitions.length > 0) this.#afterHealthUpdate(transitions)
    }, deps.config.health.checkIntervalMs)
    this.#healthTimer.unref()
  }

  /** Adds the alert metrics to the collector's registry, so GET /metrics shows them. */
  registerMetrics(registry: Registry): void {
    this.metrics.registerInto(registry)
  }

  /** Adds an observer of alerts, stored events and health changes. */
  addObserver(observer: AlertObserver): void {
    this.#observers.push(observer)
  }

  /** Sends an alert to every user whose settings allow it, on each of their channels. */
  raise(alert: Alert): void {
    if (this.#isClosed) return
    this.metrics.raised.inc({ kind: alert.kind })
    this.#notifyObservers((o) => o.onAlert?.(alert))
    const nowMs = this.#now()
    for (const user of this.#users()) {
      const suppression = this.#policy.decide(user, alert, nowMs)
      if (suppression) {
        this.metrics.suppressed.inc({ reason: suppression })
        this.#onEvent({ kind: 'suppressed', user: user.name, alertId: alert.id, reason: suppression })
        continue
      }
      const recipient: Recipient = { name: user.name, isOperator: false }
      for (const channel of user.channels) this.lanes.enqueue(channel, alert, recipient)
    }
  }

  /** Sends a test notification to one user's channels, bypassing their policy; the channels it went to. */
  sendTest(userName: string): string[] {
    const user = this.#users().find((u) => u.name === userName)
    if (!user || this.#isClosed) return []
    const nowMs = this.#now()
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
      this.lanes.enqueue(channel, alert, { name: user.name, isOperator: false })
    return [...user.channels]
  }

  /** Sends an alert to the operator's channels (SLA breaches, dead letters). */
  raiseOperator(alert: Alert): void {
    if (this.#isClosed) return
    this.metrics.raised.inc({ kind: alert.kind })
    const recipient: Recipient = { name: 'operator', isOperator: true }
    for (const channel of this.#config.operatorChannels) this.lanes.enqueue(channel, alert, recipient)
  }

  /** Newly stored events: heartbeats, readings for analytics, and the storage SLA of medium events. */
  onStored(events: readonly StoredEvent[]): void {
    // Health is updated once per device per commit (a commit holds thousands of events under load).
    const lastByDevice = new Map<
      string,
      { atMs: number; health?: Extract<StoredEvent, { type: 'health' }> }
    >()
    for (const event of events) {
      let last = lastByDevice.get(event.deviceId)
      if (!last) {
        last = { atMs: event.receivedAtMs }
        lastByDevice.set(event.deviceId, last)
      } else if (event.receivedAtMs > last.atMs) last.atMs = event.receivedAtMs
      if (event.type === 'health') last.health = event
      if (event.class !== 'medium') continue
      const capturedMs = Date.parse(event.capturedAt)
      this.#sla.observe('medium', 'store', event.receivedAtMs - capturedMs, event.id)
      if (event.type === 'temperature') {
        const { sensor, celsius } = event.payload
        const anomaly = this.#temperature.observe(event.deviceId, sensor, celsius, capturedMs)
        if (anomaly) this.#onAnomaly(anomaly)
      }
    }
    const transitions: (HealthTransition | undefined)[] = []
    for (const [deviceId, last] of lastByDevice) {
      if (last.health)
        transitions.push(this.health.seen(deviceId, last.health.receivedAtMs, last.health.payload))
      transitions.push(this.health.seen(deviceId, last.atMs))
    }
    this.#afterHealthUpdate(transitions)
    this.#notifyObservers((o) => o.onStored?.(events))
  }

  /** Presence changes, registry changes, service subscriptions and finished clips from the collector. */
  onCollectorEvent(event: CollectorEvent): void {
    if (event.kind === 'presence') {
      this.#afterHealthUpdate([this.health.presence(event.deviceId, event.state, this.#now())])
    } else if (event.kind === 'registry_changed') {
      void this.watchDevices(event.enabledDeviceIds)
    } else if (event.kind === 'service_subscribed') {
      this.#notifyObservers((o) => o.onServiceSubscribed?.(event.filters))
    } else if (event.kind === 'clip' && event.verdict === 'complete') {
      // The clip id is a ULID minted when recording started: "clip available within 24 h" of capture.
      this.#sla.observe('low', 'clip', this.#now() - eventIdTimeMs(event.clipId), event.clipId)
    }
  }

  /**
   * The registry's enabled devices (at start and after each change): device health watches exactly these,
   * and observers hear of them (Home Assistant discovery withdraws the others).
   */
  watchDevices(deviceIds: readonly string[]): Promise<void> {
    const saved = this.health.watch(deviceIds, this.#now())
      ? this.#healthSaver.changed(true)
      : Promise.resolve()
    this.#notifyObservers((o) => o.onDevices?.(deviceIds))
    return saved
  }

  /** Resolves when every queued delivery and retry is done. */
  whenIdle(): Promise<void> {
    return this.lanes.whenIdle()
  }

  /**
   * Stops timers and channels; deliveries waiting for a retry are dead-lettered. Device health is saved
   * one last time: what follows (the last wills the broker publishes as it closes) is not a device fault.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    clearInterval(this.#healthTimer)
    await this.#healthSaver.close()
    this.#notifyObservers((o) => o.close?.())
    await this.lanes.close()
  }

  #onDelivery(outcome: DeliveryOutcome): void {
    this.metrics.deliveries.inc({ channel: outcome.channel, outcome: outcome.kind })
    this.#onEvent({ kind: 'delivery', outcome })
    if (outcome.kind === 'sent' && !outcome.recipient.isOperator && isTimed(outcome.alert)) {
      const latencyMs = outcome.atMs - outcome.alert.capturedAtMs
      this.#sla.observe(outcome.alert.eventClass, outcome.channel, latencyMs, outcome.alert.id)
    }
    if (outcome.kind === 'dead_letter' && !outcome.recipient.isOperator) {
      this.#operatorReports.once(`dead:${outcome.channel}`, {
        kind: 'delivery',
        title: 'Doorbell: a notification could not be delivered',
        body: `Channel ${outcome.channel} failed ${outcome.attempt} time(s) for ${outcome.recipient.name}; see the dead-letter log.`,
      })
    }
  }

  /** Raises the alerts of the transitions, then saves the state: at once after a transition. */
  #afterHealthUpdate(transitions: readonly (HealthTransition | undefined)[]): void {
    let isTransition = false
    for (const transition of transitions) {
      if (!transition) continue
      isTransition = true
      this.#onHealth(transition)
    }
    void this.#healthSaver.changed(isTransition)
  }

  #onHealth(transition: HealthTransition): void {
    this.#onEvent({ kind: 'device_health', transition })
    this.#notifyObservers((o) => o.onHealth?.(transition))
    this.raise(healthAlert(transition))
  }

  #onAnomaly(anomaly: TemperatureAnomaly): void {
    this.#onEvent({ kind: 'temperature_anomaly', anomaly })
    this.raise(temperatureAlert(anomaly))
  }

  #notifyObservers(call: (observer: AlertObserver) => void): void {
    for (const observer of this.#observers) {
      try {
        call(observer)
      } catch (err) {
        this.#onEvent({ kind: 'task_failed', task: 'alert observer', err })
      }
    }
  }
}

/** Least time between two saves of device health for last-seen times alone (transitions save at once). */
const healthSaveIntervalMs = 5000

/** Presses and motion are measured against the SLA of their class; derived alerts have no capture time. */
function isTimed(alert: Alert): boolean {
  return alert.kind === 'press' || alert.kind === 'motion'
}
