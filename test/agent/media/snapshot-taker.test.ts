import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FsSegmentRing } from '../../../agent/media/segment-ring.js'
import { FfmpegSnapshotTaker, jpegWidthPx, snapshotPayloadOf } from '../../../agent/media/snapshot-taker.js'
import { isDoorbellError } from '../../../shared/errors.js'
import { createEnvelope, encodeEvent, newEventId } from '../../../shared/protocol/index.js'

let dir: string
let ring: FsSegmentRing

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-snap-'))
  ring = new FsSegmentRing({ dir, limits: { maxSegments: 10, maxBytes: 10_000_000 }, pollMs: 1000 })
  ring.start()
  // Two seconds of busy 640x480 video as ring segments, written faster than real time.
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi'],
    ...['-i', 'testsrc2=size=640x480:rate=10,noise=alls=60:allf=t', '-t', '2'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p'],
    ...['-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts'],
    ...['-segment_list', join(dir, 'segments.csv'), '-segment_list_type', 'csv', join(dir, 'seg-%06d.ts')],
  ])
  ring.poll()
})

afterAll(() => {
  ring.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('FfmpegSnapshotTaker', () => {
  it('takes a full-size JPEG from the newest segment', async () => {
    const taker = new FfmpegSnapshotTaker({ ring, maxBytes: 192 * 1024, quality: 4 })
    const shot = await taker.take()
    expect(jpegWidthPx(shot.jpeg)).toBe(640)
    expect(shot.jpeg.length).toBeLessThanOrEqual(192 * 1024)
    expect(shot.widthPx).toBeUndefined()
  })

  it('lowers quality, then size, until the JPEG fits the limit', async () => {
    const taker = new FfmpegSnapshotTaker({ ring, maxBytes: 6 * 1024, quality: 2 })
    const shot = await taker.take()
    expect(shot.jpeg.length).toBeLessThanOrEqual(6 * 1024)
    expect(shot.quality).toBeGreaterThan(2)
    expect(jpegWidthPx(shot.jpeg)).toBeLessThan(640)
    expect(ring.stats().pinned).toBe(0)
  })

  it('builds a snapshot payload the protocol accepts', async () => {
    const shot = await new FfmpegSnapshotTaker({ ring, maxBytes: 192 * 1024, quality: 4 }).take()
    const payload = snapshotPayloadOf(shot.jpeg, newEventId())
    const envelope = createEnvelope({ deviceId: 'front-door', seq: 1, type: 'snapshot', payload })
    expect(() => encodeEvent(envelope)).not.toThrow()
  })

  it('does not use a stale segment from a stalled camera', async () => {
    const taker = new FfmpegSnapshotTaker({
      ring,
      maxBytes: 192 * 1024,
      quality: 4,
      maxAgeMs: 2000,
      waitForSegmentMs: 100,
      nowMs: () => Date.now() + 60_000,
    })
    await expect(taker.take()).rejects.toSatisfy((e) => isDoorbellError(e, 'CAMERA_FAILED'))
  })

  it('fails with CAMERA_FAILED when no segment arrives in time', async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'doorbell-snap-empty-'))
    const empty = new FsSegmentRing({
      dir: emptyDir,
      limits: { maxSegments: 3, maxBytes: 1e6 },
      pollMs: 1000,
    })
    const taker = new FfmpegSnapshotTaker({
      ring: empty,
      maxBytes: 192 * 1024,
      quality: 4,
      waitForSegmentMs: 100,
    })
    await expect(taker.take()).rejects.toSatisfy((e) => isDoorbellError(e, 'CAMERA_FAILED'))
    rmSync(emptyDir, { recursive: true, force: true })
  })
})
