import type { DataChannel, PeerConnection, Track } from 'node-datachannel'
import { DoorbellError } from '../../shared/errors.js'
import {
  type ControlMessage,
  controlChannelLabel,
  parseControlMessage,
} from '../../shared/live/control-message.js'
import { isRtp, rewriteRtp, rtpTimestamp } from '../../shared/live/rtp-packet.js'
import {
  addLiveTracks,
  type CollectorPeerSettings,
  collectorRtcConfig,
  livePayloadTypes,
  makeOffer,
  randomSsrc,
} from './peer-config.js'

/** What the link to a device reports. */
export interface DeviceLinkEvents {
  onVideo(packet: Buffer): void
  onAudio(packet: Buffer): void
  onQuality(quality: 'full' | 'keyframes' | 'audio'): void
  onState(state: string): void
}

/**
 * The collector's WebRTC peer to one device for one live session: the offerer. It receives the device's
 * video and audio, sends it the talk audio, and echoes the device's round-trip probes on the control
 * channel. One upload from the Pi, whatever the number of viewers.
 */
export class DeviceLink {
  readonly offerSdp: string
  readonly #pc: PeerConnection
  readonly #talk: Track
  readonly #tracks: Track[]
  readonly #control: DataChannel
  readonly #talkSsrc: number
  #talkSequence = Math.floor(Math.random() * 0x10000)
  #isAnswered = false

  private constructor(parts: {
    pc: PeerConnection
    talk: Track
    talkSsrc: number
    tracks: Track[]
    control: DataChannel
    offerSdp: string
  }) {
    this.#pc = parts.pc
    this.#talkSsrc = parts.talkSsrc
    this.#talk = parts.talk
    this.#tracks = parts.tracks
    this.#control = parts.control
    this.offerSdp = parts.offerSdp
  }

  static async offer(settings: CollectorPeerSettings, events: DeviceLinkEvents): Promise<DeviceLink> {
    const ndc = await import('node-datachannel')
    const pc = new ndc.PeerConnection('doorbell-device', collectorRtcConfig(settings))
    const talkSsrc = randomSsrc()
    const { video, audio, talk } = addLiveTracks(ndc, pc, 'RecvOnly', { talk: talkSsrc }, 'doorbell-talk')
    video.setMediaHandler(new ndc.RtcpReceivingSession())
    audio.setMediaHandler(new ndc.RtcpReceivingSession())
    video.onMessage((packet) => {
      if (isRtp(packet)) events.onVideo(packet)
    })
    audio.onMessage((packet) => {
      if (isRtp(packet)) events.onAudio(packet)
    })
    pc.onStateChange((state) => events.onState(state))
    const control = pc.createDataChannel(controlChannelLabel, { unordered: true, maxRetransmits: 0 })
    let link: DeviceLink | undefined
    control.onMessage((raw) => {
      const message = parseControlMessage(raw)
      if (message?.type === 'ping' && link) link.#sendControl({ type: 'pong', sentAtMs: message.sentAtMs })
      else if (message?.type === 'quality') events.onQuality(message.quality)
    })
    const offerSdp = await makeOffer(pc, settings, 'device')
    link = new DeviceLink({ pc, talk, talkSsrc, tracks: [video, audio, talk], control, offerSdp })
    return link
  }

  /** Applies the device's answer; a second answer, or one that does not parse, is LIVE_SIGNAL_INVALID. */
  acceptAnswer(sdp: string): void {
    if (this.#isAnswered) throw new DoorbellError('LIVE_SIGNAL_INVALID', 'the session is already answered')
    try {
      this.#pc.setRemoteDescription(sdp, 'answer')
      this.#isAnswered = true
    } catch (err) {
      throw new DoorbellError('LIVE_SIGNAL_INVALID', `the answer was refused: ${(err as Error).message}`, {
        cause: err,
      })
    }
  }

  get isAnswered(): boolean {
    return this.#isAnswered
  }

  /** Bytes received from the device so far (after SRTP). */
  get bytesReceived(): number {
    return this.#pc.bytesReceived()
  }

  /** One talk packet from the viewer who holds the floor; numbered without gaps on this link. */
  sendTalk(packet: Buffer): void {
    if (!isRtp(packet) || !this.#talk.isOpen()) return
    const out = Buffer.from(packet)
    rewriteRtp(out, {
      ssrc: this.#talkSsrc,
      payloadType: livePayloadTypes.opus,
      sequence: this.#talkSequence,
      timestamp: rtpTimestamp(packet),
    })
    this.#talkSequence = (this.#talkSequence + 1) & 0xffff
    this.#talk.sendMessageBinary(out)
  }

  close(): void {
    try {
      this.#control.close()
      for (const track of this.#tracks) track.close()
      this.#pc.close()
    } catch {
      // Closed by the other side already.
    }
  }

  #sendControl(message: ControlMessage): void {
    if (this.#control.isOpen()) this.#control.sendMessage(JSON.stringify(message))
  }
}
