import { isH264KeyframeStart, rtpTimestamp } from './rtp-packet.js'

/**
 * The latest group of pictures of an H.264 RTP stream, from its last keyframe on, so a receiver who joins
 * mid-GOP decodes a picture at once instead of waiting up to a GOP (1-2 s) for the next keyframe: the
 * collector keeps one per device for new viewers, the device one on its camera tap for a new session.
 * Bounded in bytes: a stream with no keyframe for too long is simply not cached.
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

/** Spacing given to cached frames sent at once: 1 ms at the 90 kHz video clock. */
export const fastStartTicks = 90

/**
 * The cached frames' timestamps squeezed into the last milliseconds before the newest one: a receiver
 * given them at once decodes the keyframe and plays through to live, instead of starting a GOP behind.
 */
export function fastStartTimestamps(cached: readonly Buffer[]): Map<number, number> {
  const timestamps = [...new Set(cached.map(rtpTimestamp))]
  const newest = timestamps.at(-1) ?? 0
  return new Map(
    timestamps.map((ts, i) => [ts, (newest - (timestamps.length - 1 - i) * fastStartTicks) >>> 0]),
  )
}
