import type { StoredEvent } from '../store/event-store.js'

/**
 * Sends a durably stored high-class event somewhere else (push notification, webhook, home automation).
 * Implementations arrive with the alerts issue. The dispatcher gives each forwarder its own queue and
 * calls forward() one event at a time, so a slow or failing forwarder never blocks ingest or the others.
 */
export interface Forwarder {
  /** Short stable name, used in metrics and logs. */
  readonly name: string
  /** Delivers one event; reject to have the failure counted (the dispatcher does not retry). */
  forward(event: StoredEvent): Promise<void>
  /** Releases resources on shutdown. */
  close?(): Promise<void>
}
