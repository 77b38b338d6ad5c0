import type { StoredEvent } from '../store/event-store.js'
import type { AlertEvent } from './alert-event.js'
import {
  DeviceHealthMonitor,
  type DeviceHealthStatus,
  type HealthThresholds,
  type HealthTransition,
} from './device-health-monitor.js'
import type { DeviceHealthLoad, DeviceHealthStore } from './device-health-store.js'
import { ThrottledSaver } from './throttled-saver.js'

/** Least time between two saves of device health for last-seen times alone (transitions save at once). */
const healthSaveIntervalMs = 5000

/** Collaborators of the tracker. */
export interface DeviceHealthTrackerDeps {
  readonly thresholds: HealthThresholds & { readonly checkIntervalMs: number }
  /** Where health is kept across restarts. */
  readonly store: DeviceHealthStore
  /** What the store held at start (the caller awaits its load). */
  readonly saved: DeviceHealthLoad
  readonly now: () => number
  /** A device went offline or came back. */
  readonly onTransition: (transition: HealthTransition) => void
  /** Reports an unreadable saved state and failed saves. */
  readonly onEvent: (event: AlertEvent) => void
}

/**
 * Device health across restarts: the monitor (heartbeats, last wills, thresholds), restored from its store
 * at start and saved at once after a transition (throttled for last-seen times alone), with a timer that
 * finds devices gone quiet. After close it takes no more updates: what follows is the collector's shutdown.
 */
export class DeviceHealthTracker {
  readonly #deps: DeviceHealthTrackerDeps
  readonly #monitor: DeviceHealthMonitor
  readonly #saver: ThrottledSaver
  readonly #timer: NodeJS.Timeout
  #isClosed = false

  constructor(deps: DeviceHealthTrackerDeps) {
    this.#deps = deps
    this.#monitor = new DeviceHealthMonitor(deps.thresholds)
    const { saved } = deps
    if (saved.err) deps.onEvent({ kind: 'health_state_invalid', err: saved.err })
    this.#monitor.restore(saved.records, deps.now())
    this.#saver = new ThrottledSaver({
      save: () => deps.store.save(this.#monitor.records(), deps.now()),
      intervalMs: healthSaveIntervalMs,
      onError: (err) => deps.onEvent({ kind: 'task_failed', task: 'device health save', err }),
    })
    this.#timer = setInterval(() => {
      const transitions = this.#monitor.check(deps.now())
      if (transitions.length > 0) this.#apply(transitions)
    }, deps.thresholds.checkIntervalMs)
    this.#timer.unref()
  }

  /** Every device's status now (GET /api/devices/health). */
  statuses(nowMs: number): DeviceHealthStatus[] {
    return this.#monitor.statuses(nowMs)
  }

  /** One commit's events: each device was seen, once per commit (a commit holds thousands under load). */
  seen(events: readonly StoredEvent[]): void {
    if (this.#isClosed) return
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
    }
    const transitions: (HealthTransition | undefined)[] = []
    for (const [deviceId, last] of lastByDevice) {
      if (last.health)
        transitions.push(this.#monitor.seen(deviceId, last.health.receivedAtMs, last.health.payload))
      transitions.push(this.#monitor.seen(deviceId, last.atMs))
    }
    this.#apply(transitions)
  }

  /** The device's status topic or last will, heard now or (another fleet node's) at atMs. */
  presence(deviceId: string, state: 'online' | 'offline', atMs = this.#deps.now()): void {
    if (this.#isClosed) return
    this.#apply([this.#monitor.presence(deviceId, state, atMs)])
  }

  /** The device was heard from at atMs (another fleet node stored its events), with its health payload. */
  observe(deviceId: string, atMs: number, health?: Parameters<DeviceHealthMonitor['seen']>[2]): void {
    if (this.#isClosed) return
    this.#apply([this.#monitor.seen(deviceId, atMs, health)])
  }

  /** When the device was last heard from: null when never, undefined when it is not watched. */
  lastSeenMs(deviceId: string): number | null | undefined {
    return this.#monitor.lastSeenMs(deviceId)
  }

  /**
   * The registry's enabled devices (at start and after each change): health watches exactly these.
   * Resolves once the change, if any, is saved.
   */
  watch(deviceIds: readonly string[]): Promise<void> {
    if (this.#isClosed) return Promise.resolve()
    return this.#monitor.watch(deviceIds, this.#deps.now()) ? this.#saver.changed(true) : Promise.resolve()
  }

  /** Stops the timer and resolves once the last save is written. */
  close(): Promise<void> {
    if (!this.#isClosed) {
      this.#isClosed = true
      clearInterval(this.#timer)
    }
    return this.#saver.close()
  }

  /** Reports the transitions, then saves: at once after a transition. */
  #apply(transitions: readonly (HealthTransition | undefined)[]): void {
    let isTransition = false
    for (const transition of transitions) {
      if (!transition) continue
      isTransition = true
      this.#deps.onTransition(transition)
    }
    void this.#saver.changed(isTransition)
  }
}
