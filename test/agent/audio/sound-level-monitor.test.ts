import { describe, expect, it } from 'vitest'
import { SimulatedMicrophone } from '../../../agent/audio/simulated-microphone.js'
import { SoundLevelMonitor, type SoundReading } from '../../../agent/audio/sound-level-monitor.js'
import { createEnvelope, encodeEvent } from '../../../shared/protocol/index.js'

function setup(overrides: Partial<ConstructorParameters<typeof SoundLevelMonitor>[0]> = {}) {
  const readings: SoundReading[] = []
  const monitor = new SoundLevelMonitor({
    sampleRateHz: 16_000,
    windowMs: 500,
    loudDbfs: -20,
    loudCooldownMs: 2000,
    reportIntervalMs: 0,
    onReading: (r) => readings.push(r),
    nowMs: () => 1_700_000_000_000,
    ...overrides,
  })
  const mic = new SimulatedMicrophone({ sampleRateHz: 16_000, toneHz: 440, levelDbfs: -40, blockMs: 100 })
  const feed = (blocks: number) => {
    for (let i = 0; i < blocks; i += 1) monitor.onPcm(mic.nextBlock())
  }
  return { readings, monitor, mic, feed }
}

describe('SoundLevelMonitor', () => {
  it('measures the simulated microphone at its configured level', () => {
    const { monitor, mic, readings } = setup({ reportIntervalMs: 500 })
    mic.setLevelDbfs(-30)
    for (let i = 0; i < 5; i += 1) monitor.onPcm(mic.nextBlock())
    expect(readings).toHaveLength(1)
    expect(readings[0]?.payload.dbfs).toBeCloseTo(-30, 1)
    expect(readings[0]?.payload.isLoud).toBe(false)
  })

  it('raises one loud reading, then holds off for the cooldown', () => {
    const { readings, mic, feed } = setup()
    feed(10) // 1 s quiet
    expect(readings).toHaveLength(0)
    mic.setLevelDbfs(-10)
    feed(30) // 3 s loud: the first loud window, then one more after the 2 s cooldown
    const loud = readings.filter((r) => r.reason === 'loud')
    expect(loud).toHaveLength(2)
    expect(loud[0]?.payload).toMatchObject({ isLoud: true, windowMs: 500 })
    expect(loud[0]?.payload.dbfs).toBeCloseTo(-10, 1)
  })

  it('reports the loudest window of each interval as a summary', () => {
    const { readings, mic, feed } = setup({ reportIntervalMs: 2000, loudDbfs: -5 })
    feed(5)
    mic.setLevelDbfs(-25)
    feed(5)
    mic.setLevelDbfs(-45)
    feed(10)
    const summaries = readings.filter((r) => r.reason === 'summary')
    expect(summaries).toHaveLength(1)
    expect(summaries[0]?.payload.dbfs).toBeCloseTo(-25, 1)
  })

  it('cuts windows correctly from blocks of any size, even odd ones', () => {
    const { monitor, mic, readings } = setup({ reportIntervalMs: 500 })
    const pcm = Buffer.concat(Array.from({ length: 10 }, () => mic.nextBlock()))
    for (let offset = 0; offset < pcm.length; offset += 777) monitor.onPcm(pcm.subarray(offset, offset + 777))
    expect(monitor.windowsMeasured).toBe(2)
    expect(readings.every((r) => Math.abs(r.payload.dbfs + 40) < 0.1)).toBe(true)
  })

  it('produces payloads the protocol accepts as medium sound.level events', () => {
    const { readings, mic, feed } = setup()
    mic.setLevelDbfs(-3.01)
    feed(5)
    const reading = readings[0] as SoundReading
    const envelope = createEnvelope({
      deviceId: 'front-door',
      seq: 1,
      type: 'sound.level',
      payload: reading.payload,
    })
    expect(envelope.class).toBe('medium')
    expect(() => encodeEvent(envelope)).not.toThrow()
  })
})
