import { describe, expect, it } from 'vitest'
import { amplitudeToDbfs, levelOfPcm16, silenceDbfs, sinePcm16 } from '../../../agent/audio/sound-level.js'

describe('levelOfPcm16', () => {
  it('reads a full-scale sine as -3.01 dBFS RMS and 0 dBFS peak', () => {
    const pcm = sinePcm16({ toneHz: 1000, sampleRateHz: 48_000, durationMs: 1000, amplitude: 1 })
    const level = levelOfPcm16(pcm)
    expect(level.dbfs).toBeCloseTo(-3.01, 2)
    expect(level.peakDbfs).toBeCloseTo(0, 3)
  })

  it('reads a half-scale sine 6.02 dB lower', () => {
    const pcm = sinePcm16({ toneHz: 440, sampleRateHz: 16_000, durationMs: 1000, amplitude: 0.5 })
    expect(levelOfPcm16(pcm).dbfs).toBeCloseTo(-3.01 - 6.02, 1)
    expect(levelOfPcm16(pcm).peakDbfs).toBeCloseTo(-6.02, 1)
  })

  it('reads digital silence as the floor, not -Infinity', () => {
    expect(levelOfPcm16(Buffer.alloc(3200))).toEqual({ dbfs: silenceDbfs, peakDbfs: silenceDbfs })
    expect(levelOfPcm16(Buffer.alloc(0)).dbfs).toBe(silenceDbfs)
  })

  it('reads a full-scale square wave as 0 dBFS', () => {
    const pcm = Buffer.alloc(1600)
    for (let i = 0; i < 800; i += 1) pcm.writeInt16LE(i % 2 === 0 ? 32767 : -32768, i * 2)
    expect(levelOfPcm16(pcm).dbfs).toBeCloseTo(0, 3)
  })

  it('ignores an odd trailing byte', () => {
    const pcm = sinePcm16({ toneHz: 440, sampleRateHz: 16_000, durationMs: 100, amplitude: 1 })
    expect(levelOfPcm16(Buffer.concat([pcm, Buffer.from([0x7f])])).dbfs).toBeCloseTo(
      levelOfPcm16(pcm).dbfs,
      6,
    )
  })
})

describe('amplitudeToDbfs', () => {
  it('maps 1 to 0 dBFS and clamps', () => {
    expect(amplitudeToDbfs(1)).toBe(0)
    expect(amplitudeToDbfs(2)).toBe(0)
    expect(amplitudeToDbfs(0)).toBe(silenceDbfs)
    expect(amplitudeToDbfs(Number.NaN)).toBe(silenceDbfs)
  })
})
