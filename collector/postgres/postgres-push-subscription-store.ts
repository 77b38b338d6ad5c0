import type {
  AddSubscriptionOptions,
  PushSubscriptionStore,
  StoredPushSubscription,
} from '../alerts/push-subscription-store.js'
import type { PostgresDatabase } from './postgres-database.js'

interface SubscriptionRow {
  readonly user: string
  readonly endpoint: string
  readonly keys: StoredPushSubscription['keys']
  readonly createdAtMs: string
  /** Insertion order (bigint, as a string); only read where rows come back unordered. */
  readonly position?: string
}

const selectColumns =
  'SELECT user_name AS "user", endpoint, keys, created_at_ms AS "createdAtMs" FROM push_subscriptions'

function fromRow(row: SubscriptionRow): StoredPushSubscription {
  return {
    user: row.user,
    endpoint: row.endpoint,
    keys: { p256dh: row.keys.p256dh, auth: row.keys.auth },
    createdAtMs: Number(row.createdAtMs),
  }
}

/**
 * Web Push subscriptions in PostgreSQL `push_subscriptions` (migrations/0006), keyed by endpoint, so a
 * browser subscribed through one node gets pushes sent by any other. Adds of one user are serialised by
 * a transaction-scoped advisory lock, so two nodes adding at once still keep the user within maxPerUser.
 */
export class PostgresPushSubscriptionStore implements PushSubscriptionStore {
  readonly #db: PostgresDatabase

  constructor(db: PostgresDatabase) {
    this.#db = db
  }

  async forUser(user: string): Promise<StoredPushSubscription[]> {
    const rows = await this.#db.query<SubscriptionRow>(
      `${selectColumns} WHERE user_name = $1 ORDER BY position`,
      [user],
    )
    return rows.rows.map(fromRow)
  }

  async all(): Promise<StoredPushSubscription[]> {
    const rows = await this.#db.query<SubscriptionRow>(`${selectColumns} ORDER BY position`)
    return rows.rows.map(fromRow)
  }

  add(
    subscription: StoredPushSubscription,
    options: AddSubscriptionOptions = {},
  ): Promise<StoredPushSubscription[]> {
    const maxPerUser = options.maxPerUser ?? Number.POSITIVE_INFINITY
    return this.#db.transaction(async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('push_subscriptions'), hashtext($1))", [
        subscription.user,
      ])
      // Replaced, not updated: a renewed endpoint counts as the newest, whichever user held it.
      await client.query('DELETE FROM push_subscriptions WHERE endpoint = $1', [subscription.endpoint])
      await client.query(
        'INSERT INTO push_subscriptions (endpoint, user_name, keys, created_at_ms) VALUES ($1, $2, $3, $4)',
        [
          subscription.endpoint,
          subscription.user,
          JSON.stringify(subscription.keys),
          subscription.createdAtMs,
        ],
      )
      if (!Number.isFinite(maxPerUser)) return []
      const evicted = await client.query<SubscriptionRow>(
        `WITH own AS (
           SELECT endpoint FROM push_subscriptions WHERE user_name = $1
            ORDER BY position DESC OFFSET $2)
         DELETE FROM push_subscriptions p USING own WHERE p.endpoint = own.endpoint
         RETURNING p.user_name AS "user", p.endpoint, p.keys, p.created_at_ms AS "createdAtMs", p.position`,
        [subscription.user, Math.max(0, maxPerUser)],
      )
      // DELETE ... RETURNING has no order: oldest first, as the interface promises.
      return [...evicted.rows].sort((a, b) => Number(a.position) - Number(b.position)).map(fromRow)
    })
  }

  async remove(endpoint: string): Promise<boolean> {
    const result = await this.#db.query('DELETE FROM push_subscriptions WHERE endpoint = $1', [endpoint])
    return (result.rowCount ?? 0) > 0
  }
}
