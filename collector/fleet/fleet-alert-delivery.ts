import type { RoutedDelivery } from '../alerts/capturing-delivery-queue.js'
import { type Channel, DeliveryError } from '../alerts/channel.js'
import { type OutboxDelivery, PostgresAlertOutbox } from '../postgres/postgres-alert-outbox.js'
import type { PostgresDatabase } from '../postgres/postgres-database.js'
import type { StoredEvent } from '../store/event-store.js'

/** Rows of alert_intake one transaction routes. */
const intakePage = 50

/** Collaborators of a FleetAlertDelivery. */
export interface FleetAlertDeliveryDeps {
  readonly db: PostgresDatabase
  readonly nodeId: string
  /**
   * The deliveries one stored event makes (the router's users and policy), none of them sent. reachedBy
   * names the homeowners an earlier alert reached, fleet-wide (its deliveries in the outbox, this
   * transaction's included): an update of a press goes to them, whichever node routed the press.
   */
  readonly route: (
    event: StoredEvent,
    reachedBy: (alertId: string) => Promise<ReadonlySet<string>>,
  ) => RoutedDelivery[] | Promise<RoutedDelivery[]>
  readonly channels: readonly Channel[]
  /** Attempts per delivery (the first included), and the wait before attempt n + 1. */
  readonly maxAttempts: number
  readonly backoffMs: (attempts: number) => number
  /** Looks for work no commit of this node announced (another node's, a retry come due) this often. */
  readonly pollMs: number
  /** Deliveries sent at once. */
  readonly senders: number
  readonly now: () => number
  /** A delivery reached its receiver. */
  readonly onSent: (delivery: OutboxDelivery, attempt: number, atMs: number) => void
  /** A delivery failed: tried again after retryInMs, or, when undefined, never. */
  readonly onFailed: (
    delivery: OutboxDelivery,
    attempts: number,
    err: unknown,
    retryInMs: number | undefined,
  ) => void
  /** A pass failed (PostgreSQL away); the next poll tries again. */
  readonly onError: (err: unknown) => void
  /**
   * Deliveries queue() could not put in the outbox (PostgreSQL away): this node sends them itself, so a
   * derived alert is late at worst, never dropped.
   */
  readonly sendLocally: (deliveries: readonly RoutedDelivery[]) => void
}

/**
 * Exactly-once alerts for a fleet. A commit puts each newly stored alert-relevant event into alert_intake
 * in its own transaction (PostgresEventStore); here any node takes intake rows with FOR UPDATE SKIP
 * LOCKED, routes them (users, settings, policy), queues their deliveries in alert_outbox and deletes the
 * rows, all in one transaction, then sends due deliveries from the outbox (PostgresAlertOutbox). A node
 * that dies at any step leaves its rows to the others: a press is queued once and sent once, except when
 * a node dies between the receiver's answer and its commit (the delivery key lets the receiver drop that copy).
 */
export class FleetAlertDelivery {
  readonly #deps: FleetAlertDeliveryDeps
  readonly #outbox: PostgresAlertOutbox
  readonly #channels: Map<string, Channel>
  #timer: NodeJS.Timeout | undefined
  #pass: Promise<void> | undefined
  #isAgain = false
  #isStopped = false
  #idle: (() => void)[] = []
  /** Derived deliveries waiting for the next outbox insert (one statement for a burst). */
  #derived: RoutedDelivery[] = []
  #derivedFlush: Promise<void> | undefined

