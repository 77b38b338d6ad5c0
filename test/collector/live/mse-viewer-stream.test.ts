import { describe, expect, it } from 'vitest'
import { type MseSocket, MseViewerStream } from '../../../collector/live/mse-viewer-stream.js'
import { H264Depacketizer } from '../../../shared/live/h264-depacketizer.js'
import { opusRtpPackets } from '../../shared/live/opus-rtp.js'
import { hasFfmpeg, x264RtpPackets } from '../../shared/live/x264-rtp.js'

/** A socket whose queue the test sets, keeping what was sent. */
class QueueSocket implements MseSocket {
  bufferedAmount = 0
  readonly sent: (Buffer | string)[] = []
  send(data: Buffer | string): void {
    this.sent.push(data)
  }
  close(): void {}

  /** The media segments sent: each one's track, decode time (its timescale), whether it is a sync sample. */
  segments(): { track: number; decodeTime: number; isKeyframe: boolean }[] {
    return this.sent
      .filter((d): d is Buffer => Buffer.isBuffer(d) && d.toString('latin1', 4, 8) === 'moof')
      .map((segment) => {
        const tfdt = segment.indexOf('tfdt', 0, 'latin1')
        const trun = segment.indexOf('trun', 0, 'latin1')
        return {
          track: segment.readUInt32BE(segment.indexOf('tfhd', 0, 'latin1') + 8),
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
    // With the sound off (live.fallback.audio false), the stream is video only.
    expect(JSON.parse(socket.sent[0] as string)).toMatchObject({ hasAudio: false })
    expect(socket.sent[0]).toMatch(/codecs=\\"avc1\.[0-9a-f]+\\"/)
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

  /**
   * The picture at 10 fps and libopus's 20 ms packets arrive interleaved as they would from the Pi, each at
   * its capture time (times `audioClock` for the sound: a microphone clock that runs slow); returns where
   * each Opus packet was placed against the picture's time at its arrival.
   */
  async function interleave(audioClock: number, backedUp?: (ms: number) => boolean, audioUntilMs = Infinity) {
    const [video, opus] = await Promise.all([x264RtpPackets('320x240', 30), opusRtpPackets(3)])
    const v0 = (video[0] as Buffer).readUInt32BE(4)
    const a0 = (opus[0] as Buffer).readUInt32BE(4)
    const arrivals = [
      ...video.map((packet) => ({ packet, kind: 'video', ms: ((packet.readUInt32BE(4) - v0) >>> 0) / 90 })),
      ...opus.map((packet) => ({
        packet,
        kind: 'audio',
        ms: 20 + (((packet.readUInt32BE(4) - a0) >>> 0) / 48) * audioClock,
      })),
    ].sort((a, b) => a.ms - b.ms)
    const socket = new QueueSocket()
    let nowMs = 0
    const stream = new MseViewerStream(socket, {
      maxBufferedBytes: 64 * 1024,
      now: () => nowMs,
      hasAudio: true,
      latestAudio: () => opus[0],
      maxAudioSkewMs: 80,
    })
    const placed: { skewMs: number; arrivalMs: number }[] = []
    for (const { packet, kind, ms } of arrivals) {
      if (kind === 'audio' && ms > audioUntilMs) continue
      nowMs = ms
      socket.bufferedAmount = backedUp?.(ms) ? 100 * 1024 : 0
      if (kind === 'video') {
        stream.sendVideo(packet)
        continue
      }
      const before = socket.sent.length
      stream.sendAudio(packet)
      const sent = socket.sent[before]
      if (socket.sent.length === before || !Buffer.isBuffer(sent)) continue
      const tfdt = sent.indexOf('tfdt', 0, 'latin1')
      // The picture's decode times are its RTP times from the first frame: its clock at `ms` reads `ms`.
      placed.push({ skewMs: Number(sent.readBigUInt64BE(tfdt + 8)) / 48 - ms, arrivalMs: ms })
    }
    return { socket, stream, placed, opus }
  }

  it("writes the sound as a second track on the picture's clock, within lip sync of it", async () => {
    const { socket, stream, placed, opus } = await interleave(1)
    expect(JSON.parse(socket.sent[0] as string)).toMatchObject({ hasAudio: true })
    expect(socket.sent[0]).toMatch(/codecs=\\"avc1\.[0-9a-f]+, opus\\"/)
    // Sound before the first keyframe's init segment has no track to go to: the rest is all sent.
    expect(stream.counts.audioSent).toBeGreaterThan(opus.length - 5)
    // The silence written with the first frame puts the first sound up to a frame late: a packet or two are
    // left out until it is within the bound, and then none.
    expect(stream.counts.audioResyncs).toBeLessThanOrEqual(3)
    const tracks = socket.segments().map((s) => s.track)
    expect(new Set(tracks)).toEqual(new Set([1, 2]))
    expect(Math.max(...placed.map((p) => Math.abs(p.skewMs)))).toBeLessThanOrEqual(80)
  })

  it("places the sound again when its clock runs from the picture's, so lip sync stays within the bound", async () => {
    // A microphone clock 5 % slow: 150 ms apart after 3 s, were it not placed again.
    const { stream, placed } = await interleave(1.05)
    expect(stream.counts.audioResyncs).toBeGreaterThan(0)
    expect(Math.max(...placed.map((p) => Math.abs(p.skewMs)))).toBeLessThanOrEqual(80 + 1)
  })

  it("drops the sound with the picture while the socket is backed up, and resumes at the picture's time", async () => {
    const { stream, placed } = await interleave(1, (ms) => ms >= 1000 && ms < 1500)
    expect(stream.counts.audioDropped).toBeGreaterThanOrEqual(20)
    expect(placed.some((p) => p.arrivalMs >= 1000 && p.arrivalMs < 1500)).toBe(false)
    expect(Math.max(...placed.map((p) => Math.abs(p.skewMs)))).toBeLessThanOrEqual(80)
  })

  it('keeps the sound track up with the picture when the sound stops, so the picture does not freeze', async () => {
    // The device's sound stops after 1.5 s (its encoder failed); the picture goes on to 3 s.
    const { socket, stream } = await interleave(1, undefined, 1500)
    expect(stream.counts.audioFilled).toBeGreaterThan(45)
    const sound = socket.sent.filter(
      (d): d is Buffer => Buffer.isBuffer(d) && d.toString('latin1', 4, 8) === 'moof' && trackOf(d) === 2,
    )
    const last = sound.at(-1) as Buffer
    // A silence packet (CELT 20 ms, mono like the stream's, the silence flag), 960 samples long.
    expect(last.subarray(last.indexOf('mdat', 0, 'latin1') + 4)).toEqual(Buffer.from([0xf8, 0xff, 0xfe]))
    const pictures = socket.segments().filter((s) => s.track === 1)
    const pictureEndS = ((pictures.at(-1)?.decodeTime ?? 0) + 9000) / 90_000
    const soundEndS = (Number(last.readBigUInt64BE(last.indexOf('tfdt', 0, 'latin1') + 8)) + 960) / 48_000
    // Within twice maxAudioSkewMs of the last frame's start (its end less its 100 ms).
    expect(pictureEndS - 0.1 - soundEndS).toBeLessThanOrEqual(0.16 + 0.02)
    // No hole in the sound from its first sample to its last: the player would stop at one.
    const times = sound.map((d) => Number(d.readBigUInt64BE(d.indexOf('tfdt', 0, 'latin1') + 8)))
    const steps = times.slice(1).map((t, i) => t - (times[i] as number))
    expect(Math.max(...steps)).toBeLessThanOrEqual(960)
  })

  it('never leaves the picture waiting for sound that has not come: silence covers every frame', async () => {
    const packets = await x264RtpPackets('320x240', 20)
    const socket = new QueueSocket()
    // A session whose sound has not started (its encoder starts after the camera) or never does.
    const stream = new MseViewerStream(socket, { maxBufferedBytes: 64 * 1024, hasAudio: true })
    stream.prime(packets.slice(0, 5))
    for (const p of packets.slice(5)) stream.sendVideo(p)
    expect(JSON.parse(socket.sent[0] as string)).toMatchObject({ hasAudio: true })
    let soundEnd = 0
    let frameStartS: number | undefined
    const covered = () => frameStartS === undefined || soundEnd / 48_000 > frameStartS
    for (const segment of socket.sent.filter((d): d is Buffer => Buffer.isBuffer(d) && d.includes('moof'))) {
      const time = Number(segment.readBigUInt64BE(segment.indexOf('tfdt', 0, 'latin1') + 8))
      if (trackOf(segment) === 2) {
        // No hole in the silence.
        if (soundEnd > 0) expect(time).toBeLessThanOrEqual(soundEnd + 1)
        soundEnd = time + 960
        continue
      }
      // The frame before this one was covered by the silence written with it.
      expect(covered()).toBe(true)
      frameStartS = time / 90_000
    }
    expect(covered()).toBe(true)
    expect(stream.counts.audioFilled).toBeGreaterThan(0)
    expect(stream.counts.audioSent).toBe(0)
  })
})

function trackOf(segment: Buffer): number {
  return segment.readUInt32BE(segment.indexOf('tfhd', 0, 'latin1') + 8)
}
