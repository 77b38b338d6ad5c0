import type { UserSettings, UserSettingsStore } from '../dashboard/user-settings-store.js'
import { PostgresChannelListener } from './postgres-channel-listener.js'
import type { PostgresDatabase } from './postgres-database.js'

/** The channel a save is announced on; its payload is the user's name. */
export const userSettingsChannel = 'doorbell_user_settings'

/** Where a store that follows other nodes' saves listens. */
export interface PostgresUserSettingsListen {
  readonly url: string
  readonly nodeId: string
  /** The listening connection failed; it reconnects by itself and then reads everything again. */
  readonly onError?: (err: Error) => void
  /** Wait before connecting again after the listening connection was lost (default 1 s). */
  readonly reconnectMs?: number
}

/**
 * Homeowners' saved settings in PostgreSQL `user_settings` (migrations/0006), shared by every node. A save
 * notifies the others in its own transaction (NOTIFY is delivered at commit), so a node whose alert
 * routing answers from memory (AlertUserSettings) reads them again as soon as they are stored.
 */
export class PostgresUserSettingsStore implements UserSettingsStore {
  readonly #db: PostgresDatabase
  readonly #listen: PostgresUserSettingsListen
  readonly #listeners: PostgresChannelListener[] = []

  constructor(db: PostgresDatabase, listen: PostgresUserSettingsListen) {
    this.#db = db
    this.#listen = listen
  }

  /** Hears every node's saves (this one's too) on a connection of its own, and a gap as a change. */
  async watch(onChange: () => void): Promise<void> {
    const listener = new PostgresChannelListener({
      url: this.#listen.url,
      channel: userSettingsChannel,
      applicationName: `doorbell-settings ${this.#listen.nodeId}`,
      onNotification: onChange,
      onResync: onChange,
      ...(this.#listen.onError ? { onError: this.#listen.onError } : {}),
      ...(this.#listen.reconnectMs ? { reconnectMs: this.#listen.reconnectMs } : {}),
    })
    await listener.start()
    this.#listeners.push(listener)
  }

  /** Stops listening (the node's PostgresDatabase, shared with its other stores, ends the pool). */
  async close(): Promise<void> {
    await Promise.all(this.#listeners.splice(0).map((listener) => listener.stop()))
  }

  async all(): Promise<Record<string, UserSettings>> {
    const rows = await this.#db.query<{ name: string; settings: UserSettings }>(
      'SELECT user_name AS name, settings FROM user_settings ORDER BY user_name',
    )
    return Object.fromEntries(rows.rows.map((row) => [row.name, row.settings]))
  }

  async set(name: string, settings: UserSettings): Promise<void> {
    await this.#db.transaction(async (client) => {
      await client.query(
        `INSERT INTO user_settings (user_name, settings) VALUES ($1, $2)
         ON CONFLICT (user_name) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
        [name, JSON.stringify(settings)],
      )
      await client.query('SELECT pg_notify($1, $2)', [userSettingsChannel, name])
    })
  }
}
