import pg from 'pg'
import { redactedUrl } from './postgres-database.js'

/** Collaborators of a PostgresChannelListener. */
export interface PostgresChannelListenerDeps {
  /** The fleet's database; the listener holds one connection of its own (LISTEN needs a session). */
  readonly url: string
  readonly channel: string
  /** Shown in pg_stat_activity beside the node's pool. */
  readonly applicationName: string
  /** A notification's payload, in the order they were sent. */
  readonly onNotification: (payload: string) => void
  /** Connected again after a gap: notifications sent meanwhile are lost, the owner reads afresh. */
  readonly onResync?: () => void
  /** The connection failed; the listener reconnects by itself. */
  readonly onError?: (err: Error) => void
  /** Wait before a reconnect, ms (default 1000). */
  readonly reconnectMs?: number
}

/**
 * Hears one NOTIFY channel on a connection of its own and reconnects after a gap, then says so (onResync),
 * since PostgreSQL does not keep notifications for a session that was away.
 */
export class PostgresChannelListener {
  readonly #deps: PostgresChannelListenerDeps
  #client: pg.Client | undefined
  #isStopped = false
  #hasConnected = false
  #retryTimer: NodeJS.Timeout | undefined

  constructor(deps: PostgresChannelListenerDeps) {
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
      if (message.channel === this.#deps.channel) this.#deps.onNotification(message.payload ?? '')
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
    if (this.#hasConnected) this.#deps.onResync?.()
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