  constructor(deps: FleetAlertDeliveryDeps) {
    this.#deps = deps
    this.#channels = new Map(deps.channels.map((channel) => [channel.name, channel]))
    this.#outbox = new PostgresAlertOutbox(deps.db, {
      nodeId: deps.nodeId,
      maxAttempts: deps.maxAttempts,
      backoffMs: deps.backoffMs,
      onFailed: deps.onFailed,
    })
  }

  /**
   * Queues a delivery this node decided on by itself (a derived alert, a test notification) in the fleet's
   * outbox, sent from there like a press's: retried by whichever node is alive.
   */
  queue(delivery: RoutedDelivery): void {
    this.#derived.push(delivery)
    this.#derivedFlush ??= Promise.resolve().then(() => this.#flushDerived())
  }

  async #flushDerived(): Promise<void> {
    const batch = this.#derived
    this.#derived = []
    try {
      await this.#outbox.enqueue(batch)
    } catch (err) {
      this.#deps.onError(new Error('queueing derived alerts in the fleet outbox failed', { cause: err }))
      this.#deps.sendLocally(batch)
    } finally {
      this.#derivedFlush = undefined
      if (this.#derived.length > 0) this.#derivedFlush = this.#flushDerived()
    }
    this.kick()
  }

  /** Starts polling, with a pass at once (work left by a node that stopped). */
  start(): void {
    this.kick()
  }

  /** Runs a pass now (this node committed an alert-relevant event), or right after the one running. */
  kick(): void {
    if (this.#isStopped) return
    if (this.#pass) {
      this.#isAgain = true
      return
    }
    clearTimeout(this.#timer)
    this.#pass = this.#runPasses().finally(() => {
      this.#pass = undefined
      this.#schedule()
      const idle = this.#idle
      this.#idle = []
      for (const resolve of idle) resolve()
    })
  }

  /**
   * Resolves when neither intake nor due outbox rows are left (as far as this node sees), or it stopped
   * (tests; an event that cannot be routed stays in the intake and keeps it waiting).
   */
  async whenIdle(): Promise<void> {
    while (this.#derivedFlush) await this.#derivedFlush
    while (!this.#isStopped) {
      if (this.#pass) await new Promise<void>((resolve) => this.#idle.push(resolve))
      const [intake, due] = await Promise.all([
        this.#deps.db.query<{ n: string }>('SELECT count(*) AS n FROM alert_intake'),
        this.#deps.db.query<{ n: string }>(
          "SELECT count(*) AS n FROM alert_outbox WHERE state = 'pending' AND next_attempt_at <= now()",
        ),
      ])
      if (Number(intake.rows[0]?.n) === 0 && Number(due.rows[0]?.n) === 0 && !this.#pass) return
      // Rows another node holds are its to finish; look again shortly.
      await new Promise((resolve) => setTimeout(resolve, 20))
      this.kick()
    }
  }

  /** Presses waiting to be routed and deliveries waiting to be sent, fleet-wide (the backlog gauge). */
  async backlog(): Promise<{ intake: number; outbox: number }> {
    const [intake, outbox] = await Promise.all([
      this.#deps.db.query<{ n: string }>('SELECT count(*) AS n FROM alert_intake'),
      this.#outbox.pendingCount(),
    ])
    return { intake: Number(intake.rows[0]?.n ?? 0), outbox }
  }

  /** Stops polling and waits for the pass in progress (its rows are committed or rolled back). */
  async stop(): Promise<void> {
    // What was decided goes into the outbox before this node stops sending.
    while (this.#derivedFlush) await this.#derivedFlush
    this.#isStopped = true
    clearTimeout(this.#timer)
    await this.#pass
  }

  #schedule(): void {
    if (this.#isStopped) return
    if (this.#isAgain) {
      this.#isAgain = false
      this.kick()
      return
    }
    this.#timer = setTimeout(() => this.kick(), this.#deps.pollMs)
    this.#timer.unref()
  }

  async #runPasses(): Promise<void> {
    try {
      // Route first: a press's deliveries are queued before older retries are sent.
      while (!this.#isStopped && (await this.#routeIntake()) === intakePage) {}
      await Promise.all(Array.from({ length: this.#deps.senders }, () => this.#sendDue()))
    } catch (err) {
      this.#deps.onError(err)
    }
  }

  /** One transaction: take intake rows, route them, queue their deliveries, delete the rows; how many went. */
  #routeIntake(): Promise<number> {
    return this.#deps.db.transaction(async (client) => {
      const rows = await client.query<{ event_id: string; body: StoredEvent }>(
        `SELECT event_id, body FROM alert_intake ORDER BY event_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [intakePage],
      )
      if (rows.rows.length === 0) return 0
      const reachedBy = (alertId: string) => this.#outbox.recipientsOf(alertId, client)
      const routed: string[] = []
      // One event at a time, each queued before the next is routed: a press and its snapshot taken in one
      // pass, the snapshot finds the press's deliveries.
      for (const row of rows.rows) {
        let deliveries: RoutedDelivery[]
        try {
          deliveries = await this.#deps.route(row.body, reachedBy)
        } catch (err) {
          // Left in the intake and reported at each pass; the other events of the pass still go out.
          this.#deps.onError(new Error(`routing stored event ${row.event_id} failed`, { cause: err }))
          continue
        }
        await this.#outbox.enqueue(deliveries, client)
        routed.push(row.event_id)
      }
      await client.query('DELETE FROM alert_intake WHERE event_id = ANY($1::text[])', [routed])
      return routed.length
    })
  }

  async #sendDue(): Promise<void> {
    while (!this.#isStopped) {
      const result = await this.#outbox.drain(async (delivery, key, attempt) => {
        const channel = this.#channels.get(delivery.channel)
        // Retryable: a node whose config has the channel may take the row.
        if (!channel)
          throw new DeliveryError(`channel ${delivery.channel} is not configured on this node`, {
            isRetryable: true,
          })
        await channel.send(delivery.alert, delivery.recipient, key)
        this.#deps.onSent(delivery, attempt, this.#deps.now())
      }, 1)
      if (result.deliveredCount + result.retriedCount + result.deadCount === 0) return
    }
  }
}
