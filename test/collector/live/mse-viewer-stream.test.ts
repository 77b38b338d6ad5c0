import { describe, expect, it } from 'vitest'
import { type MseSocket, MseViewerStream } from '../../../collector/live/mse-viewer-stream.js'
import { H264Depacketizer } from '../../../shared/live/h264-depacketizer.js'
import { hasFfmpeg, x264RtpPackets } from '../../shared/live/x264-rtp.js'

/** A socket whose queue the test sets, keeping what was sent. */
class QueueSocket implements MseSocket {
  bufferedAmount = 0
  readonly sent: (Buffer | string)[] = []
  send(data: Buffer | string): void {
    this.sent.push(data)
  }
  close(): void {}

  /** The media segments sent: each one's decode time (90 kHz) and whether it is a sync sample. */
  segments(): { decodeTime: number; isKeyframe: boolean }[] {
    return this.sent
      .filter((d): d is Buffer => Buffer.isBuffer(d) && d.toString('latin1', 4, 8) === 'moof')
      .map((segment) => {
        const tfdt = segment.indexOf('tfdt', 0, 'latin1')
        const trun = segment.indexOf('trun', 0, 'latin1')
        return {
          decodeTime: Number(segment.readBigUInt64BE(tfdt + 8)),
          // trun: version/flags, sample count, data offset, then duration, size, flags of the one sample.
          isKeyframe: segment.readUInt32BE(trun + 4 + 4 + 4 + 4 + 4 + 4) === 0x02000000,
        }
      })
  }
}

describe.skipIf(!hasFfmpeg)('the fallback stream (fragmented MP4 to a WebSocket)', () => {
  it('starts with the init segment and the cached frames 1 ms apart, then live frames a frame apart', async () => {
    const packets = await x264RtpPackets('320x240', 20)
    // The cache holds the group from the keyframe at frame 11: frames 11-15; 16-20 come live.
    const frameOf = new Map<number, number>()
    for (const p of packets)
      if (!frameOf.has(p.readUInt32BE(4))) frameOf.set(p.readUInt32BE(4), frameOf.size + 1)
    const cached = packets.filter((p) => {
      const n = frameOf.get(p.readUInt32BE(4)) ?? 0
      return n >= 11 && n <= 15
    })
    const live = packets.filter((p) => (frameOf.get(p.readUInt32BE(4)) ?? 0) > 15)
    const socket = new QueueSocket()
    const stream = new MseViewerStream(socket, { maxBufferedBytes: 64 * 1024 })
    stream.prime(cached)
    for (const p of live) stream.sendVideo(p)
    expect(JSON.parse(socket.sent[0] as string)).toMatchObject({ type: 'init', widthPx: 320, heightPx: 240 })
    expect((socket.sent[1] as Buffer).toString('latin1', 4, 8)).toBe('ftyp')
    const segments = socket.segments()
    expect(segments).toHaveLength(10)
    expect(segments[0]?.isKeyframe).toBe(true)
    const steps = segments.slice(1).map((s, i) => s.decodeTime - (segments[i]?.decodeTime ?? 0))
    // 10 fps: 9000 ticks a frame once live; the cached ones were squeezed to 90.
    expect(steps).toEqual([90, 90, 90, 90, 9000, 9000, 9000, 9000, 9000])
  })

  it('drops frames up to the next keyframe while the socket is backed up, so the page never falls behind', async () => {
    const packets = await x264RtpPackets('320x240', 30)
    const socket = new QueueSocket()
    const stream = new MseViewerStream(socket, { maxBufferedBytes: 64 * 1024 })
    const depacketizer = new H264Depacketizer()
    let frame = 0
    for (const p of packets) {
      const completes = depacketizer.push(p) !== undefined
      // Frames 4-12 find the socket backed up (a slow link); from frame 13 it has drained.
      socket.bufferedAmount = frame >= 3 && frame < 12 ? 100 * 1024 : 0
      stream.sendVideo(p)
      if (completes) frame += 1
    }
    expect(stream.counts.framesDropped).toBeGreaterThan(0)
    const segments = socket.segments()
    // Frames 1-3, then nothing until the keyframe at 21 (the one at 11 still found the socket full).
    expect(segments).toHaveLength(3 + 10)
    expect(segments[3]?.isKeyframe).toBe(true)
    expect(stream.counts.framesSent + stream.counts.framesDropped).toBe(30)
  })
})
