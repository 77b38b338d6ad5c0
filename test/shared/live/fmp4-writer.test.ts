import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fmp4InitSegment, fmp4MediaSegment } from '../../../shared/live/fmp4-writer.js'
import { type H264AccessUnit, H264Depacketizer, nalTypes } from '../../../shared/live/h264-depacketizer.js'
import { parseH264Sps } from '../../../shared/live/h264-sps.js'
import { tempDir } from '../../collector/collector-harness.js'
import { hasFfmpeg, x264RtpPackets } from './x264-rtp.js'

function toFmp4(units: H264AccessUnit[]): { file: Buffer; mimeType: string } {
  const first = units[0]
  const sps = first?.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.sps)
  const pps = first?.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.pps)
  if (!sps || !pps) throw new Error('no SPS/PPS in the first access unit')
  const init = fmp4InitSegment(sps, pps)
  const base = first?.timestamp ?? 0
  const segments = units.map((unit, i) =>
    fmp4MediaSegment(i + 1, {
      nalUnits: unit.nalUnits,
      isKeyframe: unit.isKeyframe,
      decodeTime: (unit.timestamp - base) >>> 0,
      duration: 9000,
    }),
  )
  return { file: Buffer.concat([init.segment, ...segments]), mimeType: init.mimeType }
}

describe.skipIf(!hasFfmpeg)('H.264 RTP to fragmented MP4', () => {
  it('rebuilds every frame of x264 RTP, and ffprobe decodes the fragments at the right size', async () => {
    const packets = await x264RtpPackets('320x240', 30)
    const depacketizer = new H264Depacketizer()
    const units = packets.flatMap((p) => depacketizer.push(p) ?? [])
    expect(units).toHaveLength(30)
    expect(units.filter((u) => u.isKeyframe)).toHaveLength(3)
    const { file, mimeType } = toFmp4(units)
    expect(mimeType).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/)
    const dir = tempDir('fmp4')
    const path = join(dir.path, 'live.mp4')
    writeFileSync(path, file)
    const probe = JSON.parse(
      execFileSync('ffprobe', [
        ...['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-of', 'json'],
        ...['-show_entries', 'stream=width,height,nb_read_frames,codec_name', path],
      ]).toString(),
    ) as { streams: { width: number; height: number; nb_read_frames: string; codec_name: string }[] }
    dir.cleanup()
    expect(probe.streams[0]).toMatchObject({
      codec_name: 'h264',
      width: 320,
      height: 240,
      nb_read_frames: '30',
    })
  })

  it('reads a cropped size from the SPS (270 lines are coded as 272)', async () => {
    const packets = await x264RtpPackets('480x270', 1)
    const depacketizer = new H264Depacketizer()
    const first = packets.flatMap((p) => depacketizer.push(p) ?? [])[0]
    const sps = first?.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.sps)
    expect(sps).toBeDefined()
    expect(parseH264Sps(sps as Buffer)).toMatchObject({ widthPx: 480, heightPx: 270 })
  })

  it('drops a frame with a lost packet and every frame until the next keyframe', async () => {
    const packets = await x264RtpPackets('320x240', 20)
    // Lose one packet of the third frame: frames 3-10 are dropped, the keyframe at 11 starts again.
    const frameStarts = packets.flatMap((p, i) =>
      i === 0 || p.readUInt32BE(4) !== packets[i - 1]?.readUInt32BE(4) ? [i] : [],
    )
    const lost = frameStarts[2] as number
    const depacketizer = new H264Depacketizer()
    const units = packets.filter((_, i) => i !== lost).flatMap((p) => depacketizer.push(p) ?? [])
    expect(units).toHaveLength(2 + 10)
    expect(units[2]?.isKeyframe).toBe(true)
  })
})
