import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Lpcm16Microphone } from '../../../agent/audio/lpcm16-microphone.js'
import type { Microphone } from '../../../agent/audio/microphone.js'
import { SimulatedMicrophone } from '../../../agent/audio/simulated-microphone.js'
import { levelOfPcm16 } from '../../../agent/audio/sound-level.js'
import { eventually } from '../../support/eventually.js'

// One contract for both microphones (the aedes-persistence pattern): the real library runs with a
// recorder that plays a real-time ffmpeg sine, so it needs no sound card.
const sineRecorder = fileURLToPath(new URL('./fixtures/ffmpeg-sine-recorder.cjs', import.meta.url))

const microphones: [string, () => Microphone][] = [
  ['Lpcm16Microphone', () => new Lpcm16Microphone({ sampleRateHz: 16_000, recorder: sineRecorder })],
  [
    'SimulatedMicrophone',
    () => new SimulatedMicrophone({ sampleRateHz: 16_000, toneHz: 440, levelDbfs: -21 }),
  ],
]

describe.each(microphones)('Microphone contract: %s', (_name, make) => {
  it('delivers whole 16-bit samples of the tone, in real time, and stops quietly', async () => {
    const mic = make()
    const pcm: Buffer[] = []
    const errors: Error[] = []
    const startedAtMs = Date.now()
    mic.start({ onPcm: (b) => pcm.push(b), onError: (e) => errors.push(e) })
    const bytes = () => pcm.reduce((n, b) => n + b.length, 0)
    await eventually(() => bytes() >= 8000, '250 ms of 16 kHz mono PCM', 10_000)
    const elapsedMs = Date.now() - startedAtMs
    await mic.stop()
    expect(errors).toEqual([])
    expect(pcm.every((b) => b.length % 2 === 0)).toBe(true)
    // Real time, not a burst: well under 1 s of audio per 0.25 s of wall clock.
    expect(bytes()).toBeLessThan(32_000 * (elapsedMs / 1000 + 1))
    // ffmpeg's sine source is 1/8 full scale: -21.1 dBFS RMS.
    expect(levelOfPcm16(Buffer.concat(pcm)).dbfs).toBeCloseTo(-21, 0)
  })

  it('can be stopped twice and started again', async () => {
    const mic = make()
    const pcm: Buffer[] = []
    const errors: Error[] = []
    const sink = { onPcm: (b: Buffer) => pcm.push(b), onError: (e: Error) => errors.push(e) }
    mic.start(sink)
    await mic.stop()
    await mic.stop()
    pcm.length = 0
    mic.start(sink)
    await eventually(() => pcm.length > 0, 'PCM from the microphone', 10_000)
    await mic.stop()
    expect(errors).toEqual([])
  })
})
