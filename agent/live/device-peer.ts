import type { DataChannel, PeerConnection, Track } from 'node-datachannel'
import { DoorbellError } from '../../shared/errors.js'
import {
  type ControlMessage,
  controlChannelLabel,
  liveMids,
  parseControlMessage,
} from '../../shared/live/control-message.js'
import { gatheringComplete } from '../../shared/live/gathering.js'
import { sectionByMid } from '../../shared/live/sdp.js'
import type { LiveIceServer as IceServer } from '../../shared/protocol/index.js'

/** What the peer reports. */
export interface DevicePeerEvents {
  /** One RTP packet of the homeowner's voice. */
  onTalk(packet: Buffer): void
  onControl(message: ControlMessage): void
  /** The connection to the collector changed state (node-datachannel's names). */
  onState(state: string): void
  /** The video track is open: what is sent from now on reaches the collector. */
  onVideoOpen(): void
}

/** Payload types and SSRCs the device sends with, read from the collector's offer. */
export interface DeviceSendFormat {
  readonly videoPayloadType: number
  readonly audioPayloadType: number
  readonly talkPayloadType: number
  readonly videoSsrc: number
  readonly audioSsrc: number
}

/** node-datachannel's form of an ICE server: stun:host:port, turn:user:pass@host:port?transport=tcp. */
export function iceServerString(server: IceServer): string {
  const match = /^(stun|turns?):(.*)$/.exec(server.url)
  if (!match || match[1] === 'stun' || !server.username) return server.url
  const user = encodeURIComponent(server.username)
  const pass = encodeURIComponent(server.credential ?? '')
  return `${match[1]}:${user}:${pass}@${match[2]}`
}

/** The payload types of the offer's video, audio and talk sections; LIVE_SIGNAL_INVALID when one is missing. */
export function sendFormatOf(offer: string): Omit<DeviceSendFormat, 'videoSsrc' | 'audioSsrc'> {
  const video = sectionByMid(offer, liveMids.video)?.payloadTypes.get('H264')
  const audio = sectionByMid(offer, liveMids.audio)?.payloadTypes.get('OPUS')
  const talk = sectionByMid(offer, liveMids.talk)?.payloadTypes.get('OPUS')
  if (video === undefined || audio === undefined || talk === undefined) {
    throw new DoorbellError(
      'LIVE_SIGNAL_INVALID',
      'the offer needs H264 video (mid video), Opus audio (mid audio) and Opus talk (mid talk)',
    )
  }
  return { videoPayloadType: video, audioPayloadType: audio, talkPayloadType: talk }
}

const randomSsrc = (): number => 1 + Math.floor(Math.random() * 0xfffffffe)

/**
 * The device's WebRTC peer to the collector (node-datachannel, libdatachannel underneath): it answers the
 * collector's offer with send-only video and audio, receives the talk audio, and carries the control data
 * channel. node-datachannel is loaded on the first session, so an agent that never streams does not map it.
 */
export class DevicePeer {
  readonly answerSdp: string
  readonly format: DeviceSendFormat
  readonly #pc: PeerConnection
  readonly #video: Track
  readonly #audio: Track
  readonly #talk: Track
  #control: DataChannel | undefined

  private constructor(parts: {
    pc: PeerConnection
    video: Track
    audio: Track
    talk: Track
    answerSdp: string
    format: DeviceSendFormat
  }) {
    this.#pc = parts.pc
    this.#video = parts.video
    this.#audio = parts.audio
    this.#talk = parts.talk
    this.answerSdp = parts.answerSdp
    this.format = parts.format
  }

  /** Answers the offer; resolves once the answer carries this side's candidates (or gatherTimeoutMs). */
  static async answer(
    offer: string,
    options: { iceServers: readonly IceServer[]; gatherTimeoutMs?: number },
    events: DevicePeerEvents,
  ): Promise<DevicePeer> {
    const payloadTypes = sendFormatOf(offer)
    const ndc = await import('node-datachannel')
    const pc = new ndc.PeerConnection('doorbell-live', {
      iceServers: options.iceServers.map(iceServerString),
    })
    const format: DeviceSendFormat = { ...payloadTypes, videoSsrc: randomSsrc(), audioSsrc: randomSsrc() }
    // Tracks added before the offer is applied: libdatachannel answers with them, SSRCs included.
    const videoMedia = new ndc.Video(liveMids.video, 'SendOnly')
    videoMedia.addH264Codec(format.videoPayloadType)
    videoMedia.addSSRC(format.videoSsrc, 'doorbell', 'doorbell', liveMids.video)
    const audioMedia = new ndc.Audio(liveMids.audio, 'SendOnly')
    audioMedia.addOpusCodec(format.audioPayloadType)
    audioMedia.addSSRC(format.audioSsrc, 'doorbell', 'doorbell', liveMids.audio)
    const talkMedia = new ndc.Audio(liveMids.talk, 'RecvOnly')
    talkMedia.addOpusCodec(format.talkPayloadType)
    const video = pc.addTrack(videoMedia)
    const audio = pc.addTrack(audioMedia)
    const talk = pc.addTrack(talkMedia)
    video.onOpen(() => events.onVideoOpen())
    talk.setMediaHandler(new ndc.RtcpReceivingSession())
    talk.onMessage((packet) => events.onTalk(packet))
    pc.onStateChange((state) => events.onState(state))
    let peer: DevicePeer | undefined
    let control: DataChannel | undefined
    pc.onDataChannel((channel) => {
      if (channel.getLabel() !== controlChannelLabel) return channel.close()
      channel.onMessage((raw) => {
        const message = parseControlMessage(raw)
        if (message) events.onControl(message)
      })
      control = channel
      if (peer) peer.#control = channel
    })
    try {
      pc.setRemoteDescription(offer, 'offer')
    } catch (err) {
      pc.close()
      throw new DoorbellError('LIVE_SIGNAL_INVALID', `the offer was refused: ${(err as Error).message}`, {
        cause: err,
      })
    }
    await gatheringComplete(pc, options.gatherTimeoutMs ?? 5000)
    const answerSdp = pc.localDescription()?.sdp
    if (!answerSdp) {
      pc.close()
      throw new DoorbellError('LIVE_UNAVAILABLE', 'no answer could be made for the offer')
    }
    peer = new DevicePeer({ pc, video, audio, talk, answerSdp, format })
    peer.#control = control
    return peer
  }

  /** Bytes sent on the connection so far (all tracks and channels, after SRTP). */
  get bytesSent(): number {
    return this.#pc.bytesSent()
  }

  /** One RTP packet of video, already carrying the offer's payload type and this peer's video SSRC. */
  sendVideo(packet: Buffer): void {
    if (this.#video.isOpen()) this.#video.sendMessageBinary(packet)
  }

  /** One RTP packet of Opus audio. */
  sendAudio(packet: Buffer): void {
    if (this.#audio.isOpen()) this.#audio.sendMessageBinary(packet)
  }

  sendControl(message: ControlMessage): void {
    if (this.#control?.isOpen()) this.#control.sendMessage(JSON.stringify(message))
  }

  /** Closes the connection: nothing is sent from here on. */
  close(): void {
    try {
      this.#control?.close()
      this.#talk.close()
      this.#pc.close()
    } catch {
      // Already closed by the other side.
    }
  }
}
