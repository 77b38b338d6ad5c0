import { z } from 'zod'

/** Config of the speaker that plays two-way talk; plugged into the agent config as `live.speaker`. */
export const speakerConfigSchema = z.strictObject({
  /** Whether talk from the homeowner is played at all. */
  enabled: z.boolean().default(true),
  /** `aplay`: a real ALSA playback device; `simulated`: a WAV file (`file`) that tests and you can check. */
  source: z.enum(['aplay', 'simulated']).default('aplay'),
  /** ALSA playback device for aplay, e.g. `plughw:0,0` or `default`. */
  device: z.string().min(1).default('default'),
  /** Where the simulated speaker writes; relative to the agent's data folder. */
  file: z.string().min(1).default('speaker.wav'),
  /** aplay's buffer: small keeps talk latency low, too small underruns on a busy Pi. */
  bufferMs: z.number().int().min(20).max(2000).default(100),
})

/** Validated speaker config. */
export type SpeakerConfig = z.output<typeof speakerConfigSchema>
