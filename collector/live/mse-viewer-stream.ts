import {
  fmp4AudioSegment,
  fmp4AudioTimescale,
  fmp4InitSegment,
  fmp4MediaSegment,
  fmp4VideoTimescale,
} from '../../shared/live/fmp4-writer.js'
import { fastStartTicks } from '../../shared/live/gop-cache.js'
import { type H264AccessUnit, H264Depacketizer, nalTypes } from '../../shared/live/h264-depacketizer.js'
import { opusPacketSamples } from '../../shared/live/opus-packet.js'
import { isRtp, rtpPayloadOffset } from '../../shared/live/rtp-packet.js'

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
  /** Opus packets sent, dropped (a backed-up socket, no audio track, a malformed packet), placed again. */
  audioSent: number
  audioDropped: number
  audioResyncs: number
  /** Silence packets written where the device's sound had not come yet or stopped (`#fillSilence`). */
  audioFilled: number
}

/** How a stream is set up. */
export interface MseStreamOptions {
  readonly maxBufferedBytes: number
  /** Milliseconds, for the arrival clock the two tracks are aligned on. */
  readonly now?: () => number
  /** Whether the stream carries the door's sound (live.fallback.audio); false: video only. */
  readonly hasAudio?: boolean
  /** The session's newest Opus packet while its sound flows: the track's channel count is read from it. */
  readonly latestAudio?: () => Buffer | undefined
  /** How far the sound may drift from the picture's clock before it is placed again (lip sync). */
  readonly maxAudioSkewMs?: number
}

/** A frame interval to start with before two frames have been seen: 15 fps at 90 kHz. */
const defaultFrameTicks = 6000

/**
 * The live view's fallback when no WebRTC path works (all UDP blocked): the device's H.264, already relayed
 * to the collector, rebuilt into frames and sent to the page over its WebSocket as fragmented MP4, one
 * frame per fragment, with the device's Opus as a second track, which the page appends to a Media Source
 * Extensions buffer.
 *
 * Bounded latency: a WebSocket is TCP, so a slow link queues instead of losing. When more than
 * `maxBufferedBytes` wait in the socket, frames are dropped up to the next keyframe (each frame depends on
 * the one before it), and the page jumps to the newest frame it holds: the picture freezes, then resumes at
 * live, and never drifts seconds behind. The sound obeys the same rule: while frames are dropped, so is it.
 *
 * Lip sync: both tracks share one timeline, the picture's (its decode times from the RTP timestamps, the
 * cached group squeezed). The first Opus packet is placed where the picture is at its arrival (the newest
 * frame's decode time plus the time since that frame arrived: both come over the same path from the Pi),
 * and each next packet right after the one before it, so the sound has no holes the player would stop at.
 * When that drifts from the picture's clock by more than `maxAudioSkewMs` (lost packets, clocks that run
 * apart, frames dropped), the next packet is placed at the picture's time again.
 */
export class MseViewerStream {
  readonly counts: MseStreamCounts = {
    framesSent: 0,
    framesDropped: 0,
    audioSent: 0,
    audioDropped: 0,
    audioResyncs: 0,
    audioFilled: 0,
  }
  readonly #socket: MseSocket
  readonly #maxBufferedBytes: number
  readonly #now: () => number
  readonly #latestAudio: () => Buffer | undefined
  readonly #maxAudioSkewTicks: number
  readonly #hasAudioTrack: boolean
  /** Read at the first init segment: MSE requires every later one to have the same tracks. */
  #audioChannelCount: number | undefined
  /** Whether any of the device's sound was written yet (before, the picture never waits for it). */
  #hasSound = false
  /** Arrival (ms) of the newest frame, whose decode time is `#decodeTime`. */
  #frameArrivalMs = 0
  /** Where the next Opus packet goes, in 48 kHz ticks; undefined: at the picture's time. */
  #nextAudioTime: number | undefined
  /** Where the last sound sample written ends, in 48 kHz ticks. */
  #audioEnd: number | undefined
  /** Frames dropped when silence was last considered. */
  #droppedAtSilence = 0
  readonly #depacketizer = new H264Depacketizer()
  #sps: Buffer | undefined
  #sequence = 0
  #lastTimestamp: number | undefined
  #decodeTime = 0
  #frameTicks = defaultFrameTicks
  #isDropping = false

