import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { mediaConfigSchema } from '../../../agent/media/media-config.js'
import { MediaService } from '../../../agent/media/media-service.js'
import { probeMedia } from '../../../agent/media/probe-media.js'
import { isDoorbellError } from '../../../shared/errors.js'

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** PIDs of the ffmpeg processes this test process started (never anyone else's). */
function ownFfmpegPids(): number[] {
  try {
    const out = execFileSync('pgrep', ['-P', String(process.pid), 'ffmpeg']).toString('utf8')
    return out.split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

const root = mkdtempSync(join(tmpdir(), 'doorbell-restart-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('camera restart (real ffmpeg)', () => {
  it('restarts a killed capture, continues the segment numbering and still records clips', async () => {
    const errors: Error[] = []
    const service = new MediaService({
      config: mediaConfigSchema.parse({
        source: 'simulated',
        widthPx: 160,
        heightPx: 120,
        frameRate: 10,
        videoBitrateKbps: 100,
        hasAudio: true,
        prerollMs: 2000,
        postrollMs: 1000,
        ring: { dir: join(root, 'ring'), segmentMs: 1000, maxSegments: 8, pollMs: 50 },
      }),
      dataDir: root,
      ports: { onSnapshot: () => {}, onClip: () => {}, onError: (err) => errors.push(err) },
    })
    try {
      await service.start()
      await until(() => service.ring.segments().length >= 2, 15_000)
      const before = service.ring.segments()
      const sizes = before.map((s) => statSync(s.path).size)
      const killedAtMs = Date.now()
      const pids = ownFfmpegPids()
      expect(pids).toHaveLength(1)
      process.kill(pids[0] as number, 'SIGKILL')
      await until(() => errors.length > 0, 5000)
      expect(isDoorbellError(errors[0], 'CAMERA_FAILED')).toBe(true)
      const lastBefore = before.at(-1)?.index ?? 0
      await until(() => service.ring.segments().filter((s) => s.index > lastBefore).length >= 2, 15_000)
      const after = service.ring.segments().filter((s) => s.index > lastBefore)
      // Numbering continues past the dead run's unfinished segment; nothing held was overwritten.
      expect(after[0]?.index).toBe(lastBefore + 2)
      expect(before.map((s) => statSync(s.path).size)).toEqual(sizes)
      // The new run's stream clock starts at 0 again: its segments are still dated after the kill.
      expect(after[0]?.startedAtMs).toBeGreaterThan(killedAtMs - 500)
      const clip = await service.trigger({ atMs: Date.now() }).clip
      expect(clip).toBeDefined()
      const probe = await probeMedia(clip?.path as string)
      expect(probe.hasVideo && probe.hasAudio).toBe(true)
      expect(probe.durationMs).toBeGreaterThanOrEqual(2000)
    } finally {
      await service.stop()
    }
  })
})
