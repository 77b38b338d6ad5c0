/**
 * Sound level of 16-bit PCM. dBFS is relative to a full-scale square wave (RMS 1.0 after scaling
 * samples to [-1, 1)), so a full-scale sine reads 20*log10(1/sqrt(2)) = -3.01 dBFS (AES17 would add 3 dB).
 */

/** Level floor reported for digital silence (the protocol's minimum). */
export const silenceDbfs = -200

/** RMS and peak of a block of samples, in dBFS. */
export interface SoundLevel {
  readonly dbfs: number
  readonly peakDbfs: number
}

/** Converts a linear amplitude (0..1) to dBFS, floored at silenceDbfs and capped at 0. */
export function amplitudeToDbfs(amplitude: number): number {
  if (!(amplitude > 0)) return silenceDbfs
  return Math.min(0, Math.max(silenceDbfs, 20 * Math.log10(amplitude)))
}

/** RMS and peak level of signed 16-bit little-endian mono samples (an odd trailing byte is ignored). */
export function levelOfPcm16(pcm: Buffer): SoundLevel {
  const count = Math.floor(pcm.length / 2)
  let sumSquares = 0
  let peak = 0
  for (let i = 0; i < count; i += 1) {
    const sample = pcm.readInt16LE(i * 2) / 32768
    sumSquares += sample * sample
    const magnitude = Math.abs(sample)
    if (magnitude > peak) peak = magnitude
  }
  if (count === 0) return { dbfs: silenceDbfs, peakDbfs: silenceDbfs }
  return { dbfs: amplitudeToDbfs(Math.sqrt(sumSquares / count)), peakDbfs: amplitudeToDbfs(peak) }
}

/** Signed 16-bit LE mono sine: `durationMs` at `toneHz` with peak `amplitude` (0..1 of full scale). */
export function sinePcm16(options: {
  toneHz: number
  sampleRateHz: number
  durationMs: number
  amplitude: number
  startSample?: number
}): Buffer {
  const count = Math.round((options.sampleRateHz * options.durationMs) / 1000)
  const pcm = Buffer.alloc(count * 2)
  const start = options.startSample ?? 0
  const scale = Math.min(32767, Math.round(options.amplitude * 32768))
  for (let i = 0; i < count; i += 1) {
    const value = Math.round(
      scale * Math.sin((2 * Math.PI * options.toneHz * (start + i)) / options.sampleRateHz),
    )
    pcm.writeInt16LE(Math.max(-32768, Math.min(32767, value)), i * 2)
  }
  return pcm
}
