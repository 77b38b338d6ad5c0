import { chunkSpan, readChunk } from './clip-chunker.js'
import type { PlannedChunk } from './clip-upload-state.js'
import type { FsClipStore, StoredClip } from './fs-clip-store.js'

/** A chunk the uplink should send next: frame it with chunkFrameOf (it supplies deviceId and seq). */
export interface ChunkToSend {
  readonly clip: StoredClip
  readonly chunk: PlannedChunk
  readonly data: Buffer
}

/** How a clip's upload ended. */
export interface ClipUploadOutcome {
  readonly clipId: string
  readonly outcome: 'uploaded' | 'failed'
}

/**
 * What a `clip.resend` did: `resending` (every chunk queued again), `duplicate` (this attempt was already
 * acted on), `missing` (the clip is no longer stored here).
 */
export type ClipResendResult = 'resending' | 'duplicate' | 'missing'

/** Collaborators of the queue. */
export interface ClipUploadQueueDeps {
  readonly store: FsClipStore
  /** Chunks sent but not yet answered; keeps the uplink's queue short (pacing). */
  readonly maxInFlightChunks: number
  /** Bytes sent but not yet answered; one chunk may always go, however large. */
  readonly maxInFlightBytes?: number
  readonly onClipDone?: (done: ClipUploadOutcome) => void
}

/**
 * The lazy upload across all stored clips, without network code: the uplink calls next() only when
 * no higher-class traffic is pending, sends what it gets, and feeds the collector's ack back through
 * handleAck / handleRejected. Oldest clip first; a clip's chunks go only after its manifest is acked,
 * so the collector always knows the clip a chunk belongs to. A finished clip becomes evictable.
 */
export class ClipUploadQueue {
  readonly #deps: ClipUploadQueueDeps
  readonly #inFlight = new Map<string, { clipId: string; index: number; size: number }>()
  #inFlightBytesTotal = 0
  /** No chunk goes before this time (ms since the epoch) after the collector said it is busy. */
  #pausedUntilMs = 0
  /** Clips already reported done, so a duplicate ack does not report them twice. */
  readonly #reported = new Set<string>()

  constructor(deps: ClipUploadQueueDeps) {
    this.#deps = deps
  }

  /** Chunks sent and not yet answered. */
  get inFlightCount(): number {
    return this.#inFlight.size
  }

  /** Bytes of the chunks sent and not yet answered. */
  get inFlightBytes(): number {
    return this.#inFlightBytesTotal
  }

