import type { PayloadOf } from '../../shared/protocol/index.js'

/** Thresholds of the health monitor (alerts.health in the config). */
export interface HealthThresholds {
  readonly offlineAfterMs: number
  readonly minDiskFreeBytes: number
  readonly maxOutboxEvents: number
}

/** Why a device went offline or came back. */
export type PresenceReason = 'last_will' | 'heartbeat_timeout' | 'status' | 'event'

/** A device changed between online and offline (as far as alerts are concerned). */
export interface HealthTransition {
  readonly deviceId: string
  readonly state: 'online' | 'offline'
  readonly reason: PresenceReason
  readonly atMs: number
  /** When the device was last heard from; null when never (a registered device that did not show up). */
  readonly lastSeenMs: number | null
}

/** The "is everything OK" status of one device, as GET /api/devices/health returns it. */
export interface DeviceHealthStatus {
  readonly deviceId: string
  /** ok: online and nothing wrong; degraded: online with problems; offline. */
  readonly status: 'ok' | 'degraded' | 'offline'
  readonly problems: readonly string[]
  /** null for a registered device not heard from yet. */
  readonly lastSeenAt: string | null
  readonly offlineSince: string | null
  readonly health: PayloadOf<'health'> | null
  readonly lastHealthAt: string | null
}

/** One device's state as it is saved across restarts (device-health-store.ts). */
export interface DeviceHealthRecord {
  readonly deviceId: string
  readonly isOnline: boolean
  readonly lastSeenMs: number | null
  readonly offlineSinceMs: number | null
  readonly health: PayloadOf<'health'> | null
  readonly lastHealthMs: number | null
}

interface DeviceState {
  isOnline: boolean
  lastSeenMs: number | null
  /** The silence timeout counts from here when it is later than lastSeenMs (a restart, a registration). */
  graceFromMs?: number
  offlineSinceMs?: number
  health?: PayloadOf<'health'>
  lastHealthMs?: number
}

/**
 * Device health for alerts: offline when the last will fires (or the device says so) or when
 * nothing was heard for offlineAfterMs; back online on the next status or event. Transitions are
 * returned to the caller, which raises the alerts; check() is called on a timer by the service.
 * The state survives restarts through records()/restore(); watch() keeps it to the registered devices.
 */
export class DeviceHealthMonitor {
  readonly #thresholds: HealthThresholds
  readonly #devices = new Map<string, DeviceState>()

  constructor(thresholds: HealthThresholds) {
    this.#thresholds = thresholds
  }

  /** Something arrived from the device (an event, a heartbeat); a health payload updates the details. */
  seen(deviceId: string, atMs: number, health?: PayloadOf<'health'>): HealthTransition | undefined {
    const state = this.#devices.get(deviceId)
    if (health) {
      const next = state ?? { isOnline: true, lastSeenMs: atMs }
      next.health = health
      next.lastHealthMs = atMs
      this.#devices.set(deviceId, next)
    }
    return this.#markOnline(deviceId, atMs, 'event')
  }

  /** The device's presence topic changed (its own status, or its last will). */
  presence(deviceId: string, state: 'online' | 'offline', atMs: number): HealthTransition | undefined {
    if (state === 'online') return this.#markOnline(deviceId, atMs, 'status')
    const device = this.#devices.get(deviceId) ?? { isOnline: true, lastSeenMs: atMs }
    this.#devices.set(deviceId, device)
    return this.#markOffline(deviceId, device, atMs, 'last_will')
  }

  /** When the device was last heard from: null when never, undefined when it is not known. */
  lastSeenMs(deviceId: string): number | null | undefined {
    return this.#devices.get(deviceId)?.lastSeenMs
  }

  /** Devices silent for longer than the threshold go offline. */
  check(nowMs: number): HealthTransition[] {
    const transitions: HealthTransition[] = []
    for (const [deviceId, device] of this.#devices) {
      const silentSinceMs = Math.max(device.lastSeenMs ?? 0, device.graceFromMs ?? 0)
      if (device.isOnline && nowMs - silentSinceMs > this.#thresholds.offlineAfterMs) {
        const transition = this.#markOffline(deviceId, device, nowMs, 'heartbeat_timeout')
        if (transition) transitions.push(transition)
      }
    }
    return transitions
  }

