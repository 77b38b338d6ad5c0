import type { EventClass, MessageType } from '../../shared/protocol/index.js'

/** Identifies one stored event: its class (the first sort key) and its ULID. */
export interface EventKey {
  readonly eventClass: EventClass
  readonly id: string
}

/** One event as stored: the encoded envelope JSON. */
export interface StoredEvent extends EventKey {
  readonly seq: number
  readonly body: string
}

/** What a scan reports for each stored event, in send order (class rank, then id). */
export interface ScannedEvent extends EventKey {
  readonly seq: number
  readonly bytes: number
  /** The envelope's type; undefined when the body names no known type. */
  readonly type: MessageType | undefined
}

/** One atomic change: puts, deletes and the highest sequence number handed out so far. */
export interface OutboxWrite {
  readonly put?: readonly StoredEvent[]
  readonly del?: readonly EventKey[]
  readonly lastSeq?: number
}

/**
 * The outbox storage port. Adapters: LevelOutboxStore (the Pi's disk) and MemoryOutboxStore. Both pass
 * the same contract suite (test/agent/outbox/outbox-store.contract.ts).
 */
export interface OutboxStore {
  open(): Promise<void>
  /** Applies the change atomically. With sync, resolves only once it is on stable storage (fsync). */
  write(change: OutboxWrite, options: { readonly sync: boolean }): Promise<void>
  /** Every stored event, in send order. */
  scan(): AsyncIterable<ScannedEvent>
  /** Bodies of the given events, undefined where missing. */
  read(keys: readonly EventKey[]): Promise<(string | undefined)[]>
  /** The lastSeq of the latest write that carried one, 0 when none. */
  readLastSeq(): Promise<number>
  close(): Promise<void>
}

/** Byte size of a stored body as the outbox budgets it. */
export function bodyBytes(body: string): number {
  return Buffer.byteLength(body)
}
