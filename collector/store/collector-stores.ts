import { chmodSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DoorbellError } from '../../shared/errors.js'
import type { Quotas } from '../access/quotas.js'
import type { DeadLetterLog } from '../alerts/dead-letter-log.js'
import type { DeviceHealthStore } from '../alerts/device-health-store.js'
import type { DiscoveryStateStore } from '../alerts/discovery-state-store.js'
import { FileDeadLetterLog } from '../alerts/file-dead-letter-log.js'
import { FileDeviceHealthStore } from '../alerts/file-device-health-store.js'
import { FileDiscoveryStateStore } from '../alerts/file-discovery-state-store.js'
import { FilePushSubscriptionStore } from '../alerts/file-push-subscription-store.js'
import type { PushSubscriptionStore } from '../alerts/push-subscription-store.js'
import type { ClipStore } from '../clips/clip-store.js'
import { FileClipStore } from '../clips/file-clip-store.js'
import type { CollectorConfig } from '../config.js'
import { AlertUserSettings } from '../dashboard/alert-user-settings.js'
import { DashboardSessions } from '../dashboard/dashboard-sessions.js'
import { FileHomeownerStore } from '../dashboard/file-homeowner-store.js'
import { FileSessionStore } from '../dashboard/file-session-store.js'
import { FileUserSettingsStore } from '../dashboard/file-user-settings-store.js'
import { Homeowners } from '../dashboard/homeowners.js'
import { DashboardLoginThrottle, type LoginThrottle } from '../dashboard/login-throttle.js'
import { type CollectorEngines, openCollectorEngines } from '../fleet/collector-engines.js'
import { FileIdentityRegistry } from '../registry/file-identity-registry.js'
import type { ManagedIdentityRegistry } from '../registry/identity-registry.js'
import type { EventStore } from './event-store.js'

/** Every kind of state the collector keeps, each behind its store. */
export interface CollectorStores {
  /** The data folder, absolute. */
  readonly dataDir: string
  readonly events: EventStore
  /** Clip bodies being reassembled and verified clips. */
  readonly clips: ClipStore
  /** Devices and service users (reloaded when doorbell-admin changes it). */
  readonly registry: ManagedIdentityRegistry
  /** Dashboard accounts with their rules (over a HomeownerStore). */
  readonly homeowners: Homeowners
  /** Dashboard logins (over a SessionStore). */
  readonly sessions: DashboardSessions
  /** Homeowners' notification settings laid over the config's users (over a UserSettingsStore). */
  readonly userSettings: AlertUserSettings
  readonly pushSubscriptions: PushSubscriptionStore
  readonly deadLetters: DeadLetterLog
  readonly deviceHealth: DeviceHealthStore
  /** Which devices Home Assistant was told about. */
  readonly discoveryState: DiscoveryStateStore
  /** Failed dashboard logins per account and per client address (in memory; a fleet's in Redis). */
  readonly loginThrottle: LoginThrottle
  /**
   * aedes' message bus and persistence (sessions, offline queues, retained messages): absent on the
   * embedded default (aedes keeps them in memory), on Redis in a fleet (docs/fleet.md).
   */
  readonly broker?: CollectorEngines['broker']
  /** PostgreSQL for the fleet's shared tasks (alert outbox, leases, live timeline); absent on the embedded default. */
  readonly fleet?: CollectorEngines['fleet']
  /** The fleet's MQTT login failures, shared between the nodes' login limiters; absent on the embedded default. */
  readonly loginFeed?: CollectorEngines['loginFeed']
  /** Each device's bytes a day counted for the fleet; absent on the embedded default (each node's own bucket). */
  readonly storageBudget?: CollectorEngines['storageBudget']
  /** Closes the stores that hold resources (the event store, a fleet's pools). */
  close(): Promise<void>
}

/** Stores a caller brings instead of the default ones (tests: a clip store that injects faults). */
export type StoreOverrides = Partial<
  Omit<CollectorStores, 'dataDir' | 'close' | 'broker' | 'fleet' | 'loginFeed' | 'storageBudget'>
