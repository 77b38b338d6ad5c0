import { z } from 'zod'

/** Config of the microphone and its loud-sound detector; plugged into the agent config as `media.microphone`. */
export const microphoneConfigSchema = z.strictObject({
  /** Whether the microphone runs at all. */
  enabled: z.boolean().default(true),
  /** `arecord`: a real ALSA capture device via node-record-lpcm16; `simulated`: a generated sine in-process. */
  source: z.enum(['arecord', 'simulated']).default('arecord'),
  /** ALSA device for arecord, e.g. `plughw:1,0`, or `dsnoop:1` to share it with the camera's audio. */
  device: z.string().min(1).optional(),
  /** A failed recorder is restarted after this delay, doubling per failure in a row up to 60 s. */
  restartDelayMs: z.number().int().min(100).max(60_000).default(2000),
  sampleRateHz: z.number().int().min(8000).max(48_000).default(16_000),
  /** Length of the window the RMS and peak are computed over. */
  windowMs: z.number().int().min(50).max(60_000).default(1000),
  /** A window whose RMS level is at or above this is loud. */
  loudDbfs: z.number().min(-100).max(0).default(-20),
  /** After a loud event, further loud windows are not reported for this long. */
  loudCooldownMs: z.number().int().nonnegative().default(10_000),
  /** A summary reading (loudest window) is reported this often; 0 turns summaries off. */
  reportIntervalMs: z.number().int().nonnegative().default(60_000),
  /** The simulated microphone's tone and level (dBFS of its RMS). */
  simulatedToneHz: z.number().positive().max(20_000).default(440),
  simulatedLevelDbfs: z.number().min(-100).max(-3.01).default(-40),
})

/** Validated microphone config. */
export type MicrophoneConfig = z.output<typeof microphoneConfigSchema>
