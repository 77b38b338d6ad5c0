import type pg from 'pg'
import type { Alert } from '../alerts/alert.js'
import type { Recipient } from '../alerts/channel.js'
import { DeliveryError } from '../alerts/channel.js'
import type { PostgresDatabase } from './postgres-database.js'

/** One delivery: an alert to one recipient over one channel. */
export interface OutboxDelivery {
  readonly alert: Alert
  readonly channel: string
  readonly recipient: Recipient
}

/**
 * The delivery key: the same for every node and every attempt of one delivery, so a receiver can drop a
 * second copy (sent when a node died after the receiver answered but before the row was marked).
 */
export function deliveryKey(
  delivery: Pick<OutboxDelivery, 'channel' | 'recipient'> & { alertId: string },
): string {
  return `${delivery.alertId}:${delivery.channel}:${delivery.recipient.isOperator ? 'operator' : delivery.recipient.name}`
}

/**
 * Sends one delivery (attempt counts from 1); rejects with a DeliveryError (isRetryable false: give up
 * at once).
 */
export type SendDelivery = (delivery: OutboxDelivery, key: string, attempt: number) => Promise<void>

/** What one drain pass did. */
export interface DrainResult {
  readonly deliveredCount: number
  readonly retriedCount: number
  readonly deadCount: number
}

/** Options of the outbox. */
export interface AlertOutboxOptions {
  /** Who drains (shown in delivered_by). */
  readonly nodeId: string
  /** Attempts before a delivery is dead (a dead letter). */
  readonly maxAttempts: number
  /** Wait before attempt n + 1 after n failed, in ms. */
  readonly backoffMs: (attempts: number) => number
  /**
   * A delivery failed: tried again after retryInMs, or, when undefined, never (the node records a dead
   * letter).
   */
  readonly onFailed?: (
    delivery: OutboxDelivery,
    attempts: number,
    err: unknown,
    retryInMs: number | undefined,
  ) => void
}

interface OutboxRow {
  alert_id: string
  channel: string
  recipient: string
  is_operator: boolean
  alert: Alert
  attempts: number
}

/**
 * The fleet's alert outbox in PostgreSQL. Any node may enqueue (idempotent per delivery key); drainers on
 * every node take due rows with FOR UPDATE SKIP LOCKED, one row per transaction, and send it while holding
 * the row lock, so no two nodes send one delivery at once. A node that dies mid-send loses its connection,
 * PostgreSQL rolls its transaction back and releases the row, and another node sends it: nothing is lost,
 * and a second copy can reach the receiver only if the node died between the receiver's answer and the
 * commit, which the delivery key lets the receiver drop. Presses (higher priority) go first.
 */
export class PostgresAlertOutbox {
  readonly #db: PostgresDatabase
  readonly #options: AlertOutboxOptions

  constructor(db: PostgresDatabase, options: AlertOutboxOptions) {
    this.#db = db
    this.#options = options
  }

  /**
   * Queues deliveries; returns how many were new (a delivery already queued by any node is skipped).
   * With client, inside that connection's transaction (the alert intake queues and deletes in one).
   */
  async enqueue(deliveries: readonly OutboxDelivery[], client?: pg.PoolClient): Promise<number> {
    if (deliveries.length === 0) return 0
    const run = client ? client.query.bind(client) : this.#db.query.bind(this.#db)
    const result = await run(
      `INSERT INTO alert_outbox (alert_id, channel, recipient, is_operator, priority, alert)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::smallint[], $6::jsonb[])
       ON CONFLICT DO NOTHING`,
      [
        deliveries.map((d) => d.alert.id),
        deliveries.map((d) => d.channel),
        deliveries.map((d) => d.recipient.name),
        deliveries.map((d) => d.recipient.isOperator),
        deliveries.map((d) => d.alert.priority),
        deliveries.map((d) => JSON.stringify(d.alert)),
      ],
    )
    return result.rowCount ?? 0
  }