  /** The next chunk to send, or undefined when the window is full or nothing is ready. */
  async next(): Promise<ChunkToSend | undefined> {
    if (this.#inFlight.size >= this.#deps.maxInFlightChunks) return undefined
    if (Date.now() < this.#pausedUntilMs) return undefined
    const maxBytes = this.#deps.maxInFlightBytes ?? Number.POSITIVE_INFINITY
    for (const clip of this.#deps.store.list()) {
      const { upload } = clip
      if (!upload.isManifestAcked || upload.isFailed) continue
      if (upload.isComplete) continue
      const peek = upload.peekNextChunk()
      if (!peek) continue
      const span = chunkSpan(upload.description, peek.index)
      if (this.#inFlight.size > 0 && this.#inFlightBytesTotal + span.size > maxBytes) return undefined
      const chunk = upload.nextChunk()
      if (!chunk) continue
      this.#inFlight.set(chunk.id, { clipId: clip.clipId, index: chunk.index, size: span.size })
      this.#inFlightBytesTotal += span.size
      const data = await readChunk(clip.path, span)
      return { clip, chunk, data }
    }
    return undefined
  }

  /** The collector stored the manifest of a clip (the uplink knows the manifest event's id). */
  async handleManifestAck(clipId: string): Promise<void> {
    await this.#deps.store.get(clipId)?.upload.markManifestAcked()
    await this.#settle(clipId)
  }

  /** Ack ids from the collector; ids that are not chunks of a stored clip are ignored (returns how many matched). */
  async handleAck(ids: readonly string[]): Promise<number> {
    let matched = 0
    for (const id of ids) {
      const target = this.#locate(id)
      if (!target) continue
      matched += 1
      this.#forget(id)
      await target.clip.upload.markAcked(target.index)
      await this.#settle(target.clip.clipId)
    }
    return matched
  }

  /** Rejections from the collector: retry sends the chunk again, otherwise the clip fails. */
  async handleRejected(rejected: readonly { id: string; retry: boolean }[]): Promise<number> {
    let matched = 0
    for (const { id, retry } of rejected) {
      const target = this.#locate(id)
      if (!target) continue
      matched += 1
      this.#forget(id)
      await target.clip.upload.markRejected(target.index, { retry })
      await this.#settle(target.clip.clipId)
    }
    return matched
  }

  /**
   * Chunks the collector could not take for now (rate limit, busy, disk full): they go again after
   * pauseMs, and these refusals do not count towards failing the clip, since the chunk itself was fine.
   */
  handleDeferred(ids: readonly string[], pauseMs: number): number {
    let matched = 0
    for (const id of ids) {
      const target = this.#locate(id)
      if (!target) continue
      matched += 1
      this.#forget(id)
      target.clip.upload.releaseChunk(target.index)
    }
    if (matched > 0) this.#pausedUntilMs = Date.now() + pauseMs
    return matched
  }

  /**
   * The collector's `clip.resend`: the clip's chunks all go again, through next() like any upload (low
   * class, paced, behind any press). Chunks of the clip still in flight are forgotten: their acks name
   * ids the new plan no longer has.
   */
  async handleResend(clipId: string, attempt: number): Promise<ClipResendResult> {
    const clip = this.#deps.store.get(clipId)
    if (!clip) return 'missing'
    if (attempt <= clip.upload.resendAttempt) return 'duplicate'
    for (const [id, entry] of this.#inFlight) if (entry.clipId === clipId) this.#forget(id)
    this.#reported.delete(clipId)
    await clip.upload.restartForResend(attempt)
    return 'resending'
  }

  /** The collector's `clip.verified`: the clip is safely stored there and may now be evicted here. */
  async handleVerified(clipId: string): Promise<boolean> {
    const clip = this.#deps.store.get(clipId)
    if (!clip) return false
    await clip.upload.markVerified()
    this.#deps.store.enforceBounds()
    return true
  }

  /** After a reconnect: everything unanswered may be sent again (the collector deduplicates by id). */
  releaseInFlight(): void {
    this.#inFlight.clear()
    this.#inFlightBytesTotal = 0
    for (const clip of this.#deps.store.list()) clip.upload.releaseInFlight()
  }

  #forget(id: string): void {
    const entry = this.#inFlight.get(id)
    if (!entry) return
    this.#inFlight.delete(id)
    this.#inFlightBytesTotal -= entry.size
  }

  #locate(id: string): { clip: StoredClip; index: number } | undefined {
    const known = this.#inFlight.get(id)
    if (known) {
      const clip = this.#deps.store.get(known.clipId)
      return clip ? { clip, index: known.index } : undefined
    }
    // An ack for a chunk sent before a restart: search the plans.
    for (const clip of this.#deps.store.list()) {
      const index = clip.upload.indexOfChunkId(id)
      if (index !== undefined) return { clip, index }
    }
    return undefined
  }

  async #settle(clipId: string): Promise<void> {
    const clip = this.#deps.store.get(clipId)
    if (!clip || this.#reported.has(clipId)) return
    if (clip.upload.isComplete) {
      this.#reported.add(clipId)
      this.#deps.onClipDone?.({ clipId, outcome: 'uploaded' })
      this.#deps.store.enforceBounds()
    } else if (clip.upload.isFailed) {
      this.#reported.add(clipId)
      for (const [id, entry] of this.#inFlight) if (entry.clipId === clipId) this.#forget(id)
      this.#deps.onClipDone?.({ clipId, outcome: 'failed' })
      this.#deps.store.remove(clipId)
    }
  }
}