>

/**
 * Opens every store of the collector, the embedded engines by default: Level for events, files under
 * the data folder for the rest. With store: postgres the engines bring the event store and the kinds a
 * fleet shares (engines.stores); each kind is an override, else the engine's, else the file. The one
 * place a storage engine is chosen.
 */
export async function openCollectorStores(
  config: CollectorConfig,
  options: {
    readonly quotas: Quotas
    readonly now: () => number
    readonly overrides?: StoreOverrides
    /** Connection errors of a fleet's engines after start (an engine restarting); the pools recover by themselves. */
    readonly onEngineError?: (err: Error) => void
  },
): Promise<CollectorStores> {
  const dataDir = resolve(config.dataDir)
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    // The Level store's folder is ours alone: its files hold every event (main.ts sets umask 077 for them).
    mkdirSync(join(dataDir, 'events'), { recursive: true, mode: 0o700 })
    chmodSync(join(dataDir, 'events'), 0o700)
  } catch (err) {
    throw new DoorbellError('STORE_OPEN_FAILED', `${dataDir}: ${(err as Error).message}`, { cause: err })
  }
  const { quotas, now } = options
  const given = options.overrides ?? {}
  const alertsDir = join(dataDir, 'alerts')
  // store.engine picks the event store: Level in dataDir, or PostgreSQL (with Redis for the broker).
  const engines = await openCollectorEngines(
    config,
    dataDir,
    options.onEngineError ?? (() => {}),
    given.events,
  )
  const events = engines.store
  // A fleet's engines hold some stores themselves (PostgreSQL); the others are files in dataDir.
  const shared = engines.stores ?? {}
  let userSettings: AlertUserSettings
  try {
    userSettings =
      given.userSettings ??
      (await AlertUserSettings.open(
        shared.userSettings ?? new FileUserSettingsStore(dataDir),
        config.alerts.users,
        options.onEngineError ?? (() => {}),
      ))
  } catch (err) {
    // Nothing else holds the engines yet: a node that cannot start must not leave its pool open.
    await events.close()
    await engines.close()
    throw err
  }
  return {
    dataDir,
    events,
    clips: given.clips ?? shared.clips ?? new FileClipStore(dataDir),
    registry: given.registry ?? shared.registry ?? new FileIdentityRegistry(dataDir),
    homeowners: given.homeowners ?? new Homeowners(shared.homeowners ?? new FileHomeownerStore(dataDir)),
    sessions:
      given.sessions ??
      new DashboardSessions({
        store: shared.sessions ?? new FileSessionStore(dataDir),
        ttlMs: quotas.sessionTtlMs,
        now,
      }),
    userSettings,
    pushSubscriptions:
      given.pushSubscriptions ??
      shared.pushSubscriptions ??
      new FilePushSubscriptionStore(join(alertsDir, 'push-subscriptions.json')),
    deadLetters:
      given.deadLetters ?? shared.deadLetters ?? new FileDeadLetterLog(join(alertsDir, 'dead-letters.jsonl')),
    deviceHealth: given.deviceHealth ?? new FileDeviceHealthStore(join(alertsDir, 'device-health.json')),
    discoveryState:
      given.discoveryState ??
      shared.discoveryState ??
      new FileDiscoveryStateStore(join(alertsDir, 'home-assistant-discovery.json')),
    loginThrottle:
      given.loginThrottle ?? shared.loginThrottle ?? new DashboardLoginThrottle(quotas.loginFailures, now),
    ...(engines.broker ? { broker: engines.broker } : {}),
    ...(engines.fleet ? { fleet: engines.fleet } : {}),
    ...(engines.loginFeed ? { loginFeed: engines.loginFeed } : {}),
    ...(engines.storageBudget ? { storageBudget: engines.storageBudget } : {}),
    async close() {
      await events.close()
      await engines.close()
    },
  }
}
