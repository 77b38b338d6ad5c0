import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { getPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FfmpegCameraCapture } from '../../../agent/media/ffmpeg-camera-capture.js'
import { mediaConfigSchema } from '../../../agent/media/media-config.js'
import { runProcess } from '../../../agent/media/run-process.js'
import { eventually } from '../../support/eventually.js'

/** A shell line that waits until the parent has set its priority, then prints its own nice value. */
const printOwnNice = 'sleep 0.3; cut -d" " -f19 /proc/$$/stat'

describe('media child priority', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  it('runs clip and snapshot tools at media.childNiceness, below the agent', async () => {
    const { stdout } = await runProcess('sh', ['-c', printOwnNice], { timeoutMs: 10_000, niceness: 7 })
    expect(Number(stdout.toString().trim())).toBe(Math.max(7, getPriority()))
  })

  it('leaves a tool at the agent priority without a niceness', async () => {
    const { stdout } = await runProcess('sh', ['-c', printOwnNice], { timeoutMs: 10_000 })
    expect(Number(stdout.toString().trim())).toBe(getPriority())
  })

  it('runs both processes of the camera pipeline at the niceness', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'child-priority-'))
    dirs.push(dir)
    const capture = new FfmpegCameraCapture({
      pipeline: {
        producer: { command: 'sh', args: ['-c', `${printOwnNice} > ${dir}/producer; exec sleep 30`] },
        ffmpeg: { command: 'sh', args: ['-c', `${printOwnNice} > ${dir}/ffmpeg; exec cat > /dev/null`] },
      },
      niceness: 5,
    })
    capture.start()
    const niceOf = (name: string) => {
      try {
        return readFileSync(join(dir, name), 'utf8').trim()
      } catch {
        return ''
      }
    }
    try {
      await eventually(() => niceOf('producer') !== '' && niceOf('ffmpeg') !== '', 'both nice values', 10_000)
    } finally {
      await capture.stop()
    }
    expect(Number(niceOf('producer'))).toBe(Math.max(5, getPriority()))
    expect(Number(niceOf('ffmpeg'))).toBe(Math.max(5, getPriority()))
  })

  it('defaults media.childNiceness to 10 and refuses one outside 0-19, naming the field', () => {
    expect(mediaConfigSchema.parse({}).childNiceness).toBe(10)
    const result = mediaConfigSchema.safeParse({ childNiceness: 20 })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual(['childNiceness'])
  })
})
