import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { levelOfPcm16 } from '../../../agent/audio/sound-level.js'
import type { RecordedClip } from '../../../agent/media/clip-recorder.js'
import type { StoredClip } from '../../../agent/media/fs-clip-store.js'
import { mediaConfigSchema } from '../../../agent/media/media-config.js'
import { MediaService } from '../../../agent/media/media-service.js'
import { probeMedia } from '../../../agent/media/probe-media.js'
import type { Snapshot } from '../../../agent/media/snapshot-taker.js'
import {
  createEnvelope,
  encodeEvent,
  maxSnapshotImageBytes,
  newEventId,
  type PayloadInputOf,
} from '../../../shared/protocol/index.js'
import { topLevelBoxes } from './mp4-boxes.js'

// Real ffmpeg with the simulated source (lavfi testsrc2 + sine), small and slow to spare two shared cores.
const segmentMs = 1000
const prerollMs = 3000
const postrollMs = 2000
const maxSegments = 5

let root: string
let service: MediaService
const snapshots: PayloadInputOf<'snapshot'>[] = []
const manifests: PayloadInputOf<'clip.manifest'>[] = []
const storedClips: StoredClip[] = []
const errors: Error[] = []

/** MD5 of the first decoded video frame of a media file (ffmpeg's framemd5 muxer). */
function firstFrameMd5(path: string): string {
  const out = execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-frames:v', '1'],
    ...['-f', 'framemd5', '-'],
  ])
  const line = out.toString('utf8').trim().split('\n').at(-1) ?? ''
  return line.split(',').at(-1)?.trim() ?? ''
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'doorbell-media-'))
  const config = mediaConfigSchema.parse({
    source: 'simulated',
    widthPx: 320,
    heightPx: 240,
    frameRate: 10,
    videoBitrateKbps: 200,
    hasAudio: true,
    prerollMs,
    postrollMs,
    ring: { dir: join(root, 'ring'), segmentMs, maxSegments, pollMs: 50 },
    clips: { dir: 'clips' },
  })
  service = new MediaService({
    config,
    dataDir: root,
    ports: {
      onSnapshot: (payload) => snapshots.push(payload),
      onClip: (manifest, clip) => {
        manifests.push(manifest)
        storedClips.push(clip)
      },
      onError: (err) => errors.push(err),
    },
  })
  await service.start()
  // Fill more than the pre-roll, so the ring is at its bound when the press comes.
  await until(() => service.ring.stats().evicted >= 1, 20_000)
})

afterAll(async () => {
  await service?.stop()
  rmSync(root, { recursive: true, force: true })
})

