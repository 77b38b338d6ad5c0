import { describe, expect, it } from 'vitest'
import { buildCapturePipeline, framesPerSegment } from '../../../agent/media/capture-command.js'
import { mediaConfigSchema } from '../../../agent/media/media-config.js'

function config(overrides: Record<string, unknown>) {
  return mediaConfigSchema.parse({ ring: { dir: '/dev/shm/ring' }, ...overrides })
}

function argAfter(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag)
  return i < 0 ? undefined : args[i + 1]
}

describe('buildCapturePipeline', () => {
  it('pipes rpicam-vid (software libav encoder by default, for the Pi 5) into ffmpeg, copying the stream', () => {
    const { producer, ffmpeg } = buildCapturePipeline(config({ source: 'rpicam' }))
    expect(producer?.command).toBe('rpicam-vid')
    expect(argAfter(producer?.args ?? [], '--codec')).toBe('libav')
    expect(argAfter(producer?.args ?? [], '--libav-video-codec')).toBe('libx264')
    expect(argAfter(producer?.args ?? [], '--libav-format')).toBe('h264')
    expect(argAfter(producer?.args ?? [], '-o')).toBe('-')
    expect(argAfter(producer?.args ?? [], '--intra')).toBe('15')
    expect(argAfter(ffmpeg.args, '-i')).toBe('pipe:0')
    expect(argAfter(ffmpeg.args, '-c:v')).toBe('copy')
  })

  it('uses the hardware encoder with inline headers on a Pi 4', () => {
    const { producer } = buildCapturePipeline(config({ source: 'rpicam', rpicamCodec: 'h264' }))
    expect(argAfter(producer?.args ?? [], '--codec')).toBe('h264')
    expect(producer?.args).toContain('--inline')
  })

  it('reads a USB webcam through v4l2 and adds ALSA audio when asked', () => {
    const { producer, ffmpeg } = buildCapturePipeline(
      config({ source: 'v4l2', hasAudio: true, audioDevice: 'dsnoop:1' }),
    )
    expect(producer).toBeUndefined()
    expect(argAfter(ffmpeg.args, '-f')).toBe('v4l2')
    expect(ffmpeg.args).toContain('/dev/video0')
    expect(ffmpeg.args.join(' ')).toContain('-f alsa -ac 1 -ar 16000 -i dsnoop:1')
    expect(argAfter(ffmpeg.args, '-c:a')).toBe('aac')
    expect(ffmpeg.args).not.toContain('-input_format')
    const mjpeg = buildCapturePipeline(config({ source: 'v4l2', v4l2InputFormat: 'mjpeg' }))
    expect(argAfter(mjpeg.ffmpeg.args, '-input_format')).toBe('mjpeg')
  })

  it('simulates with lavfi testsrc2 and a sine tone, in real time', () => {
    const { ffmpeg } = buildCapturePipeline(
      config({ source: 'simulated', widthPx: 320, heightPx: 240, hasAudio: true }),
    )
    const line = ffmpeg.args.join(' ')
    expect(line).toContain('-re -f lavfi -i testsrc2=size=320x240:rate=15')
    expect(line).toContain('sine=frequency=440:sample_rate=16000')
  })

  it('writes keyframe-aligned MPEG-TS segments and a CSV list into the ring folder', () => {
    const settings = config({
      source: 'simulated',
      frameRate: 10,
      ring: { dir: '/dev/shm/ring', segmentMs: 2000 },
    })
    const { ffmpeg } = buildCapturePipeline(settings)
    expect(framesPerSegment(settings)).toBe(20)
    expect(argAfter(ffmpeg.args, '-g')).toBe('20')
    expect(argAfter(ffmpeg.args, '-segment_time')).toBe('2.000')
    expect(argAfter(ffmpeg.args, '-segment_list')).toBe('/dev/shm/ring/segments.csv')
    expect(ffmpeg.args.at(-1)).toBe('/dev/shm/ring/seg-%06d.ts')
    const restarted = buildCapturePipeline(settings, { segmentStartNumber: 42 })
    expect(argAfter(restarted.ffmpeg.args, '-segment_start_number')).toBe('42')
  })
})

describe('mediaConfigSchema', () => {
  it('has defaults for every field', () => {
    const c = mediaConfigSchema.parse({})
    expect(c).toMatchObject({ source: 'rpicam', prerollMs: 5000, postrollMs: 10_000, chunkBytes: 16 * 1024 })
    expect(c.ring.dir).toBe('/dev/shm/doorbell-ring')
    expect(c.snapshot.maxBytes).toBe(192 * 1024)
    expect(c.microphone).toMatchObject({ source: 'arecord', sampleRateHz: 16_000, loudDbfs: -20 })
  })

  it('refuses chunks outside 64-256 KiB, and a ring too small for the pre-roll', () => {
    expect(mediaConfigSchema.safeParse({ chunkBytes: 4 * 1024 }).success).toBe(false)
    expect(mediaConfigSchema.safeParse({ chunkBytes: 512 * 1024 }).success).toBe(false)
    const small = mediaConfigSchema.safeParse({ prerollMs: 20_000, ring: { maxSegments: 10 } })
    expect(small.success).toBe(false)
    expect(small.error?.issues[0]?.path).toEqual(['ring', 'maxSegments'])
  })

  it('refuses a hard clip bound below the soft one', () => {
    const r = mediaConfigSchema.safeParse({
      clips: { maxBytes: 10 * 1024 * 1024, hardMaxBytes: 5 * 1024 * 1024 },
    })
    expect(r.success).toBe(false)
  })
})
