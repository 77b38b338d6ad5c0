import { describe, expect, it } from 'vitest'
import { FfmpegCameraCapture } from '../../../agent/media/ffmpeg-camera-capture.js'
import type { DoorbellError } from '../../../shared/errors.js'
import { eventually } from '../../support/eventually.js'

describe('FfmpegCameraCapture', () => {
  it('reports a pipeline that dies as CAMERA_FAILED and restarts it with backoff', async () => {
    const failures: DoorbellError[] = []
    let starts = 0
    const capture = new FfmpegCameraCapture({
      pipeline: { ffmpeg: { command: 'sh', args: ['-c', 'echo no camera >&2; exit 3'] } },
      restartDelayMs: 20,
      events: { onFailure: (e) => failures.push(e), onStarted: () => starts++ },
    })
    capture.start()
    await eventually(() => failures.length >= 2, 'two capture failures', 10_000)
    await capture.stop()
    expect(failures[0]?.code).toBe('CAMERA_FAILED')
    expect(failures[0]?.message).toContain('no camera')
    expect(starts).toBeGreaterThanOrEqual(2)
  })

  it('reports a missing program instead of crashing', async () => {
    const failures: DoorbellError[] = []
    const capture = new FfmpegCameraCapture({
      pipeline: { ffmpeg: { command: 'doorbell-no-such-ffmpeg', args: [] } },
      restartDelayMs: 10_000,
      events: { onFailure: (e) => failures.push(e) },
    })
    capture.start()
    await eventually(() => failures.length >= 1, 'a capture failure', 10_000)
    await capture.stop()
    // Spawned directly, Node reports ENOENT; under setpriv (parent-death signal) setpriv says it cannot exec.
    expect(failures[0]?.message).toMatch(/doorbell-no-such-ffmpeg.*(ENOENT|No such file or directory)/)
  })

  it('pipes the producer into ffmpeg and stops both without reporting a failure', async () => {
    const failures: DoorbellError[] = []
    const capture = new FfmpegCameraCapture({
      pipeline: {
        producer: { command: 'sh', args: ['-c', 'while true; do echo frame; sleep 0.05; done'] },
        ffmpeg: { command: 'sh', args: ['-c', 'cat > /dev/null'] },
      },
      events: { onFailure: (e) => failures.push(e) },
    })
    capture.start()
    await new Promise((r) => setTimeout(r, 200))
    expect(capture.isRunning).toBe(true)
    await capture.stop()
    expect(capture.isRunning).toBe(false)
    expect(failures).toEqual([])
  })
})
