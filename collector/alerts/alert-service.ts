import { eventIdTimeMs } from '../../shared/protocol/index.js'
import type { Forwarder } from '../forwarding/forwarder.js'
import type { StoredEvent } from '../store/event-store.js'
import { type AlertLinks, alertFromEvent } from './alert.js'
import type { AlertEvent } from './alert-event.js'
import type { AlertRouter } from './alert-router.js'
import { healthAlert, temperatureAlert } from './derived-alerts.js'
import type { HealthTransition } from './device-health-monitor.js'
import type { DeviceHealthTracker } from './device-health-tracker.js'
import type { SlaTracker } from './sla-tracker.js'
import type { TemperatureAnomalyDetector } from './temperature-anomaly.js'

export type { AlertEvent } from './alert-event.js'

/** Where what the collector hears from devices goes for device health: the tracker, or a fleet's shared view. */
export interface HealthFeed {
  /** One commit's events. */
  seen(events: readonly StoredEvent[]): void
  /** The device's status topic or last will. */
  presence(deviceId: string, state: 'online' | 'offline'): void
}

/** The parts of the alert pipeline, each built on its own (alert-pipeline.ts). */
export interface AlertServiceDeps {
  /** Users, their settings and channels. */
  readonly router: AlertRouter
  readonly health: DeviceHealthTracker
  /** Instead of the tracker itself (a fleet: every node's observations meet in PostgreSQL). */
  readonly healthFeed?: HealthFeed
  readonly sla: SlaTracker
  readonly temperature: TemperatureAnomalyDetector
  /** The delivery lanes, to wait for and to close. */
  readonly lanes: { whenIdle(): Promise<void>; close(): Promise<void> }
  readonly links: AlertLinks
  readonly now: () => number
  readonly onEvent: (event: AlertEvent) => void
}

/**
 * What the collector's facts mean for alerts: stored presses and motion become alerts (the forwarder),
 * stored events feed device health, the storage SLA of medium events and the temperature watch, presence
 * feeds device health, and a finished clip its SLA. None of it blocks ingest.
 */
export class AlertService {
  readonly #deps: AlertServiceDeps
  #isClosed = false

  /** The forwarder the alerts extension adds: presses, armed motion and their snapshots and clips. */
  readonly forwarder: Forwarder = {
    name: 'alerts',
    forward: async (event) => {
      const alert = alertFromEvent(event, this.#deps.links)
      if (alert) this.#deps.router.raise(alert)
    },
  }

  constructor(deps: AlertServiceDeps) {
    this.#deps = deps
  }

  /** Newly stored events: the storage SLA of medium events, temperature anomalies, then device health. */
  onStored(events: readonly StoredEvent[]): void {
    const { sla, temperature } = this.#deps
    for (const event of events) {
      if (event.class !== 'medium') continue
      const capturedMs = Date.parse(event.capturedAt)
      sla.observe('medium', 'store', event.receivedAtMs - capturedMs, event.id)
      if (event.type === 'temperature') {
        const { sensor, celsius } = event.payload
        const anomaly = temperature.observe(event.deviceId, sensor, celsius, capturedMs)
        if (anomaly) {
          this.#deps.onEvent({ kind: 'temperature_anomaly', anomaly })
          this.#deps.router.raise(temperatureAlert(anomaly))
        }
      }
    }
    ;(this.#deps.healthFeed ?? this.#deps.health).seen(events)
  }

  /** A device's status topic or last will. */
  onPresence(deviceId: string, state: 'online' | 'offline'): void {
    ;(this.#deps.healthFeed ?? this.#deps.health).presence(deviceId, state)
  }

  /** A clip passed its check: "clip available within 24 h" of capture (the clip id is a ULID minted then). */
  onClipComplete(clipId: string): void {
    this.#deps.sla.observe('low', 'clip', this.#deps.now() - eventIdTimeMs(clipId), clipId)
  }

  /**
   * The registry's enabled devices (at start and after each change): device health watches exactly these.
   * Resolves once a change it made is saved.
   */
  watchDevices(deviceIds: readonly string[]): Promise<void> {
    return this.#deps.health.watch(deviceIds)
  }

  /** A device went offline or came back (the tracker's onTransition). */
  onHealthTransition(transition: HealthTransition): void {
    this.#deps.onEvent({ kind: 'device_health', transition })
    this.#deps.router.raise(healthAlert(transition))
  }

  /** Resolves when every queued delivery and retry is done. */
  whenIdle(): Promise<void> {
    return this.#deps.lanes.whenIdle()
  }

  /**
   * Stops timers and channels; deliveries waiting for a retry are dead-lettered. Device health is saved
   * one last time: what follows (the last wills the broker publishes as it closes) is not a device fault.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return
    this.#isClosed = true
    this.#deps.router.close()
    await this.#deps.health.close()
    await this.#deps.lanes.close()
  }
}
