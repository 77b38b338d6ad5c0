import { isDoorbellError } from '../../shared/errors.js'
import type { ClipStore } from '../clips/clip-store.js'
import type { ChunkReceipt, ClipRecord, EventStore, StoredEvent } from '../store/event-store.js'
import type { IngestItem, Rejection } from './ingest-item.js'
import { RecentIdCache } from './recent-id-cache.js'

/** The ack owed to one device after a commit: ids now durable (or already were) and refusals. */
export interface DeviceAck {
  readonly deviceId: string
  readonly ids: string[]
  readonly rejected: Rejection[]
}

/** What one group commit did. */
export interface CommitResult {
  /** Events stored for the first time, in arrival order. */
  readonly stored: StoredEvent[]
  readonly storedChunks: ChunkReceipt[]
  readonly duplicateCount: number
  readonly acks: DeviceAck[]
  readonly durationMs: number
}

/** Collaborators of the writer. */
export interface GroupCommitWriterDeps {
  readonly store: EventStore
  readonly clips: ClipStore
  /** Called after every commit (and for rejection-only rounds) with the acks to publish. */
  readonly onCommitted: (result: CommitResult) => void
  /** Called when a commit fails; its items are nacked with retry so the devices resend them. */
  readonly onCommitFailed: (err: unknown, itemCount: number) => void
  readonly maxBatchItems: number
  readonly dedupCacheSize: number
  readonly now?: () => number
}

type QueueEntry = { readonly item: IngestItem } | { readonly rejection: Rejection }

function itemId(item: IngestItem): string {
  return item.kind === 'event' ? item.event.id : item.envelope.id
}

function itemDevice(item: IngestItem): string {
  return item.kind === 'event' ? item.event.deviceId : item.envelope.deviceId
}

/**
 * Group commit (issue 3): items from every client queue here; while one Level batch is being written the
 * next one accumulates, so under load a single fsync covers thousands of events and durability does not
 * cost throughput. After each commit every device gets one ack listing its ids. Deduplication happens
 * here, across the batch and against the store, so two copies in one batch are also stored once.
 */
export class GroupCommitWriter {
  readonly #deps: GroupCommitWriterDeps
  readonly #cache: RecentIdCache
  #queue: QueueEntry[] = []
  #running: Promise<void> | undefined

  constructor(deps: GroupCommitWriterDeps) {
    this.#deps = deps
    this.#cache = new RecentIdCache(deps.dedupCacheSize)
  }

  /** Items waiting for the next commit. */
  get queuedCount(): number {
    return this.#queue.length
  }

  /** Queues an item for the next group commit. */
  submit(item: IngestItem): void {
    this.#queue.push({ item })
    this.#kick()
  }

  /** Queues a refusal so it reaches the device in the same ack round as its accepted events. */
  reject(rejection: Rejection): void {
    this.#queue.push({ rejection })
    this.#kick()
  }

  /** Resolves once everything queued so far is committed (used on shutdown). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running
  }

  #kick(): void {
    if (this.#running) return
    // setImmediate lets every packet already read from the sockets join this batch.
    this.#running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain())
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const take = Math.min(this.#queue.length, this.#deps.maxBatchItems)
        const entries = take === this.#queue.length ? this.#queue : this.#queue.slice(0, take)
        this.#queue = take === this.#queue.length ? [] : this.#queue.slice(take)
        await this.#commitRound(entries)
      }
    } finally {
      this.#running = undefined
    }
  }

  async #commitRound(entries: QueueEntry[]): Promise<void> {
    const startedMs = performance.now()
    const acks = new Map<string, DeviceAck>()
    const ackOf = (deviceId: string): DeviceAck => {
      let ack = acks.get(deviceId)
      if (!ack) {
        ack = { deviceId, ids: [], rejected: [] }
        acks.set(deviceId, ack)
      }
      return ack
    }
    const fresh: IngestItem[] = []
    const seen = new Set<string>()
    let duplicateCount = 0
    for (const entry of entries) {
      if ('rejection' in entry) {
        ackOf(entry.rejection.deviceId).rejected.push(entry.rejection)
        continue
      }
      const id = itemId(entry.item)
      if (seen.has(id)) {
        duplicateCount += 1
        continue
      }
      seen.add(id)
      if (this.#cache.has(id)) {
        duplicateCount += 1
        ackOf(itemDevice(entry.item)).ids.push(id)
        continue
      }
      fresh.push(entry.item)
    }
    const stored: StoredEvent[] = []
    const storedChunks: ChunkReceipt[] = []
    try {
      const existing = await this.#deps.store.findExisting(
        fresh.filter((item) => item.kind === 'event').map(itemId),
        fresh.filter((item) => item.kind === 'chunk').map(itemId),
      )
      const clips: ClipRecord[] = []
      const chunkWrites: Promise<void>[] = []
      for (const item of fresh) {
        const id = itemId(item)
        if (existing.has(id)) {
          duplicateCount += 1
          this.#cache.add(id)
          continue
        }
        if (item.kind === 'event') {
          stored.push(item.event)
          if (item.event.type === 'clip.manifest') {
            const manifest = item.event.payload
            clips.push({
              clipId: manifest.clipId,
              deviceId: item.event.deviceId,
              manifestId: item.event.id,
              manifest,
              isComplete: false,
            })
          }
        } else {
          const { payload, deviceId } = item.envelope
          storedChunks.push({
            id,
            deviceId,
            clipId: payload.clipId,
            index: payload.index,
            size: payload.size,
          })
          chunkWrites.push(this.#deps.clips.writeChunk(deviceId, payload.clipId, payload.offset, item.data))
        }
      }
      // Chunk bodies are fsynced before their receipts are committed, so a receipt implies the bytes.
      await Promise.all(chunkWrites)
      if (stored.length > 0 || storedChunks.length > 0) {
        await this.#deps.store.commit({ events: stored, chunks: storedChunks, clips })
      }
    } catch (err) {
      this.#deps.onCommitFailed(err, fresh.length)
      const code = isDoorbellError(err) ? err.code : 'STORE_FAILED'
      for (const item of fresh) {
        ackOf(itemDevice(item)).rejected.push({
          deviceId: itemDevice(item),
          id: itemId(item),
          code,
          isRetryable: true,
          reason: 'store_failed',
        })
      }
      this.#deps.onCommitted({
        stored: [],
        storedChunks: [],
        duplicateCount,
        acks: [...acks.values()],
        durationMs: 0,
      })
      return
    }
    for (const item of fresh) {
      const id = itemId(item)
      this.#cache.add(id)
      ackOf(itemDevice(item)).ids.push(id)
    }
    this.#deps.onCommitted({
      stored,
      storedChunks,
      duplicateCount,
      acks: [...acks.values()],
      durationMs: performance.now() - startedMs,
    })
  }
}
