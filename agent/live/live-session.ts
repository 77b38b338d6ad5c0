import type { DoorbellError } from '../../shared/errors.js'
import { isRtp, rewriteRtp, rtpTimestamp } from '../../shared/live/rtp-packet.js'
import type { LiveStartArgs } from '../../shared/protocol/index.js'
import type { PcmSink } from '../audio/microphone.js'
import type { Speaker } from '../speaker/speaker.js'
import { DevicePeer } from './device-peer.js'
import type { LiveConfig } from './live-config.js'
import { type LiveQuality, LiveQualityController } from './live-quality.js'
import { OpusRtpEncoder } from './opus-rtp-encoder.js'
import type { RtpVideoTap } from './rtp-video-tap.js'
import { TalkDecoder } from './talk-decoder.js'
import { VideoForwarder } from './video-forwarder.js'

/** A probe unanswered this long counts as a round trip of this much. */
const lostProbeMs = 1000

/** The door's microphone as a live session uses it: shared PCM and its rate. */
export interface LiveMicrophone {
  readonly sampleRateHz: number
  add(sink: PcmSink): void
  remove(sink: PcmSink): void
}

/** Why a session ended on the device's side. */
export type LiveSessionEnd = 'stopped' | 'disconnected' | 'max-length' | 'failed'

/** Collaborators of one session. */
export interface LiveSessionDeps {
  readonly config: LiveConfig
  readonly args: LiveStartArgs
  readonly tap: RtpVideoTap | undefined
  readonly microphone: LiveMicrophone | undefined
  readonly speaker: Speaker | undefined
  readonly ffmpegPath: string
  /** The session ended by itself (peer gone, maximum length); not called for stop(). */
  readonly onEnded: (reason: LiveSessionEnd) => void
  readonly onQuality?: (quality: LiveQuality) => void
  readonly onError: (where: string, err: DoorbellError | Error) => void
}

/**
 * One live session on the device: the peer to the collector, the camera's tapped video through the
 * quality filter, the microphone as Opus, the talk track to the speaker, and the round-trip probe that
 * drives the quality. stop() ends every part, so nothing is sent after it resolves.
 */
export class LiveSession {
  readonly sessionId: string
  readonly #deps: LiveSessionDeps
  readonly #quality: LiveQualityController
  #peer: DevicePeer | undefined
  #video: VideoForwarder | undefined
  #encoder: OpusRtpEncoder | undefined
  #talk: TalkDecoder | undefined
  #pcmSink: PcmSink | undefined
  #timers: NodeJS.Timeout[] = []
  #disconnectedTimer: NodeJS.Timeout | undefined
  #isStopped = false
  #isConnected = false
  #lastPongAtMs = Date.now()
  #audioSequence = Math.floor(Math.random() * 0x10000)

  private constructor(deps: LiveSessionDeps) {
    this.#deps = deps
    this.sessionId = deps.args.sessionId
    this.#quality = new LiveQualityController(deps.config.adaptation)
  }

  /** Answers the offer and starts sending as soon as the peer connects; resolves with the answer SDP. */
  static async start(deps: LiveSessionDeps): Promise<{ session: LiveSession; answerSdp: string }> {
    const session = new LiveSession(deps)
    const answerSdp = await session.#open()
    return { session, answerSdp }
  }

  get quality(): LiveQuality {
    return this.#quality.quality
  }

  /** Bytes the peer sent so far. */
  get bytesSent(): number {
    return this.#peer?.bytesSent ?? 0
  }

  /** Talk packets received. */
  get talkPacketCount(): number {
    return this.#talk?.packetCount ?? 0
  }

