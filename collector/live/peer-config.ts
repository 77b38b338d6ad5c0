import { createSocket } from 'node:dgram'
import type { RtcConfig } from 'node-datachannel'
import type { LiveIceServer } from '../../shared/protocol/index.js'

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

export { gatheringComplete } from '../../shared/live/gathering.js'

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
