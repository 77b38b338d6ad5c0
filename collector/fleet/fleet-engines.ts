import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { isAlertRelevant } from '../alerts/alert.js'
import type { CollectorConfig } from '../config.js'
import { isLiveTimelineEvent } from '../dashboard/event-stream.js'
import { PostgresDatabase } from '../postgres/postgres-database.js'
import { PostgresEventStore } from '../postgres/postgres-event-store.js'
import { migratePostgres } from '../postgres/postgres-migrations.js'
import { storedEventsChannel } from '../postgres/stored-events-channel.js'
import type { CollectorEngines } from './collector-engines.js'
import { openRedisBrokerEngines } from './redis-broker-engines.js'

/**
 * The engines of a fleet node: PostgreSQL (schema migrated, once for the fleet, before anything else) and
 * Redis for the broker. A node that cannot reach either does not start, and says which one.
 */
export async function openFleetEngines(
  config: CollectorConfig,
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
  let redis: Awaited<ReturnType<typeof openRedisBrokerEngines>>
  try {
    redis = await openRedisBrokerEngines(redisUrl, onError, config.postgres.connectTimeoutMs, {
      nodeId,
      uplinkInterestTtlMs: config.redis.uplinkInterestTtlMs,
    })
  } catch (err) {
    await db.close()
    throw err
  }
  return {
    store: new PostgresEventStore(db, {
      notify: { channel: storedEventsChannel, nodeId, isAnnounced: isLiveTimelineEvent },
      isAlertIntake: isAlertRelevant,
    }),
    broker: { mq: redis.mq, persistence: redis.persistence },
    fleet: { db, url: postgresUrl, nodeId },
    async close() {
      await redis.close()
      await db.close()
    },
  }
}