  /** The homeowners (not the operator) an alert has deliveries for, in any state; with client, in its transaction. */
  async recipientsOf(alertId: string, client?: pg.PoolClient): Promise<Set<string>> {
    const run = client ? client.query.bind(client) : this.#db.query.bind(this.#db)
    const result = await run<{ recipient: string }>(
      'SELECT DISTINCT recipient FROM alert_outbox WHERE alert_id = $1 AND NOT is_operator',
      [alertId],
    )
    return new Set(result.rows.map((row) => row.recipient))
  }

  /** Sends due deliveries one at a time until none is left or maxCount were handled. */
  async drain(send: SendDelivery, maxCount = 100): Promise<DrainResult> {
    let deliveredCount = 0
    let retriedCount = 0
    let deadCount = 0
    for (let i = 0; i < maxCount; i++) {
      const outcome = await this.#drainOne(send)
      if (outcome === 'none') break
      if (outcome === 'delivered') deliveredCount += 1
      else if (outcome === 'retry') retriedCount += 1
      else deadCount += 1
    }
    return { deliveredCount, retriedCount, deadCount }
  }

  async #drainOne(send: SendDelivery): Promise<'none' | 'delivered' | 'retry' | 'dead'> {
    return this.#db.transaction(async (client) => {
      const due = await client.query<OutboxRow>(
        `SELECT alert_id, channel, recipient, is_operator, alert, attempts FROM alert_outbox
         WHERE state = 'pending' AND next_attempt_at <= now()
         ORDER BY priority DESC, next_attempt_at, alert_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
      )
      const row = due.rows[0]
      if (!row) return 'none'
      const recipient: Recipient = { name: row.recipient, isOperator: row.is_operator }
      const delivery: OutboxDelivery = { alert: row.alert, channel: row.channel, recipient }
      const where = 'WHERE alert_id = $1 AND channel = $2 AND recipient = $3'
      const key = [row.alert_id, row.channel, row.recipient]
      try {
        await send(
          delivery,
          deliveryKey({ alertId: row.alert_id, channel: row.channel, recipient }),
          row.attempts + 1,
        )
      } catch (err) {
        const attempts = row.attempts + 1
        const isRetryable = !(err instanceof DeliveryError) || err.isRetryable
        const retryInMs =
          isRetryable && attempts < this.#options.maxAttempts ? this.#options.backoffMs(attempts) : undefined
        try {
          this.#options.onFailed?.(delivery, attempts, err, retryInMs)
        } catch {
          // A faulty observer must not stop the drain.
        }
        if (retryInMs !== undefined) {
          await client.query(
            `UPDATE alert_outbox SET attempts = $4, last_error = $5,
               next_attempt_at = now() + $6 * interval '1 millisecond' ${where}`,
            [...key, attempts, String((err as Error).message), retryInMs],
          )
          return 'retry'
        }
        await client.query(
          `UPDATE alert_outbox SET attempts = $4, last_error = $5, state = 'dead', finished_at = now() ${where}`,
          [...key, attempts, String((err as Error).message)],
        )
        return 'dead'
      }
      await client.query(
        `UPDATE alert_outbox SET attempts = attempts + 1, state = 'delivered', finished_at = now(),
           delivered_by = $4 ${where}`,
        [...key, this.#options.nodeId],
      )
      return 'delivered'
    })
  }

  /** Deletes finished deliveries (sent or dead) older than keepMs; returns how many. */
  static async sweepFinished(db: PostgresDatabase, keepMs: number): Promise<number> {
    const result = await db.query(
      `DELETE FROM alert_outbox WHERE state <> 'pending' AND finished_at < now() - $1 * interval '1 millisecond'`,
      [keepMs],
    )
    return result.rowCount ?? 0
  }

  /** Deliveries still to be made (for the backlog metric). */
  async pendingCount(): Promise<number> {
    const rows = await this.#db.query<{ n: string }>(
      "SELECT count(*) AS n FROM alert_outbox WHERE state = 'pending'",
    )
    return Number(rows.rows[0]?.n ?? 0)
  }
}