  /**
   * Takes back the state saved before a restart. Offline devices stay offline since their saved time (their
   * alert was sent); online ones get offlineAfterMs of grace from nowMs, as the collector heard nothing
   * while it was down and cannot tell a dead device from one that had no reason to talk to it.
   */
  restore(records: readonly DeviceHealthRecord[], nowMs: number): void {
    for (const record of records) {
      this.#devices.set(record.deviceId, {
        isOnline: record.isOnline,
        lastSeenMs: record.lastSeenMs,
        ...(record.isOnline ? { graceFromMs: nowMs } : {}),
        ...(record.offlineSinceMs === null || record.isOnline
          ? {}
          : { offlineSinceMs: record.offlineSinceMs }),
        ...(record.health === null ? {} : { health: record.health }),
        ...(record.lastHealthMs === null ? {} : { lastHealthMs: record.lastHealthMs }),
      })
    }
  }

  /**
   * Watches exactly these devices (the registry's enabled ones): others are forgotten, and one not known
   * yet counts as online with offlineAfterMs of grace from nowMs, so a device that never shows up is
   * reported offline. True when the set of devices changed.
   */
  watch(deviceIds: Iterable<string>, nowMs: number): boolean {
    const wanted = new Set(deviceIds)
    let isChanged = false
    for (const deviceId of this.#devices.keys()) {
      if (wanted.has(deviceId)) continue
      this.#devices.delete(deviceId)
      isChanged = true
    }
    for (const deviceId of wanted) {
      if (this.#devices.has(deviceId)) continue
      this.#devices.set(deviceId, { isOnline: true, lastSeenMs: null, graceFromMs: nowMs })
      isChanged = true
    }
    return isChanged
  }

  /** The state to save, one record per device. */
  records(): DeviceHealthRecord[] {
    return [...this.#devices].map(([deviceId, device]) => ({
      deviceId,
      isOnline: device.isOnline,
      lastSeenMs: device.lastSeenMs,
      offlineSinceMs: device.offlineSinceMs ?? null,
      health: device.health ?? null,
      lastHealthMs: device.lastHealthMs ?? null,
    }))
  }

  /** The status of every known device, sorted by id. */
  statuses(nowMs: number): DeviceHealthStatus[] {
    return [...this.#devices.keys()].sort().map((id) => this.status(id, nowMs) as DeviceHealthStatus)
  }

  /** The status of one device, or undefined when never heard from. */
  status(deviceId: string, nowMs: number): DeviceHealthStatus | undefined {
    const device = this.#devices.get(deviceId)
    if (!device) return undefined
    const problems: string[] = []
    const health = device.health
    if (!device.isOnline) problems.push('offline')
    if (health) {
      if (health.diskFreeBytes !== null && health.diskFreeBytes < this.#thresholds.minDiskFreeBytes)
        problems.push('disk_low')
      const waiting = health.outbox.high + health.outbox.medium + health.outbox.low
      if (waiting > this.#thresholds.maxOutboxEvents) problems.push('outbox_backlog')
      if (health.outbox.high > 0 && nowMs - (device.lastHealthMs ?? 0) < this.#thresholds.offlineAfterMs)
        problems.push('alerts_waiting')
    }
    if (device.lastHealthMs === undefined || nowMs - device.lastHealthMs > this.#thresholds.offlineAfterMs)
      problems.push('no_recent_health')
    return {
      deviceId,
      status: !device.isOnline ? 'offline' : problems.length > 0 ? 'degraded' : 'ok',
      problems,
      lastSeenAt: device.lastSeenMs === null ? null : new Date(device.lastSeenMs).toISOString(),
      offlineSince:
        device.offlineSinceMs === undefined ? null : new Date(device.offlineSinceMs).toISOString(),
      health: health ?? null,
      lastHealthAt: device.lastHealthMs === undefined ? null : new Date(device.lastHealthMs).toISOString(),
    }
  }

  #markOnline(deviceId: string, atMs: number, reason: PresenceReason): HealthTransition | undefined {
    const device = this.#devices.get(deviceId)
    if (!device) {
      this.#devices.set(deviceId, { isOnline: true, lastSeenMs: atMs })
      return undefined
    }
    device.lastSeenMs = Math.max(device.lastSeenMs ?? atMs, atMs)
    if (device.isOnline) return undefined
    device.isOnline = true
    delete device.offlineSinceMs
    return { deviceId, state: 'online', reason, atMs, lastSeenMs: device.lastSeenMs }
  }

  #markOffline(
    deviceId: string,
    device: DeviceState,
    atMs: number,
    reason: PresenceReason,
  ): HealthTransition | undefined {
    if (!device.isOnline) return undefined
    device.isOnline = false
    device.offlineSinceMs = atMs
    return { deviceId, state: 'offline', reason, atMs, lastSeenMs: device.lastSeenMs }
  }
}
