import type { StoredEvent } from '../store/event-store.js'

/**
 * True for the events forwarders receive: every high-class event, and the snapshots and clip manifests
 * that relate to one (payload.relatesTo), so a notification can be enriched after it was sent.
 */
export function isForwarded(event: StoredEvent): boolean {
  if (event.class === 'high') return true
  return (event.type === 'snapshot' || event.type === 'clip.manifest') && Boolean(event.payload.relatesTo)
}

/**
 * Sends a durably stored high-class event (or a snapshot/clip manifest relating to one) somewhere else
 * (push notification, webhook, home automation); the alerts extension adds one. The
 * dispatcher gives each forwarder its own queue and calls forward() one event at a time, so a slow or
 * failing forwarder never blocks ingest or the others.
 */
export interface Forwarder {
  /** Short stable name, used in metrics and logs. */
  readonly name: string
  /** Delivers one event; reject to have the failure counted (the dispatcher does not retry). */
  forward(event: StoredEvent): Promise<void>
  /** Releases resources on shutdown. */
  close?(): Promise<void>
}
