import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FfmpegClipRecorder } from '../../../agent/media/clip-recorder.js'
import { probeMedia } from '../../../agent/media/probe-media.js'
import { FsSegmentRing } from '../../../agent/media/segment-ring.js'
import { newEventId } from '../../../shared/protocol/index.js'
import { topLevelBoxes } from './mp4-boxes.js'

// Segments made faster than real time, then revealed to the ring one by one on a fake clock,
// so the recorder is tested deterministically (the real-time path is in media-service.test.ts).
const baseMs = 1_800_000_000_000
let root: string
let ringDir: string
let allLines: string[]
let nowMs = baseMs

function newRing(): FsSegmentRing {
  return new FsSegmentRing({
    dir: ringDir,
    limits: { maxSegments: 10, maxBytes: 1e8 },
    pollMs: 1000,
    nowMs: () => nowMs,
  })
}

/** Shows the ring segment i closing at baseMs + (i + 1) s. */
function reveal(ring: FsSegmentRing, count: number): void {
  for (let i = 0; i < count; i += 1) {
    writeFileSync(join(ringDir, 'segments.csv'), `${allLines.slice(0, i + 1).join('\n')}\n`)
    nowMs = baseMs + (i + 1) * 1000
    ring.poll()
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'doorbell-recorder-'))
  ringDir = join(root, 'ring')
  mkdirSync(ringDir)
  mkdirSync(join(root, 'clips'))
  execFileSync('ffmpeg', [
    ...[
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10',
    ],
    ...[
      '-t',
      '6',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '10',
      '-sc_threshold',
      '0',
    ],
    ...['-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts', '-reset_timestamps', '0'],
    ...['-segment_list', join(root, 'all.csv'), '-segment_list_type', 'csv', join(ringDir, 'seg-%06d.ts')],
  ])
  allLines = readFileSync(join(root, 'all.csv'), 'utf8').trim().split('\n')
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('FfmpegClipRecorder', () => {
  it('joins the segments from pre-roll to post-roll into a faststart MP4 without audio', async () => {
    const ring = newRing()
    reveal(ring, 3) // segments 0-2 closed: ring spans baseMs .. baseMs + 3 s
    const recorder = new FfmpegClipRecorder({
      ring,
      outputDir: join(root, 'clips'),
      prerollMs: 2000,
      postrollMs: 1000,
      segmentMs: 1000,
      nowMs: () => nowMs,
    })
    const triggerAtMs = baseMs + 3000
    const relatesTo = newEventId(triggerAtMs)
    const pending = recorder.record({ atMs: triggerAtMs, relatesTo })
    expect(ring.stats().pinned).toBe(2) // segments 1 and 2 hold the pre-roll
    reveal(ring, 5) // segment 3 ends at +4 s = trigger + post-roll
    const clip = await pending
    expect(clip.relatesTo).toBe(relatesTo)
    expect(clip.startedAtMs).toBe(baseMs + 1000)
    expect(clip.prerollMs).toBe(2000)
    expect(clip.hasAudio).toBe(false)
    const probe = await probeMedia(clip.path)
    expect(probe.durationMs).toBeGreaterThanOrEqual(2900)
    expect(probe.durationMs).toBeLessThanOrEqual(3100)
    expect(probe.streams.map((s) => s.codecType)).toEqual(['video'])
    const boxes = topLevelBoxes(clip.path)
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'))
    expect(ring.stats().pinned).toBe(0)
    ring.stop()
  })

  it('on flush (shutdown), assembles the clip from what the ring holds instead of waiting', async () => {
    // The previous test's ring.stop() emptied the folder: make the segments again.
    execFileSync('ffmpeg', [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=160x120:rate=10',
      ],
      ...['-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '10'],
      ...['-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts', join(ringDir, 'seg-%06d.ts')],
    ])
    const ring = newRing()
    reveal(ring, 2)
    const recorder = new FfmpegClipRecorder({
      ring,
      outputDir: join(root, 'clips'),
      prerollMs: 5000,
      postrollMs: 60_000,
      segmentMs: 1000,
      nowMs: () => nowMs,
    })
    const pending = recorder.record({ atMs: nowMs })
    await recorder.flush()
    const clip = await pending
    expect((await probeMedia(clip.path)).durationMs).toBeGreaterThanOrEqual(1900)
    expect(ring.stats().pinned).toBe(0)
    ring.stop()
  })
})
