import type { ErrorCode } from '../../shared/errors.js'
import type { Envelope } from '../../shared/protocol/index.js'
import type { ConformanceRefusal } from '../broker/mqtt-conformance.js'
import type { EventKey, StoredEvent } from '../store/event-store.js'

/** Why something was refused; the label of the rejection counter. */
export type RejectReason =
  | 'malformed'
  | 'oversized'
  | 'unknown_type'
  | 'mismatch'
  | 'bad_topic'
  | 'foreign_topic'
  | 'not_a_device'
  | 'rate_limited'
  | 'clock_ahead'
  | 'storage_quota'
  | 'chunk_crc'
  | 'expired'
  | 'clip_foreign'
  | 'store_failed'
  | 'overloaded'
  | 'packet_too_large'
  | 'malformed_length'
  | 'malformed_packet'
  | 'auth_failed'
  | 'auth_busy'
  | 'auth_backoff'
  | 'session_limit'
  | ConformanceRefusal
  | 'preauth_per_address'
  | 'preauth_too_large'
  | 'preauth_budget'
  | 'client_id_rejected'
  | 'subscribe_refused'
  | 'connect_timeout'
  | 'tls_handshake'

/** Something to store: an event envelope, or a verified clip chunk. */
export type IngestItem =
  | { readonly kind: 'event'; readonly event: StoredEvent }
  | {
      readonly kind: 'chunk'
      readonly envelope: Extract<Envelope, { type: 'clip.chunk' }>
      readonly data: Buffer
    }

/** A refusal to report to the device in its next ack (when the id is known) and to count. */
export interface Rejection {
  readonly deviceId: string
  /** The envelope id, when it could be read; the device drops (retry false) or resends it. */
  readonly id?: string
  /** A code from the error catalogue, sent to the device in the ack. */
  readonly code: ErrorCode
  readonly isRetryable: boolean
  readonly reason: RejectReason
}

/** Result of decoding one publish: items to store and rejections to report. */
export interface DecodedPublish {
  readonly items: readonly IngestItem[]
  readonly rejections: readonly Rejection[]
}

/** An item or a refusal waiting in the group-commit queue. */
export type QueueEntry = { readonly item: IngestItem } | { readonly rejection: Rejection }

/** The envelope id of an item (the deduplication key). */
export function itemId(item: IngestItem): string {
  return item.kind === 'event' ? item.event.id : item.envelope.id
}

/** The deduplication key of an item: its device and envelope id. */
export function itemKey(item: IngestItem): EventKey {
  return { deviceId: itemDevice(item), id: itemId(item) }
}

/** The device an item came from. */
export function itemDevice(item: IngestItem): string {
  return item.kind === 'event' ? item.event.deviceId : item.envelope.deviceId
}

/** True for a queued high-class event. */
export function isHighClass(entry: QueueEntry): boolean {
  return 'item' in entry && entry.item.kind === 'event' && entry.item.event.class === 'high'
}

/**
 * What a press's round may take along: events of the high and medium class (they cost nothing more in
 * the same store batch), not chunks, whose bodies are synced first, nor clip manifests, which must be
 * committed after their chunks.
 */
export function mayJoinUrgentRound(entry: QueueEntry): boolean {
  return 'rejection' in entry || (entry.item.kind === 'event' && entry.item.event.class !== 'low')
}

/** Under a backlog, a press must not wait behind thousands of readings: high class goes first. */
export function highClassFirst(queue: QueueEntry[]): QueueEntry[] {
  const high = queue.filter(isHighClass)
  return high.length === 0 ? queue : [...high, ...queue.filter((entry) => !isHighClass(entry))]
}

/**
 * The entries the next round takes, at most maxItems, and what stays queued. An urgent round (one with a
 * press) takes only what may join it, high class first; any other takes the queue in order, high class
 * first when it holds more than one round.
 */
export function takeRound(
  queue: QueueEntry[],
  maxItems: number,
  isUrgent: boolean,
): { entries: QueueEntry[]; rest: QueueEntry[] } {
  if (isUrgent) {
    const entries = highClassFirst(queue.filter(mayJoinUrgentRound)).slice(0, maxItems)
    const taken = new Set(entries)
    return { entries, rest: queue.filter((entry) => !taken.has(entry)) }
  }
  const ordered = queue.length > maxItems ? highClassFirst(queue) : queue
  if (ordered.length <= maxItems) return { entries: ordered, rest: [] }
  return { entries: ordered.slice(0, maxItems), rest: ordered.slice(maxItems) }
}
