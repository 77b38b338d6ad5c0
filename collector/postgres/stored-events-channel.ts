import type { StoredEvent } from '../store/event-store.js'
import { PostgresChannelListener } from './postgres-channel-listener.js'
import type { PostgresDatabase } from './postgres-database.js'

/** The LISTEN/NOTIFY channel committed events are announced on. */
export const storedEventsChannel = 'doorbell_stored_events'

/** Who announces: the channel, and the node's id so it can ignore its own announcements. */
export interface StoredEventsNotify {
  readonly channel: string
  readonly nodeId: string
  /** Which events are announced (those a live view shows); default every one. */
  readonly isAnnounced?: (event: StoredEvent) => boolean
}

/** What one notification carries: the announcing node and the keys of its events (bodies stay in the table). */
interface StoredEventsMessage {
  readonly node: string
  readonly ids: readonly string[]
}

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; ids are split over messages below that. */
const maxPayloadBytes = 7000

/** The NOTIFY payloads for one commit's events: ids only, split to stay under the payload limit. */
export function storedEventsPayloads(nodeId: string, events: readonly StoredEvent[]): string[] {
  const payloads: string[] = []
  let ids: string[] = []
  let size = nodeId.length + 32
  for (const event of events) {
    if (size + event.id.length + 3 > maxPayloadBytes && ids.length > 0) {
      payloads.push(JSON.stringify({ node: nodeId, ids } satisfies StoredEventsMessage))
      ids = []
      size = nodeId.length + 32
    }
    ids.push(event.id)
    size += event.id.length + 3
  }
  if (ids.length > 0) payloads.push(JSON.stringify({ node: nodeId, ids } satisfies StoredEventsMessage))
  return payloads
}

/** Collaborators of a PostgresEventListener. */
export interface StoredEventsListenerDeps {
  /** The URL of the fleet's database; the listener holds one connection of its own (LISTEN needs a session). */
  readonly url: string
  /** Reads the announced events (the node's pool). */
  readonly db: PostgresDatabase
  /** This node: its own announcements are skipped, it already showed those events. */
  readonly nodeId: string
  readonly channel?: string
  /** Events other nodes stored, in id order. */
  readonly onEvents: (events: StoredEvent[]) => void
  /** The connection failed or a read failed; the listener reconnects by itself. */
  readonly onError?: (err: Error) => void
  /** Connected again after a gap: events stored meanwhile were not announced here (a live view reloads). */
  readonly onResync?: () => void
  readonly reconnectMs?: number
}

/**
 * Hears which events other nodes committed and hands them over, so a dashboard on any node shows live
 * what any node stored. NOTIFY is sent at commit only, so an announced event is always there to read.
 */
export class StoredEventsListener {
  readonly #deps: StoredEventsListenerDeps
  readonly #channel: PostgresChannelListener

  constructor(deps: StoredEventsListenerDeps) {
    this.#deps = deps
    this.#channel = new PostgresChannelListener({
      url: deps.url,
      channel: deps.channel ?? storedEventsChannel,
      applicationName: `doorbell-listener ${deps.nodeId}`,
      onNotification: (payload) => {
        if (payload) void this.#announced(payload)
      },
      ...(deps.onResync ? { onResync: deps.onResync } : {}),
      ...(deps.onError ? { onError: deps.onError } : {}),
      ...(deps.reconnectMs === undefined ? {} : { reconnectMs: deps.reconnectMs }),
    })
  }

  /** Connects and listens; rejects when the first connection fails (later failures reconnect). */
  start(): Promise<void> {
    return this.#channel.start()
  }

  async #announced(payload: string): Promise<void> {
    let message: StoredEventsMessage
    try {
      message = JSON.parse(payload) as StoredEventsMessage
    } catch (err) {
      this.#deps.onError?.(err as Error)
      return
    }
    if (message.node === this.#deps.nodeId || !Array.isArray(message.ids) || message.ids.length === 0) return
    try {
      const rows = await this.#deps.db.query<{ body: StoredEvent }>(
        'SELECT body FROM events WHERE event_id = ANY($1::text[]) ORDER BY event_id',
        [message.ids],
      )
      if (rows.rows.length > 0) this.#deps.onEvents(rows.rows.map((row) => row.body))
    } catch (err) {
      this.#deps.onError?.(err as Error)
    }
  }

  stop(): Promise<void> {
    return this.#channel.stop()
  }
}
