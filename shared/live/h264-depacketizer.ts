import { isRtpMarker, rtpPayloadOffset, rtpSequence, rtpTimestamp } from './rtp-packet.js'

/** One H.264 access unit (a frame) rebuilt from its RTP packets: its NAL units, without start codes. */
export interface H264AccessUnit {
  readonly nalUnits: readonly Buffer[]
  /** RTP timestamp, 90 kHz. */
  readonly timestamp: number
  /** An IDR picture: decodable on its own. */
  readonly isKeyframe: boolean
}

/** NAL unit types (ITU-T H.264 table 7-1) and the RTP payload structures (RFC 6184 section 5.2). */
export const nalTypes = { idr: 5, sps: 7, pps: 8, stapA: 24, fuA: 28 } as const

/**
 * Rebuilds access units from an H.264 RTP stream (RFC 6184, non-interleaved mode: single NAL unit
 * packets, STAP-A and FU-A). A frame ends at the marker bit or when the timestamp changes. A lost packet
 * (a gap in the sequence numbers) drops the frame it belongs to and every frame after it until the next
 * keyframe: a receiver that cannot ask again must never be handed a picture that references a broken one.
 */
export class H264Depacketizer {
  #nalUnits: Buffer[] = []
  #fragments: Buffer[] | undefined
  #timestamp: number | undefined
  #nextSequence: number | undefined
  #isBroken = false
  #needsKeyframe = true

  /** Adds one RTP packet; returns the access unit it completes, if any. */
  push(packet: Buffer): H264AccessUnit | undefined {
    const sequence = rtpSequence(packet)
    const timestamp = rtpTimestamp(packet)
    let completed: H264AccessUnit | undefined
    if (this.#timestamp !== undefined && timestamp !== this.#timestamp) completed = this.#finish()
    if (this.#nextSequence !== undefined && sequence !== this.#nextSequence) this.#isBroken = true
    this.#nextSequence = (sequence + 1) & 0xffff
    this.#timestamp = timestamp
    this.#readPayload(packet.subarray(rtpPayloadOffset(packet)))
    if (isRtpMarker(packet)) completed = this.#finish() ?? completed
    return completed
  }

  #readPayload(payload: Buffer): void {
    if (payload.length < 1) return
    const type = (payload[0] ?? 0) & 0x1f
    if (type === nalTypes.stapA) {
      // STAP-A: 16-bit sizes, each followed by one NAL unit.
      for (let at = 1; at + 2 <= payload.length; ) {
        const size = payload.readUInt16BE(at)
        if (at + 2 + size > payload.length) {
          this.#isBroken = true
          return
        }
        this.#nalUnits.push(Buffer.from(payload.subarray(at + 2, at + 2 + size)))
        at += 2 + size
      }
      return
    }
    if (type === nalTypes.fuA) {
      if (payload.length < 2) return
      const header = payload[1] ?? 0
      const isStart = (header & 0x80) !== 0
      const isEnd = (header & 0x40) !== 0
      if (isStart) {
        // The NAL header comes back from the FU indicator's F and NRI bits and the FU header's type.
        this.#fragments = [Buffer.from([((payload[0] ?? 0) & 0xe0) | (header & 0x1f)])]
      } else if (!this.#fragments) {
        this.#isBroken = true
        return
      }
      this.#fragments.push(Buffer.from(payload.subarray(2)))
      if (isEnd) {
        this.#nalUnits.push(Buffer.concat(this.#fragments))
        this.#fragments = undefined
      }
      return
    }
    if (type >= 1 && type <= 23) this.#nalUnits.push(Buffer.from(payload))
  }

  #finish(): H264AccessUnit | undefined {
    const nalUnits = this.#nalUnits
    const timestamp = this.#timestamp ?? 0
    const isBroken = this.#isBroken || this.#fragments !== undefined
    this.#nalUnits = []
    this.#fragments = undefined
    this.#timestamp = undefined
    this.#isBroken = false
    if (nalUnits.length === 0) return undefined
    const isKeyframe = nalUnits.some((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.idr)
    if (isBroken) {
      this.#needsKeyframe = true
      return undefined
    }
    if (this.#needsKeyframe && !isKeyframe) return undefined
    this.#needsKeyframe = false
    return { nalUnits, timestamp, isKeyframe }
  }
}
