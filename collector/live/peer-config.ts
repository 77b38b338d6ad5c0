import { createSocket } from 'node:dgram'
import type { Audio, PeerConnection, RtcConfig, Track, Video } from 'node-datachannel'
import { DoorbellError } from '../../shared/errors.js'
import { liveMids } from '../../shared/live/control-message.js'
import { gatheringComplete } from '../../shared/live/gathering.js'
import type { LiveIceServer } from '../../shared/protocol/index.js'

type NodeDatachannel = typeof import('node-datachannel')

/** How every peer of the collector binds: one UDP port for all of them (ICE UDP mux). */
export interface CollectorPeerSettings {
  readonly udpPort: number
  readonly bindAddress?: string | undefined
  /** Announced beside the bound addresses (live.publicAddress). */
  readonly publicAddress?: string | undefined
  readonly iceServers: readonly LiveIceServer[]
}

/** node-datachannel's config for a collector peer: every peer shares the one port, multiplexed by ICE. */
export function collectorRtcConfig(settings: CollectorPeerSettings): RtcConfig {
  return {
    iceServers: [],
    enableIceUdpMux: true,
    portRangeBegin: settings.udpPort,
    portRangeEnd: settings.udpPort,
    ...(settings.bindAddress ? { bindAddress: settings.bindAddress } : {}),
  }
}

/**
 * Adds a host candidate with `address` after each UDP host candidate of a description (same port and
 * component, a foundation of its own, and a priority one above: a public address is set because the bound
 * ones are private to a container or a LAN, so peers try it first). libdatachannel has no setting for a 1:1 NAT
 * address (what pion calls NAT1To1IPs), and with the ICE UDP mux a check that reaches the port through the
 * NAT is answered like any other, so announcing the address is all it takes.
 */
export function announceAddress(sdp: string, address: string | undefined): string {
  if (!address) return sdp
  return sdp
    .split('\r\n')
    .flatMap((line) => {
      // a=candidate:<foundation> <component> UDP <priority> <address> <port> typ host ...
      const match = /^a=candidate:(\S+) (\d+) (udp) (\d+) (\S+) (\d+) typ host(.*)$/i.exec(line)
      if (!match || match[5] === address) return [line]
      const [, foundation, component, transport, priority, , port, rest] = match
      const higher = Math.min(2 ** 31 - 1, Number(priority) + 1)
      return [
        line,
        `a=candidate:${foundation}p ${component} ${transport} ${higher} ${address} ${port} typ host${rest}`,
      ]
    })
    .join('\r\n')
}

/** The three media sections of every live peer: the door's video and audio, and the talk audio back. */
export interface LiveTracks {
  readonly video: Track
  readonly audio: Track
  readonly talk: Track
}

/**
 * Adds the live media sections to a peer, in the order of their mids (shared/live/control-message.ts):
 * the door's video and audio go `door` (SendOnly to a viewer, RecvOnly from the device) and talk the other
 * way. A section this peer sends carries its own SSRC, under `cname`.
 */
export function addLiveTracks(
  ndc: NodeDatachannel,
  pc: PeerConnection,
  door: 'SendOnly' | 'RecvOnly',
  ssrc: { readonly video?: number; readonly audio?: number; readonly talk?: number },
  cname: string,
): LiveTracks {
  const video = new ndc.Video(liveMids.video, door)
  video.addH264Codec(livePayloadTypes.h264)
  const audio = new ndc.Audio(liveMids.audio, door)
  audio.addOpusCodec(livePayloadTypes.opus)
  const talk = new ndc.Audio(liveMids.talk, door === 'SendOnly' ? 'RecvOnly' : 'SendOnly')
  talk.addOpusCodec(livePayloadTypes.opus)
  const add = (media: Audio | Video, mid: string, id: number | undefined): Track => {
    if (id !== undefined) media.addSSRC(id, cname, cname, mid)
    return pc.addTrack(media)
  }
  return {
    video: add(video, liveMids.video, ssrc.video),
    audio: add(audio, liveMids.audio, ssrc.audio),
    talk: add(talk, liveMids.talk, ssrc.talk),
  }
}

/**
 * Makes a peer's offer once its candidates are gathered (the device and browsers get no trickle), with the
 * public address announced; LIVE_UNAVAILABLE, and the peer closed, when none can be made.
 */
export async function makeOffer(
  pc: PeerConnection,
  settings: CollectorPeerSettings,
  peer: string,
): Promise<string> {
  const gathered = gatheringComplete(pc, 3000)
  pc.setLocalDescription()
  await gathered
  const offered = pc.localDescription()?.sdp
  const sdp = offered && announceAddress(offered, settings.publicAddress)
  if (!sdp) {
    pc.close()
    throw new DoorbellError('LIVE_UNAVAILABLE', `no offer could be made for the ${peer}`)
  }
  return sdp
}

/** A random SSRC (never 0). */
export function randomSsrc(): number {
  return 1 + Math.floor(Math.random() * 0xfffffffe)
}

/** Payload types the collector offers to devices and browsers alike. */
export const livePayloadTypes = { h264: 96, opus: 111 } as const

/** A free UDP port on the bind address (live.udpPort 0): bound, read and released for the ICE mux. */
export async function freeUdpPort(address: string | undefined): Promise<number> {
  const probe = createSocket('udp4')
  await new Promise<void>((resolve) => probe.bind(0, address, resolve))
  const { port } = probe.address()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}