describe('MediaService with the simulated camera (real ffmpeg)', () => {
  let triggerAtMs = 0
  let snapshot: Snapshot | undefined
  let snapshotMs = 0
  let clip: RecordedClip | undefined
  let heldBefore: { endedAtMs: number; md5: string }[] = []

  beforeAll(async () => {
    // Fingerprint the first frame of every segment the ring holds, with the time each was seen closed.
    // (Synchronous, so the ring cannot evict one meanwhile; the press follows at once.)
    heldBefore = service.ring.segments().map((s) => ({ endedAtMs: s.endedAtMs, md5: firstFrameMd5(s.path) }))
    triggerAtMs = Date.now()
    const result = service.trigger({ atMs: triggerAtMs, relatesTo: newEventId(triggerAtMs) })
    snapshot = await result.snapshot
    snapshotMs = Date.now() - triggerAtMs
    // A second press 300 ms later joins the clip being collected.
    const second = service.trigger({ atMs: triggerAtMs + 300 })
    clip = await result.clip
    if (process.env.DOORBELL_TEST_VERBOSE) console.log({ snapshotMs, clip, heldBefore, triggerAtMs })
    expect(await second.clip).toEqual(clip)
  })

  it('hands a valid JPEG within the size limit to the snapshot port, within about a second', async () => {
    expect(errors).toEqual([])
    expect(snapshot).toBeDefined()
    const jpeg = snapshot?.jpeg as Buffer
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]))
    expect(jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]))
    expect(jpeg.length).toBeLessThanOrEqual(maxSnapshotImageBytes)
    expect(snapshotMs).toBeLessThan(3000) // generous: typically ~0.1 s here
    const envelope = createEnvelope({
      deviceId: 'front-door',
      seq: 2,
      type: 'snapshot',
      payload: snapshots[0] as never,
    })
    expect(envelope.class).toBe('medium')
    expect(() => encodeEvent(envelope)).not.toThrow()
  })

  it('records a clip that really starts before the press', async () => {
    const c = clip as RecordedClip
    const probe = await probeMedia(c.path)
    expect(probe.durationMs).toBeGreaterThanOrEqual(prerollMs + postrollMs - segmentMs)
    // The clip's first frame is, bit for bit, the first frame of a segment that was already closed well
    // before the press (content is older than the moment its segment closed), whatever the load.
    const first = firstFrameMd5(c.path)
    const source = heldBefore.find((s) => s.md5 === first)
    expect(source).toBeDefined()
    expect(triggerAtMs - (source?.endedAtMs ?? triggerAtMs)).toBeGreaterThanOrEqual(
      prerollMs - segmentMs - 500,
    )
    expect(c.prerollMs).toBeGreaterThanOrEqual(prerollMs - segmentMs)
    expect(c.startedAtMs).toBeLessThan(triggerAtMs - prerollMs + segmentMs)
  })

  it('assembles a valid MP4 with faststart (moov before mdat) and an audio track', async () => {
    const c = clip as RecordedClip
    const probe = await probeMedia(c.path)
    expect(probe.formatName).toContain('mp4')
    expect(probe.streams.map((s) => s.codecName).sort()).toEqual(['aac', 'h264'])
    expect(c.hasAudio).toBe(true)
    // The audio track is the simulated source's sine (ffmpeg's default amplitude 1/8: -21 dBFS RMS).
    const pcm = execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', c.path, '-map', '0:a', '-ac', '1'],
      ...['-f', 's16le', '-'],
    ])
    expect(pcm.length).toBeGreaterThan(16_000 * 2 * 2) // more than 2 s at 16 kHz
    expect(levelOfPcm16(pcm).dbfs).toBeCloseTo(-21, 0)
    const boxes = topLevelBoxes(c.path)
    expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0)
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'))
  })

  it('stores the clip once with an upload plan and a manifest the protocol accepts', () => {
    expect(manifests).toHaveLength(1)
    const envelope = createEnvelope({
      deviceId: 'front-door',
      seq: 3,
      type: 'clip.manifest',
      payload: manifests[0] as never,
    })
    expect(envelope.payload.hasAudio).toBe(true)
    expect(storedClips[0]?.upload.nextChunk()?.index).toBe(0)
    expect(service.store.list()).toHaveLength(1)
  })

  it('keeps the ring within its bound and unpins what the clip used', () => {
    // Poll now: a poll delayed by a loaded machine would let ffmpeg finish one more segment first, and this
    // checks the ring's bound, not the event loop's punctuality.
    service.ring.poll()
    const stats = service.ring.stats()
    expect(stats.pinned).toBe(0)
    expect(stats.segments).toBeLessThanOrEqual(maxSegments)
    const onDisk = readdirSync(join(root, 'ring')).filter((n) => n.endsWith('.ts'))
    expect(onDisk.length).toBeLessThanOrEqual(maxSegments + 1) // + the segment being written
  })

  it('takes a snapshot on command without recording a clip, and reports its counters', async () => {
    const shot = await service.snapshot()
    expect(shot?.jpeg.length).toBeGreaterThan(0)
    expect(snapshots).toHaveLength(3) // two presses, one command
    expect(snapshots[2]?.relatesTo).toBeUndefined()
    const stats = service.stats()
    expect(stats.clips).toBe(1)
    expect(stats.clipBytes).toBe(storedClips[0]?.bytes)
  })

  it('on stop, keeps a clip whose post-roll was cut short, and empties the ring folder', async () => {
    const late = service.trigger({ atMs: Date.now(), relatesTo: newEventId() })
    await service.stop()
    const c = await late.clip
    expect(c).toBeDefined()
    expect((await probeMedia(c?.path as string)).durationMs).toBeGreaterThanOrEqual(prerollMs - segmentMs)
    expect(manifests).toHaveLength(2)
    expect(readdirSync(join(root, 'ring')).filter((n) => n.endsWith('.ts'))).toEqual([])
  })
})
