import { type ErrorCode, isDoorbellError } from '../../shared/errors.js'
import type { ClipStore } from '../clips/clip-store.js'
import type { ChunkReceipt, EventStore, StoredEvent } from '../store/event-store.js'
import { ClipOwners } from './clip-owners.js'
import type { CommitResult, DeviceAck } from './commit-result.js'
import { findExpiredChunkIds } from './expired-chunks.js'
import {
  type IngestItem,
  isHighClass,
  itemDevice,
  itemId,
  itemKey,
  type QueueEntry,
  type Rejection,
  takeRound,
} from './ingest-item.js'
import { NewestStoredIds } from './newest-stored-ids.js'

/** Collaborators of the writer. */
export interface GroupCommitWriterDeps {
  readonly store: EventStore
  readonly clips: ClipStore
  /** Called after every commit (and for rejection-only rounds) with the acks to publish. */
  readonly onCommitted: (result: CommitResult) => void
  /** Called when a commit fails; its items are nacked with retry so the devices resend them. */
  readonly onCommitFailed: (err: unknown, itemCount: number) => void
  readonly maxBatchItems: number
  /** How long medium and low items wait for company before a commit; high class never waits. */
  readonly lingerMs?: number
  /** Group commits allowed in flight at once (LevelDB merges concurrent batches into one log write). */
  readonly maxConcurrentCommits?: number
  /**
   * How long clips are kept (the low-class retention), ms; 0 or absent keeps them forever. A chunk of a
   * clip that started before `now - clipRetentionMs` and has no clip record is refused, not stored.
   */
  readonly clipRetentionMs?: number
  readonly now?: () => number
}

/**
 * Group commit: items from every client queue here; while one Level batch is being written the
 * next one accumulates, so under load a single fsync covers thousands of events and durability does not
 * cost throughput. A few commits may be in flight at once (pipelining); their acks are still published in
 * commit order. After each commit every device gets one ack listing its ids. Deduplication happens here,
 * across the batch, against commits in flight and against the store, so two copies are always stored once.
 */
export class GroupCommitWriter {
  readonly #deps: GroupCommitWriterDeps
  readonly #newest: NewestStoredIds
  readonly #clipOwners: ClipOwners
  readonly #maxRounds: number
  #queue: QueueEntry[] = []
  #isScheduled = false
  #lingerTimer: NodeJS.Timeout | undefined
  #activeRounds = 0
  #activeUrgentRounds = 0
  /** Settles (true = committed) when the most recent round has finished, acks included. */
  #lastRound: Promise<boolean> = Promise.resolve(true)
  /** The same for the most recent round that carried a press (urgent rounds wait only for each other). */
  #lastUrgentRound: Promise<boolean> = Promise.resolve(true)
  /** Ids being committed right now, with the outcome of their round. */
  readonly #inFlight = new Map<string, Promise<boolean>>()

  constructor(deps: GroupCommitWriterDeps) {
    this.#deps = deps
    this.#newest = new NewestStoredIds(deps.store)
    this.#clipOwners = new ClipOwners(deps.store)
    this.#maxRounds = Math.max(1, deps.maxConcurrentCommits ?? 2)
  }

  /** Items waiting for the next commit. */
  get queuedCount(): number {
    return this.#queue.length
  }

  /** Queues an item for the next group commit. */
  submit(item: IngestItem): void {
    const entry = { item }
    this.#queue.push(entry)
    this.#schedule(isHighClass(entry))
  }

  /** Queues a refusal so it reaches the device in the same ack round as its accepted events. */
  reject(rejection: Rejection): void {
    this.#queue.push({ rejection })
    this.#schedule()
  }

  /** Resolves once everything queued so far is committed and acked (used on shutdown and in tests). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#activeRounds > 0 || this.#isScheduled) {
      await this.#lastRound
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /** True when a round may start now: within the cap, or a press's round in the one slot kept for them. */
  #mayStart(isUrgent: boolean): boolean {
    if (this.#activeRounds < this.#maxRounds) return true
    return isUrgent && this.#activeUrgentRounds === 0
  }

  /** Plans the next round: at once for high class (after this tick's packets), else after the linger. */
  #schedule(isUrgent = false): void {
    if (!this.#mayStart(isUrgent)) return
    if (this.#lingerTimer && (isUrgent || this.#queue.length >= this.#deps.maxBatchItems)) {
      clearTimeout(this.#lingerTimer)
      this.#lingerTimer = undefined
      this.#isScheduled = false
    }
    if (this.#isScheduled) return
    this.#isScheduled = true
    const lingerMs = this.#deps.lingerMs ?? 0
    if (lingerMs > 0 && !isUrgent && this.#queue.length < this.#deps.maxBatchItems) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = undefined
        this.#isScheduled = false
        this.#startRound()
      }, lingerMs)
      return
    }
    // setImmediate lets every packet already read from the sockets join this batch.
    setImmediate(() => {
      this.#isScheduled = false
      this.#startRound()
    })
  }

