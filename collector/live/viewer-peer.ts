import type { PeerConnection, Track } from 'node-datachannel'
import { DoorbellError } from '../../shared/errors.js'
import { isRtp, rewriteRtp, rtpSequence, rtpTimestamp } from '../../shared/live/rtp-packet.js'
import {
  addLiveTracks,
  type CollectorPeerSettings,
  collectorRtcConfig,
  livePayloadTypes,
  makeOffer,
  randomSsrc,
} from './peer-config.js'

/** What a viewer's peer reports. */
export interface ViewerPeerEvents {
  /** One RTP packet of the viewer's microphone (only relayed while the viewer holds the talk floor). */
  onTalk(packet: Buffer): void
  onState(state: string): void
}

/**
 * Keeps an outgoing stream's sequence numbers continuous for one viewer: the first packet sets an offset,
 * so gaps upstream stay gaps (the browser asks again with NACK) and the viewer's numbering starts fresh.
 */
class SequenceMap {
  #offset: number | undefined

  map(sequence: number): number {
    this.#offset ??= (Math.floor(Math.random() * 0x10000) - sequence) & 0xffff
    return (sequence + this.#offset) & 0xffff
  }
}

/**
 * The collector's WebRTC peer to one browser: the offerer, with send-only video and audio (the device's
 * stream, relayed) and a receive-only talk track. Each viewer gets its own SSRCs and numbering; the packets
 * are forwarded, never decoded (a selective forwarding unit of one source).
 */
export class ViewerPeer {
  readonly offerSdp: string
  readonly #pc: PeerConnection
  readonly #video: Track
  readonly #audio: Track
  readonly #tracks: Track[]
  readonly #ssrc: { video: number; audio: number }
  readonly #videoSequence = new SequenceMap()
  readonly #audioSequence = new SequenceMap()
  #isAnswered = false

  private constructor(parts: {
    pc: PeerConnection
    video: Track
    audio: Track
    tracks: Track[]
    ssrc: { video: number; audio: number }
    offerSdp: string
  }) {
    this.#pc = parts.pc
    this.#video = parts.video
    this.#audio = parts.audio
    this.#tracks = parts.tracks
    this.#ssrc = parts.ssrc
    this.offerSdp = parts.offerSdp
  }

  static async offer(settings: CollectorPeerSettings, events: ViewerPeerEvents): Promise<ViewerPeer> {
    const ndc = await import('node-datachannel')
    const pc = new ndc.PeerConnection('doorbell-viewer', collectorRtcConfig(settings))
    const ssrc = { video: randomSsrc(), audio: randomSsrc() }
    const { video, audio, talk } = addLiveTracks(ndc, pc, 'SendOnly', ssrc, 'doorbell')
    // Losses on the viewer's own last hop are repaired from what this peer sent (NACK, RFC 4585).
    video.setMediaHandler(new ndc.RtcpNackResponder())
    talk.setMediaHandler(new ndc.RtcpReceivingSession())
    talk.onMessage((packet) => {
      if (isRtp(packet)) events.onTalk(packet)
    })
    pc.onStateChange((state) => events.onState(state))
    const offerSdp = await makeOffer(pc, settings, 'viewer')
    return new ViewerPeer({ pc, video, audio, tracks: [video, audio, talk], ssrc, offerSdp })
  }

  /** Applies the browser's answer; a second one, or one that does not parse, is LIVE_SIGNAL_INVALID. */
  acceptAnswer(sdp: string): void {
    if (this.#isAnswered) throw new DoorbellError('LIVE_SIGNAL_INVALID', 'this viewer already answered')
    try {
      this.#pc.setRemoteDescription(sdp, 'answer')
      this.#isAnswered = true
    } catch (err) {
      throw new DoorbellError('LIVE_SIGNAL_INVALID', `the answer was refused: ${(err as Error).message}`, {
        cause: err,
      })
    }
  }

  /** True once the video track is open: relayed packets reach the browser from now on. */
  get isOpen(): boolean {
    return this.#video.isOpen()
  }

  get bytesSent(): number {
    return this.#pc.bytesSent()
  }

  /** The connection type in use (host, srflx, relay) and transport, for the page's indicator. */
  connection(): { type: string; transport: string } | undefined {
    const pair = this.#pc.getSelectedCandidatePair()
    return pair ? { type: pair.local.type, transport: pair.local.transportType } : undefined
  }

  /** One video packet of the device's stream; `timestamp` replaces the packet's own (fast start). */
  sendVideo(packet: Buffer, timestamp?: number): void {
    if (!this.#video.isOpen()) return
    const out = Buffer.from(packet)
    rewriteRtp(out, {
      ssrc: this.#ssrc.video,
      payloadType: livePayloadTypes.h264,
      sequence: this.#videoSequence.map(rtpSequence(packet)),
      timestamp: timestamp ?? rtpTimestamp(packet),
    })
    this.#video.sendMessageBinary(out)
  }

  /** One audio packet of the device's stream. */
  sendAudio(packet: Buffer): void {
    if (!this.#audio.isOpen()) return
    const out = Buffer.from(packet)
    rewriteRtp(out, {
      ssrc: this.#ssrc.audio,
      payloadType: livePayloadTypes.opus,
      sequence: this.#audioSequence.map(rtpSequence(packet)),
      timestamp: rtpTimestamp(packet),
    })
    this.#audio.sendMessageBinary(out)
  }

  close(): void {
    try {
      for (const track of this.#tracks) track.close()
      this.#pc.close()
    } catch {
      // Closed by the other side already.
    }
  }
}
