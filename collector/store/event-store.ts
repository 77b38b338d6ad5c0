import type { Envelope, EventClass, MessageType } from '../../shared/protocol/index.js'
import type { ClipRecord } from './clip-record.js'

export type { ClipCorruptReason, ClipManifest, ClipRecord, ClipState } from './clip-record.js'

/** An envelope as stored: the envelope plus when the collector received it. */
export type StoredEvent = Envelope & {
  /** When the collector received it, ms since the epoch. */
  readonly receivedAtMs: number
}

/**
 * What identifies a stored event or chunk: the device that sent it and the envelope id it chose. Two
 * copies with the same key are one event (a PostgreSQL store: `UNIQUE (device_id, event_id)`).
 */
export interface EventKey {
  readonly deviceId: string
  readonly id: string
}

/** A clip chunk whose body is durably written; recorded so a resent chunk is acked, not rewritten. */
export interface ChunkReceipt {
  /** The chunk envelope's id. */
  readonly id: string
  readonly deviceId: string
  readonly clipId: string
  readonly index: number
  readonly size: number
}

/**
 * One group commit, written atomically and durably: every event and receipt, or none. Each stored
 * clip.manifest starts its clip's record (state `receiving`) in the same commit.
 */
export interface CommitBatch {
  readonly events: readonly StoredEvent[]
  readonly chunks: readonly ChunkReceipt[]
}

/** A query over stored events. Time bounds are capture times (the event id's ULID time). */
export interface EventQuery {
  readonly deviceId?: string
  readonly type?: MessageType
  readonly eventClass?: EventClass
  /** Only snapshots and clip manifests whose `payload.relatesTo` is this event id. */
  readonly relatesTo?: string
  /** Inclusive lower bound, ms since the epoch. */
  readonly fromMs?: number
  /** Exclusive upper bound, ms since the epoch. */
  readonly toMs?: number
  /** Page size: defaultEventPageSize when absent, at most maxEventPageSize. */
  readonly limit?: number
  /** The nextCursor of the previous page (opaque). */
  readonly cursor?: string
  /** Newest first when true. */
  readonly isNewestFirst?: boolean
}

/** Largest page queryEvents returns. */
export const maxEventPageSize = 1000
/** Page size of a query that names none. */
export const defaultEventPageSize = 100

/**
 * One page of results, ordered by id (capture time), ascending or newest first. nextCursor is absent on
 * the last page; a page may hold fewer items than the limit and still have one (the store bounds the
 * work of a page), so callers page until it is absent.
 */
export interface EventPage {
  readonly items: StoredEvent[]
  readonly nextCursor?: string
}

/** How long each class is kept, in ms; 0 keeps it forever. */
export type RetentionMs = Readonly<Record<EventClass, number>>

/** What a retention sweep removed; the clip store deletes the files of expiredClips. */
export interface RetentionResult {
  readonly deletedCount: number
  readonly expiredClips: { deviceId: string; clipId: string }[]
}

/**
 * The durable store of events, clip records and chunk receipts: what the group commit, clip recovery,
 * retention and the HTTP routes need, in terms a Level or a SQL engine can both keep. Every
 * implementation passes test/collector/store/contracts/event-store.contract.ts.
 *
 * Ids are ULIDs minted by devices (80 random bits), so the HTTP routes address one event or clip by its
 * id alone; deduplication is by EventKey.
 */
export interface EventStore {
  /** Of the given events and chunks, the ids already stored under the same device. */
  findExisting(events: readonly EventKey[], chunks: readonly EventKey[]): Promise<Set<string>>
  /** The greatest event id stored for a device ('' when none): ids above it cannot be duplicates. */
  latestEventId(deviceId: string): Promise<string>
  /**
   * Writes one group commit atomically and durably. Idempotent per key: an event or receipt already
   * stored stays one copy, and a manifest stored again does not reset its clip's record.
   */
  commit(batch: CommitBatch): Promise<void>
  /** One event by id. */
  getEvent(id: string): Promise<StoredEvent | undefined>
  /** A page of events matching every given filter, ordered by id (capture time). */
  queryEvents(query: EventQuery): Promise<EventPage>
  /** A clip's record. */
  getClip(clipId: string): Promise<ClipRecord | undefined>
  /** Of the given clip ids, those with a record (their manifest arrived, and retention kept it). */
  findClips(clipIds: readonly string[]): Promise<Set<string>>
  /**
   * The device each clip id belongs to: its record's device, or for a clip with no record yet (chunks
   * came before the manifest) the device of a stored chunk receipt. Clip ids with neither are absent.
   */
  findClipOwners(clipIds: readonly string[]): Promise<Map<string, string>>
  /** Replaces a clip's record (its state changed). */
  saveClip(record: ClipRecord): Promise<void>
  /** Indexes of the chunks of a clip whose receipts are stored, ascending. */
  listChunkIndexes(clipId: string): Promise<number[]>
  /**
   * Forgets every chunk receipt of a clip (so chunks sent again are stored, not deduplicated) and writes
   * its new record, atomically.
   */
  forgetClipChunks(record: ClipRecord): Promise<void>
  /** Clips of a device in state `awaiting-resend`, oldest (clip id) first. */
  listClipsAwaitingResend(deviceId: string): Promise<ClipRecord[]>
  /**
   * Deletes events older than the retention of their class (by capture time). An expired clip.manifest
   * takes its clip's record and chunk receipts along. Receipts of chunks whose clip has no record and
   * started before the low-class cutoff go as well (a chunk whose manifest never came); their clips are
   * listed in expiredClips too, so their files go.
   */
  sweepRetention(nowMs: number, retention: RetentionMs): Promise<RetentionResult>
  /** True while the store is open. */
  readonly isOpen: boolean
  close(): Promise<void>
}
