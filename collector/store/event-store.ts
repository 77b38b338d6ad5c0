import type { Envelope, EventClass, MessageType } from '../../shared/protocol/index.js'

/** An envelope as stored: the envelope plus when the collector received it. */
export type StoredEvent = Envelope & {
  /** When the collector received it, ms since the epoch. */
  readonly receivedAtMs: number
}

/** Metadata of a clip: its manifest and which chunks are durably on disk. */
export interface ClipRecord {
  readonly clipId: string
  readonly deviceId: string
  /** The manifest envelope id, once the manifest arrived. */
  readonly manifestId?: string
  readonly manifest?: Extract<Envelope, { type: 'clip.manifest' }>['payload']
  /** Set when every chunk is on disk and the whole file matched the manifest's sha256. */
  readonly isComplete: boolean
  /**
   * Every chunk arrived but the reassembled file failed the manifest's size or sha256 check: its chunk
   * receipts and partial file were dropped and the device was asked (`clip.resend`) to upload it again.
   */
  readonly isAwaitingResend?: boolean
  /** `clip.resend` requests made so far; also the attempt number of the latest. */
  readonly resendCount?: number
  /** Given up: the file failed its check and no resend is coming (bound reached, or the device lost it). */
  readonly isCorrupt?: boolean
  /** The device answered `clip.unavailable`: it no longer holds the clip. */
  readonly isGoneFromDevice?: boolean
}

/** A clip chunk whose body is durably written; recorded so a resent chunk is acked, not rewritten. */
export interface ChunkReceipt {
  readonly id: string
  readonly deviceId: string
  readonly clipId: string
  readonly index: number
  readonly size: number
}

/** One group commit: everything is written in a single atomic Level batch. */
export interface CommitBatch {
  readonly events: readonly StoredEvent[]
  readonly chunks: readonly ChunkReceipt[]
  readonly clips: readonly ClipRecord[]
}

/** A query over stored events. Time bounds are capture times (the event id's ULID time). */
export interface EventQuery {
  readonly deviceId?: string
  readonly type?: MessageType
  readonly eventClass?: EventClass
  /** Inclusive lower bound, ms since the epoch. */
  readonly fromMs?: number
  /** Exclusive upper bound, ms since the epoch. */
  readonly toMs?: number
  /** Page size; at most 1000. */
  readonly limit?: number
  /** The cursor of the previous page. */
  readonly cursor?: string
  /** Newest first when true. */
  readonly isNewestFirst?: boolean
}

/** One page of results; nextCursor is absent on the last page. */
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

/** The durable event store port. */
export interface EventStore {
  /** Of the given event ids and chunk ids, those already stored. */
  findExisting(eventIds: readonly string[], chunkIds: readonly string[]): Promise<Set<string>>
  /** Of the given clip ids, those with a clip record (their manifest arrived, and retention kept it). */
  findClips(clipIds: readonly string[]): Promise<Set<string>>
  /** The greatest event id stored for a device ('' when none): ids above it cannot be duplicates. */
  latestEventId(deviceId: string): Promise<string>
  /** Writes one group commit atomically and durably. */
  commit(batch: CommitBatch): Promise<void>
  /** One event by id. */
  getEvent(id: string): Promise<StoredEvent | undefined>
  /** A page of events matching the query, ordered by id (capture time). */
  queryEvents(query: EventQuery): Promise<EventPage>
  /** A clip's metadata. */
  getClip(clipId: string): Promise<ClipRecord | undefined>
  /** Indexes of the chunks of a clip that are on disk. */
  listChunkIndexes(clipId: string): Promise<number[]>
  /**
   * Forgets every chunk receipt of a clip (so chunks sent again are stored, not deduplicated) and writes
   * its new record, in one atomic batch.
   */
  forgetClipChunks(record: ClipRecord): Promise<void>
  /** Clips of a device awaiting a resend (`isAwaitingResend`), oldest first. */
  listClipsAwaitingResend(deviceId: string): Promise<ClipRecord[]>
  /**
   * Deletes events older than the retention of their class; an expired clip manifest takes every key of
   * its clip along in the same batch (record, resend index, chunk receipts). Receipts of chunks that
   * belong to no clip and are past the low-class retention go as well.
   */
  sweepRetention(nowMs: number, retention: RetentionMs): Promise<RetentionResult>
  /** True while the store is open. */
  readonly isOpen: boolean
  close(): Promise<void>
}
