import { isH264KeyframeStart, isRtp, rewriteRtp, rtpTimestamp } from '../../shared/live/rtp-packet.js'
import type { LiveQuality } from './live-quality.js'

/** Where forwarded packets go, with the SSRC and payload type the collector's offer expects. */
export interface VideoForwarderDeps {
  readonly send: (packet: Buffer) => void
  readonly ssrc: number
  readonly payloadType: number
}

/**
 * The camera's H.264 RTP, from the tap to the live peer. It starts at a keyframe (the collector keeps the
 * group of pictures from there for viewers who join later), forwards at the current quality, and numbers
 * what it forwards without gaps: frames it drops on purpose must not look like losses to the receiver.
 * After dropping, it resumes full quality only at the next keyframe, since P-frames need what came before.
 */
export class VideoForwarder {
  readonly #deps: VideoForwarderDeps
  #quality: LiveQuality = 'full'
  #isDecodable = false
  #keyframeTimestamp: number | undefined
  #sequence = Math.floor(Math.random() * 0x10000)
  #forwardedCount = 0
  #droppedCount = 0

  constructor(deps: VideoForwarderDeps) {
    this.#deps = deps
  }

  get quality(): LiveQuality {
    return this.#quality
  }

  /** Packets sent and packets dropped on purpose (quality) since the start. */
  get counts(): { forwarded: number; dropped: number } {
    return { forwarded: this.#forwardedCount, dropped: this.#droppedCount }
  }

  setQuality(quality: LiveQuality): void {
    this.#quality = quality
  }

  /** One packet from the tap. */
  push(packet: Buffer): void {
    if (!isRtp(packet)) return
    const timestamp = rtpTimestamp(packet)
    if (isH264KeyframeStart(packet) && timestamp !== this.#keyframeTimestamp) {
      this.#keyframeTimestamp = timestamp
      this.#isDecodable = true
    }
    const isKeyframe = timestamp === this.#keyframeTimestamp
    const isSent =
      this.#quality === 'full' ? this.#isDecodable : this.#quality === 'keyframes' ? isKeyframe : false
    if (!isSent) {
      this.#droppedCount += 1
      if (!isKeyframe) this.#isDecodable = false
      return
    }
    rewriteRtp(packet, {
      ssrc: this.#deps.ssrc,
      payloadType: this.#deps.payloadType,
      sequence: this.#sequence,
      timestamp,
    })
    this.#sequence = (this.#sequence + 1) & 0xffff
    this.#forwardedCount += 1
    this.#deps.send(packet)
  }
}
