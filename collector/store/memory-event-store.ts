import { eventIdTimeMs, ulidTimePrefix } from '../../shared/protocol/index.js'
import { type ClipRecord, newClipRecord } from './clip-record.js'
import { matchesEventQuery } from './event-filter.js'
import {
  type ChunkReceipt,
  type CommitBatch,
  defaultEventPageSize,
  type EventKey,
  type EventPage,
  type EventQuery,
  type EventStore,
  maxEventPageSize,
  type RetentionMs,
  type RetentionResult,
  type StoredEvent,
} from './event-store.js'

/** The contents of a memory store; hand the same object to a new store to "reopen" it. */
export class MemoryEventData {
  readonly events = new Map<string, StoredEvent>()
  /** Every event id, kept sorted on demand (ids mostly arrive in order). */
  ids: string[] = []
  isSorted = true
  readonly receipts = new Map<string, ChunkReceipt>()
  readonly clips = new Map<string, ClipRecord>()
}

/**
 * The simulated event store: everything in memory, lost with the process. For tests and the demo's
 * throwaway runs; it passes the same contract as LevelEventStore, with the same identity rule (an id is
 * one event whichever device sent it, so no device can replace another's).
 */
export class MemoryEventStore implements EventStore {
  readonly #data: MemoryEventData
  #isOpen = true

  constructor(data: MemoryEventData = new MemoryEventData()) {
    this.#data = data
  }

  get isOpen(): boolean {
    return this.#isOpen
  }

  async findExisting(events: readonly EventKey[], chunks: readonly EventKey[]): Promise<Set<string>> {
    const found = new Set<string>()
    for (const { id } of events) if (this.#data.events.has(id)) found.add(id)
    for (const { id } of chunks) if (this.#data.receipts.has(id)) found.add(id)
    return found
  }

  async latestEventId(deviceId: string): Promise<string> {
    let latest = ''
    for (const event of this.#data.events.values()) {
      if (event.deviceId === deviceId && event.id > latest) latest = event.id
    }
    return latest
  }

  async commit(batch: CommitBatch): Promise<void> {
    const data = this.#data
    for (const event of batch.events) {
      if (!data.events.has(event.id)) {
        const last = data.ids.at(-1)
        if (last !== undefined && event.id < last) data.isSorted = false
        data.ids.push(event.id)
      }
      data.events.set(event.id, event)
      if (event.type === 'clip.manifest' && !data.clips.has(event.payload.clipId)) {
        data.clips.set(event.payload.clipId, newClipRecord(event.deviceId, event.id, event.payload))
      }
    }
    for (const chunk of batch.chunks) data.receipts.set(chunk.id, chunk)
  }

  async getEvent(id: string): Promise<StoredEvent | undefined> {
    return this.#data.events.get(id)
  }

  async queryEvents(query: EventQuery): Promise<EventPage> {
    const limit = Math.min(Math.max(1, query.limit ?? defaultEventPageSize), maxEventPageSize)
    const low = query.fromMs === undefined ? '' : ulidTimePrefix(query.fromMs)
    const high = query.toMs === undefined ? '~' : ulidTimePrefix(query.toMs)
    const ids = this.#sortedIds()
    const order = query.isNewestFirst ? [...ids].reverse() : ids
    const items: StoredEvent[] = []
    let lastId: string | undefined
    for (const id of order) {
      if (id < low || id >= high) continue
      if (query.cursor !== undefined && (query.isNewestFirst ? id >= query.cursor : id <= query.cursor))
        continue
      const event = this.#data.events.get(id)
      if (!event || !matchesEventQuery(event, query)) continue
      if (items.length === limit) return { items, nextCursor: lastId as string }
      items.push(event)
      lastId = id
    }
    return { items }
  }

  async getClip(clipId: string): Promise<ClipRecord | undefined> {
    return this.#data.clips.get(clipId)
  }

  async findClips(clipIds: readonly string[]): Promise<Set<string>> {
    return new Set(clipIds.filter((id) => this.#data.clips.has(id)))
  }

  async findClipOwners(clipIds: readonly string[]): Promise<Map<string, string>> {
    const owners = new Map<string, string>()
    for (const clipId of clipIds) {
      const owner =
        this.#data.clips.get(clipId)?.deviceId ??
        [...this.#data.receipts.values()].find((r) => r.clipId === clipId)?.deviceId
      if (owner !== undefined) owners.set(clipId, owner)
    }
    return owners
  }

  async saveClip(record: ClipRecord): Promise<void> {
    this.#data.clips.set(record.clipId, record)
  }

  async listChunkIndexes(clipId: string): Promise<number[]> {
    const indexes = new Set<number>()
    for (const receipt of this.#data.receipts.values())
      if (receipt.clipId === clipId) indexes.add(receipt.index)
    return [...indexes].sort((a, b) => a - b)
  }

  async forgetClipChunks(record: ClipRecord): Promise<void> {
    this.#forgetReceipts(record.clipId)
    this.#data.clips.set(record.clipId, record)
  }

  async listClipsAwaitingResend(deviceId: string): Promise<ClipRecord[]> {
    return [...this.#data.clips.values()]
      .filter((clip) => clip.deviceId === deviceId && clip.state === 'awaiting-resend')
      .sort((a, b) => (a.clipId < b.clipId ? -1 : 1))
  }

  async sweepRetention(nowMs: number, retention: RetentionMs): Promise<RetentionResult> {
    const data = this.#data
    let deletedCount = 0
    const expired = new Map<string, { deviceId: string; clipId: string }>()
    for (const event of [...data.events.values()]) {
      const keepMs = retention[event.class]
      if (!keepMs || eventIdTimeMs(event.id) >= nowMs - keepMs) continue
      data.events.delete(event.id)
      deletedCount += 1
      if (event.type === 'clip.manifest') {
        const { clipId } = event.payload
        data.clips.delete(clipId)
        this.#forgetReceipts(clipId)
        expired.set(clipId, { deviceId: event.deviceId, clipId })
      }
    }
    if (deletedCount > 0) data.ids = data.ids.filter((id) => data.events.has(id))
    if (retention.low) {
      const cutoffMs = nowMs - retention.low
      for (const receipt of [...data.receipts.values()]) {
        if (data.clips.has(receipt.clipId)) continue
        if (eventIdTimeMs(receipt.id) >= cutoffMs || eventIdTimeMs(receipt.clipId) >= cutoffMs) continue
        data.receipts.delete(receipt.id)
        expired.set(receipt.clipId, { deviceId: receipt.deviceId, clipId: receipt.clipId })
      }
    }
    return { deletedCount, expiredClips: [...expired.values()] }
  }

  async close(): Promise<void> {
    this.#isOpen = false
  }

  #forgetReceipts(clipId: string): void {
    for (const [id, receipt] of this.#data.receipts)
      if (receipt.clipId === clipId) this.#data.receipts.delete(id)
  }

  #sortedIds(): string[] {
    if (!this.#data.isSorted) {
      this.#data.ids.sort()
      this.#data.isSorted = true
    }
    return this.#data.ids
  }
}
