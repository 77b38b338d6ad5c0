import type { HealthFeed } from '../alerts/alert-service.js'
import type { DeviceHealthTracker } from '../alerts/device-health-tracker.js'
import {
  type DeviceObservation,
  type MergedObservation,
  PostgresDeviceObservations,
} from '../postgres/postgres-device-observations.js'
import type { StoredEvent } from '../store/event-store.js'
import type { FleetHandles } from './collector-engines.js'
import { startFleetLease } from './fleet-lease.js'
import type { LeaseKeeper } from './lease-keeper.js'

/** A read asks again for the changes of this long before the last one it saw (slow commits). */
const rereadMarginMs = 2000

/** Collaborators of a FleetDeviceHealth. */
export interface FleetDeviceHealthDeps {
  readonly fleet: FleetHandles
  /** How often this node writes what it heard from devices. */
  readonly flushMs: number
  /** How often it reads what the fleet heard (the monitor's own check interval). */
  readonly pollMs: number
  readonly leaseTtlMs: number
  readonly now: () => number
  readonly onLeaderChange?: (isLeader: boolean) => void
  readonly onError: (err: unknown) => void
}

/** The parts of the tracker the fleet's view feeds. */
type TrackerInput = Pick<DeviceHealthTracker, 'observe' | 'presence' | 'lastSeenMs'>

/** What of a device's merged row this node has already applied, by time. */
interface Applied {
  seenMs: number
  healthMs: number
  presenceMs: number
}

/**
 * Device health for a fleet. A device is connected to one node and its events may be stored by any, so
 * each node writes what it heard (events stored, status, last will) to PostgreSQL, merged per device
 * (PostgresDeviceObservations), and feeds its own tracker from the merged rows: every node's monitor sees
 * the fleet's view, and GET /api/devices/health answers the same on every node. Only the holder of the
 * `device-health` lease raises offline and online alerts (isLeader, for the pipeline).
 */
export class FleetDeviceHealth implements HealthFeed {
  readonly #deps: FleetDeviceHealthDeps
  readonly #observations: PostgresDeviceObservations
  readonly #lease: LeaseKeeper
  readonly #pending = new Map<string, DeviceObservation>()
  readonly #applied = new Map<string, Applied>()
  #tracker: TrackerInput | undefined
  #since: string | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined
  #polling: Promise<void> | undefined

  private constructor(deps: FleetDeviceHealthDeps, lease: LeaseKeeper) {
    this.#deps = deps
    this.#observations = new PostgresDeviceObservations(deps.fleet.db)
    this.#lease = lease
  }

  /** Takes part in the device-health lease (the first answer is in when it resolves). */
  static async start(deps: FleetDeviceHealthDeps): Promise<FleetDeviceHealth> {
    const lease = await startFleetLease(deps.fleet, {
      name: 'device-health',
      ttlMs: deps.leaseTtlMs,
      onError: deps.onError,
      ...(deps.onLeaderChange ? { onChange: deps.onLeaderChange } : {}),
    })
    return new FleetDeviceHealth(deps, lease)
  }

  /** True while this node raises the fleet's device-health alerts. */
  get isLeader(): boolean {
    return this.#lease.isLeader
  }

