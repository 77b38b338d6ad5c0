import { join } from 'node:path'
import type { DeadLetterLog } from '../alerts/dead-letter-log.js'
import type { DiscoveryStateStore } from '../alerts/discovery-state-store.js'
import type { PushSubscriptionStore } from '../alerts/push-subscription-store.js'
import type { LoginLimitFeed } from '../broker/login-limiter.js'
import type { ByteBudget } from '../broker/token-bucket.js'
import type { ClipStore } from '../clips/clip-store.js'
import type { CollectorConfig } from '../config.js'
import type { HomeownerStore } from '../dashboard/homeowner-store.js'
import type { LoginThrottle } from '../dashboard/login-throttle.js'
import type { SessionStore } from '../dashboard/session-store.js'
import type { UserSettingsStore } from '../dashboard/user-settings-store.js'
import type { PostgresDatabase } from '../postgres/postgres-database.js'
import type { ManagedIdentityRegistry } from '../registry/identity-registry.js'
import type { EventStore } from '../store/event-store.js'
import { LevelEventStore } from '../store/level-event-store.js'

/** What a fleet node's extensions use of PostgreSQL beyond the stores: the alert outbox, leases, the listener. */
export interface FleetHandles {
  /** The node's pool, shared with its event store. */
  readonly db: PostgresDatabase
  /** The database's URL (the live-timeline listener holds a connection of its own). */
  readonly url: string
  /** Unique per node process: the holder of its leases, the sender of its announcements. */
  readonly nodeId: string
}

/**
 * Stores an engine keeps in place of the data folder's files (a fleet's, in PostgreSQL); a kind left out
 * stays a file. openCollectorStores prefers a test's override, then these, then the files.
 */
export interface EngineStores {
  readonly registry?: ManagedIdentityRegistry
  readonly homeowners?: HomeownerStore
  readonly sessions?: SessionStore
  readonly clips?: ClipStore
  readonly userSettings?: UserSettingsStore
  readonly pushSubscriptions?: PushSubscriptionStore
  readonly deadLetters?: DeadLetterLog
  readonly discoveryState?: DiscoveryStateStore
  /** Failed dashboard logins, counted for the whole fleet. */
  readonly loginThrottle?: LoginThrottle
}

/**
 * What a collector node runs on: its event store, and in a fleet the Redis engines its broker shares
 * with the other nodes. close() ends what the store and broker do not end themselves.
 */
export interface CollectorEngines {
  readonly store: EventStore
  /** The other stores the engine holds; absent on the embedded default. */
  readonly stores?: EngineStores
  /** aedes' mq and persistence on Redis (fleet); absent on the embedded default. */
  readonly broker?: { readonly mq: unknown; readonly persistence: unknown }
  /** PostgreSQL for the fleet's shared tasks; absent on the embedded default. */
  readonly fleet?: FleetHandles
  /** The other nodes' MQTT login failures (Redis); absent on the embedded default. */
  readonly loginFeed?: LoginLimitFeed
  /** limits.deviceBytesPerDay counted for the fleet (Redis); absent on the embedded default. */
  readonly storageBudget?: ByteBudget
  /** After the broker and store closed: ends the PostgreSQL pool and the Redis connections. */
  close(): Promise<void>
}

/**
 * Opens the engines config.store.engine names. Level is opened directly; the PostgreSQL and Redis modules
 * are imported only for `store: postgres`, so the embedded default never loads them. onError hears
 * connection errors after start (an engine restarting), which the pools recover from by themselves.
 */
export async function openCollectorEngines(
  config: CollectorConfig,
  dataDir: string,
  onError: (err: Error) => void,
  /** An event store a test brings instead (only on the embedded default). */
  givenStore?: EventStore,
): Promise<CollectorEngines> {
  if (givenStore && config.store.engine === 'level') return { store: givenStore, close: async () => {} }
  if (config.store.engine === 'level') {
    const store = await LevelEventStore.open({
      path: join(dataDir, 'events'),
      isSyncWrite: config.store.isSyncWrite,
    })
    return { store, close: async () => {} }
  }
  const { openFleetEngines } = await import('./fleet-engines.js')
  return openFleetEngines(config, dataDir, onError)
}
