import { fmp4InitSegment, fmp4MediaSegment } from '../../shared/live/fmp4-writer.js'
import { fastStartTicks } from '../../shared/live/gop-cache.js'
import { type H264AccessUnit, H264Depacketizer, nalTypes } from '../../shared/live/h264-depacketizer.js'

/** The part of a WebSocket the stream writes to (ws's WebSocket). */
export interface MseSocket {
  readonly bufferedAmount: number
  send(data: Buffer | string): void
  close(code?: number, reason?: string): void
}

/** What a fallback viewer's stream counts (the page's indicator and the metrics read them). */
export interface MseStreamCounts {
  framesSent: number
  framesDropped: number
}

/** A frame interval to start with before two frames have been seen: 15 fps at 90 kHz. */
const defaultFrameTicks = 6000

/**
 * The live view's fallback when no WebRTC path works (all UDP blocked): the device's H.264, already relayed
 * to the collector, rebuilt into frames and sent to the page over its WebSocket as fragmented MP4, one
 * frame per fragment, which the page appends to a Media Source Extensions buffer. Video only.
 *
 * Bounded latency: a WebSocket is TCP, so a slow link queues instead of losing. When more than
 * `maxBufferedBytes` wait in the socket, frames are dropped up to the next keyframe (each frame depends on
 * the one before it), and the page jumps to the newest frame it holds: the picture freezes, then resumes at
 * live, and never drifts seconds behind.
 */
export class MseViewerStream {
  readonly counts: MseStreamCounts = { framesSent: 0, framesDropped: 0 }
  readonly #socket: MseSocket
  readonly #maxBufferedBytes: number
  readonly #depacketizer = new H264Depacketizer()
  #sps: Buffer | undefined
  #sequence = 0
  #lastTimestamp: number | undefined
  #decodeTime = 0
  #frameTicks = defaultFrameTicks
  #isDropping = false

  constructor(socket: MseSocket, options: { maxBufferedBytes: number }) {
    this.#socket = socket
    this.#maxBufferedBytes = options.maxBufferedBytes
  }

  /**
   * Sends the cached group of pictures at once, its frames 1 ms apart ending at the newest one: the page
   * decodes the keyframe and the frames after it and shows the newest picture, live, within milliseconds.
   */
  prime(cached: readonly Buffer[]): void {
    // Through the live depacketizer: a frame the cache holds only the start of completes with live packets.
    const units = cached.flatMap((packet) => this.#depacketizer.push(packet) ?? [])
    units.forEach((unit, i) => {
      this.#write(unit, i < units.length - 1 ? 'squeezed' : 'newest-cached')
    })
  }

  /** One RTP packet of the device's video. */
  sendVideo(packet: Buffer): void {
    const unit = this.#depacketizer.push(packet)
    if (unit) this.#write(unit)
  }

  close(): void {
    this.#socket.close(1000, 'live view ended')
  }

  /**
   * Writes one frame. Cached frames go 1 ms apart (`squeezed`), the newest of them lasting a frame interval
   * so the first live frame follows without a gap: MSE takes a step of more than two frame durations for a
   * discontinuity and drops everything up to the next keyframe.
   */
  #write(unit: H264AccessUnit, placement: 'live' | 'squeezed' | 'newest-cached' = 'live'): void {
    if (unit.isKeyframe && !this.#sendInit(unit)) return
    if (this.#sps === undefined) return
    const buffered = this.#socket.bufferedAmount
    if (buffered > this.#maxBufferedBytes) this.#isDropping = true
    else if (this.#isDropping && unit.isKeyframe && buffered <= this.#maxBufferedBytes / 2)
      this.#isDropping = false
    this.#advance(unit.timestamp, placement)
    if (this.#isDropping) {
      this.counts.framesDropped += 1
      return
    }
    this.#sequence += 1
    this.#socket.send(
      fmp4MediaSegment(this.#sequence, {
        nalUnits: unit.nalUnits,
        isKeyframe: unit.isKeyframe,
        decodeTime: this.#decodeTime,
        duration: placement === 'squeezed' ? fastStartTicks : this.#frameTicks,
      }),
    )
    this.counts.framesSent += 1
  }

  /** Moves the decode time to this frame's, learning the frame interval from the RTP timestamps. */
  #advance(timestamp: number, placement: 'live' | 'squeezed' | 'newest-cached'): void {
    if (this.#lastTimestamp !== undefined) {
      const delta = (timestamp - this.#lastTimestamp) | 0
      if (delta > 0 && delta < 90_000) this.#frameTicks = delta
      this.#decodeTime += placement === 'live' ? Math.max(1, delta) : fastStartTicks
    }
    this.#lastTimestamp = timestamp
  }

  /**
   * At a keyframe: a new init segment when its SPS differs from the one sent (the first keyframe, or
   * the camera changed size). False when the keyframe carries no usable SPS and PPS and none was sent.
   */
  #sendInit(unit: H264AccessUnit): boolean {
    const sps = unit.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.sps)
    const pps = unit.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.pps)
    if (!sps || !pps) return this.#sps !== undefined
    if (this.#sps?.equals(sps)) return true
    let init: ReturnType<typeof fmp4InitSegment>
    try {
      init = fmp4InitSegment(sps, pps)
    } catch {
      return this.#sps !== undefined
    }
    this.#sps = sps
    this.#socket.send(
      JSON.stringify({
        type: 'init',
        mimeType: init.mimeType,
        widthPx: init.widthPx,
        heightPx: init.heightPx,
      }),
    )
    this.#socket.send(init.segment)
    return true
  }
}