  async #open(): Promise<string> {
    const deps = this.#deps
    const peer = await DevicePeer.answer(
      deps.args.sdp,
      { iceServers: deps.args.iceServers ?? [] },
      {
        onTalk: (packet) => this.#talk?.push(packet),
        onControl: (message) => {
          if (message.type !== 'pong') return
          this.#lastPongAtMs = Date.now()
          this.#onRtt(this.#lastPongAtMs - message.sentAtMs)
        },
        onState: (state) => this.#onState(state),
      },
    )
    this.#peer = peer
    const { format } = peer
    this.#video = new VideoForwarder({
      send: (packet) => peer.sendVideo(packet),
      ssrc: format.videoSsrc,
      payloadType: format.videoPayloadType,
    })
    deps.tap?.listen((packet) => this.#video?.push(packet))
    if (deps.microphone) {
      const encoder = new OpusRtpEncoder({
        inputSampleRateHz: deps.microphone.sampleRateHz,
        bitrateKbps: deps.config.audioBitrateKbps,
        payloadType: format.audioPayloadType,
        ffmpegPath: deps.ffmpegPath,
        onPacket: (packet) => this.#sendAudio(packet),
        onError: (err) => deps.onError('live.audio', err),
      })
      await encoder.start()
      this.#encoder = encoder
      this.#pcmSink = { onPcm: (pcm) => encoder.write(pcm), onError: () => undefined }
      deps.microphone.add(this.#pcmSink)
    }
    if (deps.speaker) {
      this.#talk = new TalkDecoder({
        speaker: deps.speaker,
        payloadType: format.talkPayloadType,
        ffmpegPath: deps.ffmpegPath,
        onError: (err) => deps.onError('live.speaker', err),
      })
      await this.#talk.start()
    }
    const probe = setInterval(() => {
      const nowMs = Date.now()
      // A probe lost in a full queue returns no sample: its silence counts as a very late answer.
      if (this.#isConnected && nowMs - this.#lastPongAtMs > lostProbeMs) this.#onRtt(lostProbeMs)
      peer.sendControl({ type: 'ping', sentAtMs: nowMs })
    }, deps.config.adaptation.probeIntervalMs)
    const maxLength = setTimeout(() => this.#end('max-length'), deps.config.maxSessionMs)
    this.#timers.push(probe, maxLength)
    return peer.answerSdp
  }

  /** Stops sending and releases the encoder, the decoder and the peer. */
  async stop(): Promise<void> {
    if (this.#isStopped) return
    this.#isStopped = true
    for (const timer of this.#timers) clearTimeout(timer)
    clearTimeout(this.#disconnectedTimer)
    this.#deps.tap?.listen(undefined)
    if (this.#pcmSink) this.#deps.microphone?.remove(this.#pcmSink)
    this.#peer?.close()
    await Promise.all([this.#encoder?.stop(), this.#talk?.stop()])
  }

  #sendAudio(packet: Buffer): void {
    if (!isRtp(packet) || !this.#peer) return
    const { format } = this.#peer
    rewriteRtp(packet, {
      ssrc: format.audioSsrc,
      payloadType: format.audioPayloadType,
      sequence: this.#audioSequence,
      timestamp: rtpTimestamp(packet),
    })
    this.#audioSequence = (this.#audioSequence + 1) & 0xffff
    this.#peer.sendAudio(packet)
  }

  #onRtt(rttMs: number): void {
    const before = this.#quality.quality
    const after = this.#quality.observe(rttMs, Date.now())
    if (after === before) return
    this.#video?.setQuality(after)
    this.#peer?.sendControl({ type: 'quality', quality: after })
    this.#deps.onQuality?.(after)
  }

  #onState(state: string): void {
    this.#isConnected = state === 'connected'
    if (state === 'connected') {
      this.#lastPongAtMs = Date.now()
      clearTimeout(this.#disconnectedTimer)
      this.#disconnectedTimer = undefined
      return
    }
    if (state === 'failed' || state === 'closed') {
      this.#end('disconnected')
      return
    }
    if (state === 'disconnected' && !this.#disconnectedTimer) {
      this.#disconnectedTimer = setTimeout(
        () => this.#end('disconnected'),
        this.#deps.config.disconnectedStopMs,
      )
    }
  }

  #end(reason: LiveSessionEnd): void {
    if (this.#isStopped) return
    void this.stop().then(() => this.#deps.onEnded(reason))
  }
}
