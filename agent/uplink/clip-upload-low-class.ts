import type { Envelope } from '../../shared/protocol/index.js'
import { topics } from '../../shared/protocol/index.js'
import { chunkFrameOf } from '../media/clip-chunker.js'
import type { ClipUploadQueue } from '../media/clip-upload-queue.js'
import type { Outbox } from '../outbox/outbox.js'
import type { LowClassSource, LowClassUnit } from './low-class-source.js'

/** The part of the media branch's ClipUploadQueue the uplink drives. */
export type ClipUploads = Pick<
  ClipUploadQueue,
  'next' | 'handleAck' | 'handleRejected' | 'handleDeferred' | 'handleManifestAck' | 'releaseInFlight'
>

/** Rejection codes that say the collector cannot take a chunk now, not that the chunk is bad. */
const transientCodes: ReadonlySet<string> = new Set([
  'RATE_LIMITED',
  'COLLECTOR_BUSY',
  'STORE_WRITE_FAILED',
  'STORAGE_QUOTA',
  'CLOCK_AHEAD',
])

/** Collaborators of the adapter. */
export interface ClipUploadLowClassDeps {
  readonly deviceId: string
  readonly uploads: ClipUploads
  /** The outbox holding the clip.manifest events (low class), to tell which acked ids are manifests. */
  readonly outbox: Outbox
  /**
   * Least time between two chunks. The collector's per-device publish budget (limits.devicePublishesPerS)
   * is shared with presses: a clip must never spend it, or a press would be refused RATE_LIMITED.
   */
  readonly minIntervalMs?: number
  /** Pause of the whole upload after a transient refusal (the sender pumps again after its retry delay). */
  readonly retryDelayMs?: number
  /** While true no chunk goes (a live view uses the uplink); the owner pumps the sender when it turns false. */
  readonly isPaused?: () => boolean
}

/**
 * Plugs the media upload queue into the sender's low-class seam: chunks become DBC1 frames on the chunk
 * topic, acks and rejections go to the queue, and an acked clip.manifest event (read back from the outbox
 * before the sender forgets it, so this works across restarts) releases its clip's chunks.
 */
export class ClipUploadLowClass implements LowClassSource {
  #lastAtMs = Number.NEGATIVE_INFINITY

  readonly #deps: ClipUploadLowClassDeps

  constructor(deps: ClipUploadLowClassDeps) {
    this.#deps = deps
  }

  async next(): Promise<LowClassUnit | undefined> {
    if (this.#deps.isPaused?.()) return undefined
    const waitMs = this.#lastAtMs + (this.#deps.minIntervalMs ?? 0) - Date.now()
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    const next = await this.#deps.uploads.next()
    if (!next) return undefined
    this.#lastAtMs = Date.now()
    const { frame } = chunkFrameOf({
      deviceId: this.#deps.deviceId,
      // A chunk is not an outbox event: like presence, it carries the latest seq without taking one.
      seq: this.#deps.outbox.lastSeq,
      id: next.chunk.id,
      clipId: next.clip.clipId,
      span: next.chunk,
      data: next.data,
    })
    return { topic: topics.chunk(this.#deps.deviceId), payload: frame }
  }

  async onAck(ack: Envelope<'ack'>['payload']): Promise<void> {
    for (const { body } of await this.#deps.outbox.readBodies('low', ack.ids)) {
      const envelope = JSON.parse(body) as Envelope
      if (envelope.type === 'clip.manifest')
        await this.#deps.uploads.handleManifestAck(envelope.payload.clipId)
    }
    await this.#deps.uploads.handleAck(ack.ids)
    const isTransient = (r: { retry: boolean; code: string }) => r.retry && transientCodes.has(r.code)
    const deferred = ack.rejected.filter(isTransient).map((r) => r.id)
    if (deferred.length > 0) this.#deps.uploads.handleDeferred(deferred, this.#deps.retryDelayMs ?? 5_000)
    await this.#deps.uploads.handleRejected(ack.rejected.filter((r) => !isTransient(r)))
  }

  onOffline(): void {
    this.#deps.uploads.releaseInFlight()
  }
}
