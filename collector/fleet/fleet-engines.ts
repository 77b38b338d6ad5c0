import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { isAlertRelevant } from '../alerts/alert.js'
import type { CollectorConfig } from '../config.js'
import { isLiveTimelineEvent } from '../dashboard/event-stream.js'
import { PostgresClipStore } from '../postgres/postgres-clip-store.js'
import { PostgresDatabase } from '../postgres/postgres-database.js'
import { PostgresDeadLetterLog } from '../postgres/postgres-dead-letter-log.js'
import { PostgresDiscoveryStateStore } from '../postgres/postgres-discovery-state-store.js'
import { PostgresEventStore } from '../postgres/postgres-event-store.js'
import { PostgresHomeownerStore } from '../postgres/postgres-homeowner-store.js'
import { PostgresIdentityRegistry } from '../postgres/postgres-identity-registry.js'
import { migratePostgres } from '../postgres/postgres-migrations.js'
import { PostgresPushSubscriptionStore } from '../postgres/postgres-push-subscription-store.js'
import { PostgresSessionStore } from '../postgres/postgres-session-store.js'
import { PostgresUserSettingsStore } from '../postgres/postgres-user-settings-store.js'
import { storedEventsChannel } from '../postgres/stored-events-channel.js'
import type { CollectorEngines } from './collector-engines.js'
import { openRedisBrokerEngines } from './redis-broker-engines.js'
import { openRedisThrottles, type RedisThrottles } from './redis-throttles.js'

/**
 * The engines of a fleet node: PostgreSQL (schema migrated, once for the fleet, before anything else) for
 * events, the registry, homeowners and dashboard sessions, and Redis for the broker and the login throttle. A node that cannot
 * reach either does not start, and says which one.
 */
export async function openFleetEngines(
  config: CollectorConfig,
  dataDir: string,
  onError: (err: Error) => void,
): Promise<CollectorEngines> {
  const { url: postgresUrl } = config.postgres
  const { url: redisUrl } = config.redis
  // The config schema requires both with store: postgres; this guards a config built some other way.
  if (!postgresUrl || !redisUrl) throw new Error('store: postgres needs postgres.url and redis.url')
  await migratePostgres(postgresUrl)
  // A restarted node is a new holder: a lease its previous process held must expire, not be inherited.
  const nodeId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  const db = await PostgresDatabase.open(
    {
      ...config.postgres,
      url: postgresUrl,
      applicationName: `doorbell-collector ${nodeId}`,
    },
    onError,
  )
  let registry: PostgresIdentityRegistry
  let redis: Awaited<ReturnType<typeof openRedisBrokerEngines>>
  try {
    // Held in memory and followed through NOTIFY: a login costs no round trip, a change reaches every node.
    registry = await PostgresIdentityRegistry.open(db, {
      url: postgresUrl,
      applicationName: `doorbell-registry ${nodeId}`,
      onError,
    })
  } catch (err) {
    await db.close()
    throw err
  }
  try {
    redis = await openRedisBrokerEngines(redisUrl, onError, config.postgres.connectTimeoutMs, {
      nodeId,
      uplinkInterestTtlMs: config.redis.uplinkInterestTtlMs,
    })
  } catch (err) {
    await registry.close()
    await db.close()
    throw err
  }
  let throttles: RedisThrottles
  try {
    // Counted for the fleet: a guesser or a device spread over the nodes gets the limits of one.
    throttles = await openRedisThrottles(config, redisUrl, nodeId, onError)
  } catch (err) {
    await redis.close()
    await registry.close()
    await db.close()
    throw err
  }
  const userSettings = new PostgresUserSettingsStore(db, { url: postgresUrl, nodeId, onError })
  return {
    store: new PostgresEventStore(db, {
      notify: { channel: storedEventsChannel, nodeId, isAnnounced: isLiveTimelineEvent },
      isAlertIntake: isAlertRelevant,
    }),
    broker: { mq: redis.mq, persistence: redis.persistence },
    fleet: { db, url: postgresUrl, nodeId },
    loginFeed: throttles.loginFeed,
    storageBudget: throttles.storageBudget,
    stores: {
      registry,
      homeowners: new PostgresHomeownerStore(db),
      sessions: new PostgresSessionStore(db),
      // Bodies in PostgreSQL; the data folder keeps only the copies the dashboard serves ranges from.
      clips: new PostgresClipStore(db, dataDir, { maxCopyBytes: config.postgres.clipCopyMaxBytes }),
      userSettings,
      pushSubscriptions: new PostgresPushSubscriptionStore(db),
      deadLetters: new PostgresDeadLetterLog(db),
      discoveryState: new PostgresDiscoveryStateStore(db),
      loginThrottle: throttles.loginThrottle,
    },
    async close() {
      await throttles.close()
      await userSettings.close()
      await redis.close()
      await registry.close()
      await db.close()
    },
  }
}
