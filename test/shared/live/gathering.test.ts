import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { gatheringComplete } from '../../../shared/live/gathering.js'

/** A free UDP port on loopback (bound, read and released). */
async function freeUdpPort(): Promise<number> {
  const probe = createSocket('udp4')
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve))
  const { port } = probe.address()
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

describe('gatheringComplete (libdatachannel, ICE UDP mux)', () => {
  it('resolves as soon as the candidates are in the description, offer after offer, not at the timeout', async () => {
    const ndc = await import('node-datachannel')
    const port = await freeUdpPort()
    const open: { close(): void }[] = []
    try {
      for (let i = 0; i < 10; i++) {
        const pc = new ndc.PeerConnection('gathering-test', {
          iceServers: [],
          enableIceUdpMux: true,
          portRangeBegin: port,
          portRangeEnd: port,
          bindAddress: '127.0.0.1',
        })
        const video = new ndc.Video('video', 'RecvOnly')
        video.addH264Codec(96)
        pc.addTrack(video)
        // A control channel, as the collector's link to a device has.
        pc.createDataChannel('control')
        const startedAtMs = Date.now()
        const gathered = gatheringComplete(pc, 3000)
        pc.setLocalDescription()
        await gathered
        // The state-change callback alone missed about every other one and waited the whole 3 s.
        expect(Date.now() - startedAtMs, `offer ${i}`).toBeLessThan(500)
        expect(pc.localDescription()?.sdp).toMatch(/a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 \d+ typ host/)
        // Some peers stay open side by side on the one port (viewers of a session), some end at once.
        if (i % 2 === 0) pc.close()
        else open.push(pc)
      }
    } finally {
      for (const pc of open) pc.close()
    }
  }, 30_000)
})
