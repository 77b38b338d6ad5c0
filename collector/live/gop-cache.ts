import { isH264KeyframeStart, rtpTimestamp } from '../../shared/live/rtp-packet.js'

/**
 * The latest group of pictures of a device's live video, as RTP packets from its last keyframe on, so a
 * viewer who joins mid-GOP decodes a picture at once instead of waiting up to a GOP (1-2 s) for the next
 * keyframe. Bounded in bytes: a stream with no keyframe for too long is simply not cached.
 */
export class GopCache {
  readonly #maxBytes: number
  #packets: Buffer[] = []
  #bytes = 0
  #keyframeTimestamp: number | undefined

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** Adds one video packet (copied: the caller reuses its buffer). */
  push(packet: Buffer): void {
    const timestamp = rtpTimestamp(packet)
    if (isH264KeyframeStart(packet) && timestamp !== this.#keyframeTimestamp) {
      this.#keyframeTimestamp = timestamp
      this.#packets = []
      this.#bytes = 0
    }
    if (this.#keyframeTimestamp === undefined) return
    if (this.#bytes + packet.length > this.#maxBytes) {
      this.clear()
      return
    }
    this.#packets.push(Buffer.from(packet))
    this.#bytes += packet.length
  }

  /** The packets from the last keyframe on, oldest first. */
  packets(): readonly Buffer[] {
    return this.#packets
  }

  get byteLength(): number {
    return this.#bytes
  }

  clear(): void {
    this.#packets = []
    this.#bytes = 0
    this.#keyframeTimestamp = undefined
  }
}
