import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fmp4AudioSegment, fmp4InitSegment, fmp4MediaSegment } from '../../../shared/live/fmp4-writer.js'
import { type H264AccessUnit, H264Depacketizer, nalTypes } from '../../../shared/live/h264-depacketizer.js'
import { parseH264Sps } from '../../../shared/live/h264-sps.js'
import { opusPacketSamples } from '../../../shared/live/opus-packet.js'
import { rtpPayloadOffset, rtpTimestamp } from '../../../shared/live/rtp-packet.js'
import { tempDir } from '../../collector/collector-harness.js'
import { opusRtpPackets } from './opus-rtp.js'
import { hasFfmpeg, x264RtpPackets } from './x264-rtp.js'

function toFmp4(units: H264AccessUnit[], opus: Buffer[] = []): { file: Buffer; mimeType: string } {
  const first = units[0]
  const sps = first?.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.sps)
  const pps = first?.nalUnits.find((n) => ((n[0] ?? 0) & 0x1f) === nalTypes.pps)
  if (!sps || !pps) throw new Error('no SPS/PPS in the first access unit')
  const init = fmp4InitSegment(sps, pps, opus.length > 0 ? { channels: 1 } : undefined)
  const base = first?.timestamp ?? 0
  const audioBase = opus[0] ? rtpTimestamp(opus[0]) : 0
  const audio = opus.map((packet, i) => {
    const payload = packet.subarray(rtpPayloadOffset(packet))
    return fmp4AudioSegment(units.length + i + 1, {
      payload,
      decodeTime: (rtpTimestamp(packet) - audioBase) >>> 0,
      duration: opusPacketSamples(payload),
    })
  })
  const segments = units.map((unit, i) =>
    fmp4MediaSegment(i + 1, {
      nalUnits: unit.nalUnits,
      isKeyframe: unit.isKeyframe,
      decodeTime: (unit.timestamp - base) >>> 0,
      duration: 9000,
    }),
  )
  return { file: Buffer.concat([init.segment, ...segments, ...audio]), mimeType: init.mimeType }
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

  it('writes the Opus RTP beside the picture as a second track: ffprobe sees both, and the tone decodes', async () => {
    const [packets, opus] = await Promise.all([x264RtpPackets('320x240', 30), opusRtpPackets(3)])
    const depacketizer = new H264Depacketizer()
    const units = packets.flatMap((p) => depacketizer.push(p) ?? [])
    expect(opus.length).toBeGreaterThanOrEqual(140)
    // 20 ms frames, as the agent's encoder sends them.
    expect(opusPacketSamples((opus[5] as Buffer).subarray(12))).toBe(960)
    const { file, mimeType } = toFmp4(units, opus)
    expect(mimeType).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}, opus"$/)
    const dir = tempDir('fmp4-opus')
    const path = join(dir.path, 'live.mp4')
    writeFileSync(path, file)
    const probe = JSON.parse(
      execFileSync('ffprobe', [
        ...['-v', 'error', '-count_packets', '-of', 'json'],
        ...['-show_entries', 'stream=codec_type,codec_name,channels,sample_rate,nb_read_packets', path],
      ]).toString(),
    ) as { streams: Record<string, string | number>[] }
    expect(probe.streams).toEqual([
      expect.objectContaining({ codec_type: 'video', codec_name: 'h264', nb_read_packets: '30' }),
      expect.objectContaining({
        codec_type: 'audio',
        codec_name: 'opus',
        channels: 1,
        sample_rate: '48000',
        nb_read_packets: String(opus.length),
      }),
    ])
    // The sound decodes to the tone: its strongest frequency (sox's spectrum of the decoded track) is 880 Hz.
    const wav = join(dir.path, 'sound.wav')
    execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:a', '-ac', '1', '-y', wav])
    const decoded = execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      wav,
    ])
    expect(Number(decoded.toString())).toBeGreaterThan(2.8)
    const peak = strongestHz(
      execFileSync('ffmpeg', ['-v', 'error', '-i', wav, '-f', 's16le', '-ac', '1', '-ar', '8000', '-']),
    )
    dir.cleanup()
    expect(Math.abs(peak - 880)).toBeLessThan(880 * 0.05)
  })

  it("decodes the fallback's Opus silence packets with libopus, as Chromium does: silence, no error", async () => {
    const [packets, opus] = await Promise.all([x264RtpPackets('320x240', 30), opusRtpPackets(3)])
    const depacketizer = new H264Depacketizer()
    const units = packets.flatMap((p) => depacketizer.push(p) ?? [])
    // The second half of the sound replaced by silence packets, as the fallback writes them when it stops.
    const half = Math.floor(opus.length / 2)
    const marked = opus.map((p, i) =>
      i < half ? p : Buffer.concat([p.subarray(0, 12), Buffer.from([0xf8, 0xff, 0xfe])]),
    )
    const { file } = toFmp4(units, marked)
    const dir = tempDir('fmp4-lost')
    const path = join(dir.path, 'live.mp4')
    writeFileSync(path, file)
    const pcm = execFileSync('ffmpeg', [
      ...['-v', 'error', '-xerror', '-c:a', 'libopus', '-i', path, '-map', '0:a'],
      ...['-f', 's16le', '-ac', '1', '-ar', '8000', '-'],
    ])
    dir.cleanup()
    // Every packet decodes to 20 ms, the silence ones too (within a packet of the whole).
    expect(Math.abs(pcm.length / 2 / 8000 - opus.length * 0.02)).toBeLessThan(0.05)
    // The tone in the first half, silence in the second.
    const rms = (from: number, to: number) => {
      let sum = 0
      for (let i = from; i < to; i += 1) sum += pcm.readInt16LE(i * 2) ** 2
      return Math.sqrt(sum / (to - from))
    }
    const samples = pcm.length / 2
    const tone = rms(Math.floor(samples * 0.1), Math.floor(samples * 0.4))
    process.stdout.write(
      `tone RMS ${tone.toFixed(0)}, concealed ${rms(Math.floor(samples * 0.8), samples).toFixed(0)}\n`,
    )
    expect(tone).toBeGreaterThan(1000)
    expect(rms(Math.floor(samples * 0.6), samples)).toBeLessThan(1)
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

/** The strongest frequency of 8 kHz mono PCM, by a plain DFT over 10 Hz steps (enough for one tone). */
function strongestHz(pcm: Buffer): number {
  const n = Math.min(8000, Math.floor(pcm.length / 2))
  const offset = Math.floor(pcm.length / 2 / 2 - n / 2) * 2
  let best = { hz: 0, power: 0 }
  for (let hz = 100; hz <= 3000; hz += 10) {
    let re = 0
    let im = 0
    for (let i = 0; i < n; i += 1) {
      const v = pcm.readInt16LE(offset + i * 2)
      re += v * Math.cos((2 * Math.PI * hz * i) / 8000)
      im += v * Math.sin((2 * Math.PI * hz * i) / 8000)
    }
    const power = re * re + im * im
    if (power > best.power) best = { hz, power }
  }
  return best.hz
}