  seen(events: readonly StoredEvent[]): void {
    // Once per device and commit, as the tracker does (a commit holds thousands of events under load).
    const latest = new Map<string, { atMs: number; health?: Extract<StoredEvent, { type: 'health' }> }>()
    for (const event of events) {
      const last = latest.get(event.deviceId)
      if (!last) latest.set(event.deviceId, { atMs: event.receivedAtMs })
      else if (event.receivedAtMs > last.atMs) last.atMs = event.receivedAtMs
      if (event.type === 'health') (latest.get(event.deviceId) as { health?: typeof event }).health = event
    }
    for (const [deviceId, last] of latest) {
      const pending = this.#pendingOf(deviceId)
      const health =
        last.health && last.health.receivedAtMs >= (pending.health?.atMs ?? 0)
          ? { payload: last.health.payload, atMs: last.health.receivedAtMs }
          : pending.health
      this.#pending.set(deviceId, {
        ...pending,
        lastSeenMs: Math.max(pending.lastSeenMs ?? 0, last.atMs),
        ...(health ? { health } : {}),
      })
    }
  }

  presence(deviceId: string, state: 'online' | 'offline'): void {
    this.#pending.set(deviceId, { ...this.#pendingOf(deviceId), presence: { state, atMs: this.#deps.now() } })
  }

  /** Feeds tracker from the fleet's view from now on: a first read at once, then every pollMs. */
  async follow(tracker: TrackerInput): Promise<void> {
    this.#tracker = tracker
    await this.#poll()
    this.#flushTimer = setInterval(() => void this.#flush(), this.#deps.flushMs)
    this.#flushTimer.unref()
    this.#pollTimer = setInterval(() => void this.#poll(), this.#deps.pollMs)
    this.#pollTimer.unref()
  }

  /** Writes what is pending now and reads the fleet's changes (tests; the timers do the same). */
  async sync(): Promise<void> {
    await this.#flush()
    await this.#poll()
  }

  /** Stops the timers, writes what it heard last, gives up the lease. */
  async stop(): Promise<void> {
    clearInterval(this.#flushTimer)
    clearInterval(this.#pollTimer)
    await this.#polling
    await this.#flush()
    await this.#lease.stop()
  }

  #pendingOf(deviceId: string): DeviceObservation {
    return this.#pending.get(deviceId) ?? { deviceId }
  }

  #flush(): Promise<void> {
    this.#flushing ??= (async () => {
      const batch = [...this.#pending.values()]
      this.#pending.clear()
      try {
        await this.#observations.write(batch)
      } catch (err) {
        // Kept for the next flush, unless newer news of the device came meanwhile.
        for (const observation of batch)
          if (!this.#pending.has(observation.deviceId)) this.#pending.set(observation.deviceId, observation)
        this.#deps.onError(err)
      }
    })().finally(() => {
      this.#flushing = undefined
    })
    return this.#flushing
  }

  #poll(): Promise<void> {
    this.#polling ??= (async () => {
      try {
        const { rows, next } = await this.#observations.changedSince(this.#since, rereadMarginMs)
        this.#since = next
        for (const row of rows) this.#apply(row)
      } catch (err) {
        this.#deps.onError(err)
      }
    })().finally(() => {
      this.#polling = undefined
    })
    return this.#polling
  }

  /** Applies what of a merged row is newer than what was applied, oldest first; reading a row again is a no-op. */
  #apply(row: MergedObservation): void {
    const tracker = this.#tracker
    if (!tracker) return
    const applied = this.#applied.get(row.deviceId) ?? { seenMs: -1, healthMs: -1, presenceMs: -1 }
    const steps: { atMs: number; run: () => void }[] = []
    const { health, presence, lastSeenMs } = row
    if (health && health.atMs > applied.healthMs)
      steps.push({ atMs: health.atMs, run: () => tracker.observe(row.deviceId, health.atMs, health.payload) })
    if (lastSeenMs !== null && lastSeenMs > applied.seenMs)
      steps.push({ atMs: lastSeenMs, run: () => tracker.observe(row.deviceId, lastSeenMs) })
    // A presence older than what the tracker already knows (its state saved before a restart) is history.
    const knownMs = tracker.lastSeenMs(row.deviceId)
    if (presence && presence.atMs > applied.presenceMs && (knownMs == null || presence.atMs >= knownMs))
      steps.push({
        atMs: presence.atMs,
        run: () => tracker.presence(row.deviceId, presence.state, presence.atMs),
      })
    steps.sort((a, b) => a.atMs - b.atMs)
    for (const step of steps) step.run()
    this.#applied.set(row.deviceId, {
      seenMs: Math.max(applied.seenMs, lastSeenMs ?? -1),
      healthMs: Math.max(applied.healthMs, health?.atMs ?? -1),
      presenceMs: Math.max(applied.presenceMs, presence?.atMs ?? -1),
    })
  }
}