  /**
   * Takes a round's entries from the queue and commits them. A round with a press in it is urgent: it
   * leaves chunks and clip manifests for a later round, may start in a slot of its own when the others
   * are taken, and publishes its acks after the previous urgent round only, so a press never waits for
   * a clip's chunks to be synced or for the rounds of readings before it.
   */
  #startRound(): void {
    const isUrgent = this.#queue.some(isHighClass)
    if (this.#queue.length === 0 || !this.#mayStart(isUrgent)) return
    const { entries, rest } = takeRound(this.#queue, this.#deps.maxBatchItems, isUrgent)
    this.#queue = rest
    this.#activeRounds += 1
    if (isUrgent) this.#activeUrgentRounds += 1
    const round = this.#commitRound(entries, isUrgent ? this.#lastUrgentRound : this.#lastRound)
    // Every round so far: an urgent one may finish before the ordinary rounds begun before it, and the
    // next ordinary round must still ack after all of them.
    this.#lastRound = isUrgent
      ? Promise.all([this.#lastRound, round]).then(([, isCommitted]) => isCommitted)
      : round
    if (isUrgent) this.#lastUrgentRound = round
    void round.finally(() => {
      this.#activeRounds -= 1
      if (isUrgent) this.#activeUrgentRounds -= 1
      if (this.#queue.length > 0) this.#schedule(this.#queue.some(isHighClass))
    })
    if (this.#queue.length > 0) this.#schedule(this.#queue.some(isHighClass))
  }

  async #commitRound(entries: QueueEntry[], previous: Promise<boolean>): Promise<boolean> {
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
    let settle: (isCommitted: boolean) => void = () => {}
    const outcome = new Promise<boolean>((resolve) => {
      settle = resolve
    })
    await this.#newest.learn(entries)
    const fresh: IngestItem[] = []
    const waiting: { item: IngestItem; round: Promise<boolean> }[] = []
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
      const pending = this.#inFlight.get(id)
      if (pending) {
        duplicateCount += 1
        waiting.push({ item: entry.item, round: pending })
      } else {
        fresh.push(entry.item)
        this.#inFlight.set(id, outcome)
      }
    }
    const stored: StoredEvent[] = []
    const storedChunks: ChunkReceipt[] = []
    const refused: Rejection[] = []
    let isCommitted = true
    let error: unknown
    try {
      const existing = await this.#deps.store.findExisting(
        fresh
          .filter(
            (item) => item.kind === 'event' && this.#newest.mayBeStored(item.event.deviceId, item.event.id),
          )
          .map(itemKey),
        fresh.filter((item) => item.kind === 'chunk').map(itemKey),
      )
      const keepMs = this.#deps.clipRetentionMs ?? 0
      const nowMs = (this.#deps.now ?? Date.now)()
      const expired =
        keepMs > 0 ? await findExpiredChunkIds(this.#deps.store, fresh, existing, nowMs - keepMs) : new Set()
      const foreign = await this.#clipOwners.findForeign(fresh, existing)
      const chunkWrites: Promise<void>[] = []
      for (const item of fresh) {
        const id = itemId(item)
        if (existing.has(id)) {
          duplicateCount += 1
          continue
        }
        if (expired.has(id)) {
          const deviceId = itemDevice(item)
          refused.push({ deviceId, id, code: 'CLIP_EXPIRED', isRetryable: false, reason: 'expired' })
          continue
        }
        if (foreign.has(id)) {
          const deviceId = itemDevice(item)
          refused.push({ deviceId, id, code: 'CLIP_FOREIGN', isRetryable: false, reason: 'clip_foreign' })
          continue
        }
        if (item.kind === 'event') {
          stored.push(item.event)
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
        await this.#deps.store.commit({ events: stored, chunks: storedChunks })
      }
    } catch (err) {
      isCommitted = false
      error = err
    }
    // Raised before the in-flight entries go, so a concurrent round sees one or the other.
    if (isCommitted) for (const event of stored) this.#newest.raise(event.deviceId, event.id)
    settle(isCommitted)
    for (const item of fresh) {
      const id = itemId(item)
      if (this.#inFlight.get(id) === outcome) this.#inFlight.delete(id)
    }
    // Acks go out in commit order; a copy of an id committed by an earlier round waits for that round.
    await previous
    const nack = (item: IngestItem, code: ErrorCode): void => {
      ackOf(itemDevice(item)).rejected.push({
        deviceId: itemDevice(item),
        id: itemId(item),
        code,
        isRetryable: true,
        reason: 'store_failed',
      })
    }
    if (isCommitted) {
      const refusedIds = new Set(refused.map((rejection) => rejection.id))
      for (const item of fresh) {
        if (!refusedIds.has(itemId(item))) ackOf(itemDevice(item)).ids.push(itemId(item))
      }
      for (const rejection of refused) ackOf(rejection.deviceId).rejected.push(rejection)
    } else {
      this.#deps.onCommitFailed(error, fresh.length)
      const code = isDoorbellError(error) ? error.code : 'STORE_WRITE_FAILED'
      for (const item of fresh) nack(item, code)
    }
    for (const { item, round } of waiting) {
      if (await round) ackOf(itemDevice(item)).ids.push(itemId(item))
      else nack(item, 'STORE_WRITE_FAILED')
    }
    try {
      this.#deps.onCommitted({
        stored: isCommitted ? stored : [],
        storedChunks: isCommitted ? storedChunks : [],
        refused: isCommitted ? refused : [],
        duplicateCount,
        acks: [...acks.values()],
        durationMs: performance.now() - startedMs,
      })
    } catch {
      // The observer (ack publishing, metrics) must not break the commit chain.
    }
    return isCommitted
  }
}
