import pg from 'pg'
import { redactedUrl } from './postgres-database.js'

/** Collaborators of a PostgresChangeListener. */
export interface PostgresChangeListenerDeps {
  /** The fleet's database; LISTEN needs a session, so the listener holds one connection of its own. */
  readonly url: string
  readonly channel: string
  /** Shown in pg_stat_activity beside the node's pool. */
  readonly applicationName: string
  /** A notification on the channel (its payload), sent by PostgreSQL when the writer's transaction committed. */
  readonly onChange: (payload: string) => void
  /** Connected again after a gap: changes made meanwhile were not heard, read everything again. */
  readonly onResync: () => void
  /** The connection failed; the listener reconnects by itself. */
  readonly onError?: (err: Error) => void
  readonly reconnectMs?: number
}

/**
 * Hears that another node changed shared state (a NOTIFY on one channel), so a node that answers from
 * memory reads the table again. A gap in the connection is reported as a resync, never silently missed.
 */
export class PostgresChangeListener {
  readonly #deps: PostgresChangeListenerDeps
  #client: pg.Client | undefined
  #hasConnected = false
  #isStopped = false
  #retryTimer: NodeJS.Timeout | undefined

  constructor(deps: PostgresChangeListenerDeps) {
    this.#deps = deps
  }

  /** Connects and listens; rejects when the first connection fails (later failures reconnect). */
  async start(): Promise<void> {
    await this.#connect()
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#deps.url,
      application_name: this.#deps.applicationName,
    })
    client.on('error', (err) => this.#lost(client, err))
    client.on('end', () =>
      this.#lost(client, new Error(`listener connection to ${redactedUrl(this.#deps.url)} ended`)),
    )
    client.on('notification', (message) => {
      if (message.channel === this.#deps.channel) this.#deps.onChange(message.payload ?? '')
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${pg.escapeIdentifier(this.#deps.channel)}`)
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    if (this.#isStopped) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    if (this.#hasConnected) this.#deps.onResync()
    this.#hasConnected = true
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client || this.#isStopped) return
    this.#client = undefined
    this.#deps.onError?.(err)
    client.end().catch(() => {})
    this.#retry()
  }

  #retry(): void {
    if (this.#isStopped || this.#retryTimer) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#connect().catch((err: unknown) => {
        this.#deps.onError?.(err as Error)
        this.#retry()
      })
    }, this.#deps.reconnectMs ?? 1000)
    this.#retryTimer.unref()
  }

  async stop(): Promise<void> {
    this.#isStopped = true
    clearTimeout(this.#retryTimer)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }
}
