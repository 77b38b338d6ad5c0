import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sinePcm16 } from '../../../agent/audio/sound-level.js'
import { SimulatedSpeaker } from '../../../agent/speaker/simulated-speaker.js'

describe('SimulatedSpeaker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'speaker-'))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('writes what it plays into a WAV file that sox reads while it is still open', async () => {
    const speaker = new SimulatedSpeaker({ sampleRateHz: 48_000, file: join(dir, 'speaker.wav') })
    speaker.start()
    speaker.play(
      sinePcm16({ toneHz: 1000, sampleRateHz: 48_000, durationMs: 500, amplitude: 0.5, startSample: 0 }),
    )
    const report = spawnSync('sox', [speaker.file, '-n', 'stat'], { encoding: 'utf8' }).stderr
    expect(Number(/Length \(seconds\):\s+([\d.]+)/.exec(report)?.[1])).toBeCloseTo(0.5, 2)
    expect(speaker.playedBytes).toBe(48_000)
    await speaker.stop()
  })

  it('drops what it is given before start', () => {
    const speaker = new SimulatedSpeaker({ sampleRateHz: 48_000, file: join(dir, 'never.wav') })
    speaker.play(Buffer.alloc(100))
    expect(speaker.playedBytes).toBe(0)
  })
})