  constructor(socket: MseSocket, options: MseStreamOptions) {
    this.#socket = socket
    this.#maxBufferedBytes = options.maxBufferedBytes
    this.#now = options.now ?? Date.now
    this.#hasAudioTrack = options.hasAudio ?? false
    this.#latestAudio = options.latestAudio ?? (() => undefined)
    this.#maxAudioSkewTicks = ((options.maxAudioSkewMs ?? 80) * fmp4AudioTimescale) / 1000
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

  /** One RTP packet of the device's Opus sound. */
  sendAudio(packet: Buffer): void {
    // Nothing before the first init segment is sent (no picture yet, or its SPS refused), like WebRTC's viewers.
    if (this.#sps === undefined || this.#audioChannelCount === undefined) return
    if (!this.#hasAudioTrack || !isRtp(packet)) {
      this.counts.audioDropped += 1
      return
    }
    const payload = packet.subarray(rtpPayloadOffset(packet))
    const duration = opusPacketSamples(payload)
    if (duration === 0 || this.#isDropping || this.#socket.bufferedAmount > this.#maxBufferedBytes) {
      this.counts.audioDropped += 1
      // After a hole the sound starts again at the picture's time.
      this.#nextAudioTime = undefined
      return
    }
    const pictureNow =
      (this.#decodeTime * fmp4AudioTimescale) / fmp4VideoTimescale +
      ((this.#now() - this.#frameArrivalMs) * fmp4AudioTimescale) / 1000
    // Each packet right after the one before, never over one already written: Chromium's buffer takes an
    // overlap by removing the samples under it, which leaves holes the player stops at.
    let time = this.#nextAudioTime ?? pictureNow
    if (time - pictureNow > this.#maxAudioSkewTicks) {
      // Sound later than the picture (silence written ahead of it, a fast clock): this packet is left out.
      this.counts.audioResyncs += 1
      this.counts.audioDropped += 1
      return
    }
    if (pictureNow - time > this.#maxAudioSkewTicks) {
      // Sound earlier than the picture (lost packets, a slow clock): silence up to the picture's time.
      this.counts.audioResyncs += 1
      time = this.#writeSilence(time, pictureNow)
    }
    time = Math.max(0, Math.round(time))
    this.#nextAudioTime = time + duration
    this.#audioEnd = this.#nextAudioTime
    this.#hasSound = true
    this.#sequence += 1
    this.#socket.send(fmp4AudioSegment(this.#sequence, { payload, decodeTime: time, duration }))
    this.counts.audioSent += 1
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
    this.#fillSilence()
  }

  /** Moves the decode time to this frame's, learning the frame interval from the RTP timestamps. */
  #advance(timestamp: number, placement: 'live' | 'squeezed' | 'newest-cached'): void {
    if (this.#lastTimestamp !== undefined) {
      const delta = (timestamp - this.#lastTimestamp) | 0
      if (delta > 0 && delta < 90_000) this.#frameTicks = delta
      this.#decodeTime += placement === 'live' ? Math.max(1, delta) : fastStartTicks
    }
    this.#lastTimestamp = timestamp
    this.#frameArrivalMs = this.#now()
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
    this.#audioChannelCount ??= this.#audioChannels()
    const opus = this.#hasAudioTrack ? { channels: this.#audioChannelCount } : undefined
    try {
      init = fmp4InitSegment(sps, pps, opus)
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
        hasAudio: opus !== undefined,
      }),
    )
    this.#socket.send(init.segment)
    return true
  }

  /**
   * Keeps the sound track up with the picture until the device's sound comes (the session's encoder starts
   * after its camera, or there is no microphone) and when it stops coming (the encoder failed, a burst
   * lost): an MSE buffer plays only where both tracks have samples, so a track left behind would freeze
   * the picture too. Before any sound at once, after it past twice `maxAudioSkewMs` (jitter is not a
   * stop) behind the picture, 20 ms Opus silence packets are
   * written up to it: a CELT frame whose first coded symbol is the silence flag (RFC 6716 section 4.3),
   * which decodes to digital silence. (A frame of no bytes would be taken for a lost one, and libopus's
   * concealment keeps sounding about 20 dB down for seconds.)
   */
  #fillSilence(): void {
    if (!this.#hasAudioTrack) return
    const frameStart = (this.#decodeTime * fmp4AudioTimescale) / fmp4VideoTimescale
    const pictureEnd = ((this.#decodeTime + this.#frameTicks) * fmp4AudioTimescale) / fmp4VideoTimescale
    // After frames were dropped the sound starts again with the picture, not in the hole both have (that
    // would only add bytes to the queue).
    if (this.counts.framesDropped !== this.#droppedAtSilence && this.#audioEnd !== undefined) {
      this.#audioEnd = Math.max(this.#audioEnd, frameStart)
      this.#nextAudioTime = undefined
    }
    this.#droppedAtSilence = this.counts.framesDropped
    const audioEnd = this.#audioEnd ?? frameStart
    // Before any sound, up to the frame's end so the picture plays on; after, only as far as this frame's
    // start, so the sound that comes next is never placed far behind silence written ahead of it.
    const upTo = this.#hasSound ? frameStart : pictureEnd
    if (upTo - audioEnd <= (this.#hasSound ? 2 * this.#maxAudioSkewTicks : 0)) return
    this.#writeSilence(audioEnd, upTo)
  }

  /** Silence packets from `from` until `to` is covered (48 kHz ticks); returns where they end. */
  #writeSilence(from: number, to: number): number {
    // TOC: CELT fullband, 20 ms, one frame (configuration 31, code 0), with the track's stereo flag.
    const silence = Buffer.from([(31 << 3) | (this.#audioChannelCount === 2 ? 0x04 : 0), 0xff, 0xfe])
    let time = Math.round(from)
    for (; time < to; time += 960) {
      this.#sequence += 1
      this.#socket.send(
        fmp4AudioSegment(this.#sequence, { payload: silence, decodeTime: time, duration: 960 }),
      )
      this.counts.audioFilled += 1
    }
    this.#audioEnd = time
    this.#nextAudioTime = time
    return time
  }

  /**
   * Mono or stereo, from the stereo flag of the newest packet's TOC byte (RFC 6716 section 3.1); mono
   * before any, like the door's microphone (libopus decodes either kind of packet to either layout).
   */
  #audioChannels(): number {
    const packet = this.#latestAudio()
    if (!packet || !isRtp(packet)) return 1
    return ((packet[rtpPayloadOffset(packet)] ?? 0) & 0x04) !== 0 ? 2 : 1
  }
}
