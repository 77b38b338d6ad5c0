import { z } from 'zod'
import { speakerConfigSchema } from '../speaker/speaker-config.js'

/**
 * The live-view part of the agent config, plugged in under `live:` (docs/live.md). Every field has a
 * default. The camera's stream is tapped (no second encoder), so its bitrate is set in `media`.
 */
export const liveConfigSchema = z.strictObject({
  /** Whether the device streams at all when the collector asks. */
  enabled: z.boolean().default(true),
  /** A `live.start` older than this (queued by the broker while the device was offline) is refused. */
  startMaxAgeMs: z.number().int().min(1000).max(600_000).default(30_000),
  /** The device's own bound on one session, whatever the collector says; the collector's is shorter. */
  maxSessionMs: z
    .number()
    .int()
    .min(10_000)
    .default(30 * 60_000),
  /** Stop sending when the collector's peer has been unreachable this long. */
  disconnectedStopMs: z.number().int().min(500).max(60_000).default(3000),
  /** Opus bitrate of the door's microphone, kbit/s (20 ms frames). */
  audioBitrateKbps: z.number().int().min(6).max(128).default(24),
  /** How the stream gives way on a congested uplink (docs/live.md, "Bounded latency"). */
  adaptation: z
    .strictObject({
      /** Round trip to the collector measured this often over the control channel. */
      probeIntervalMs: z.number().int().min(50).max(5000).default(250),
      /** A round trip this much above the smallest recent one means a queue is building on the uplink. */
      queueDelayMs: z.number().int().min(20).max(5000).default(150),
      /** Round trips that must stay near the smallest before the stream steps back up. */
      recoverAfterMs: z.number().int().min(500).max(120_000).default(5000),
    })
    .prefault({}),
  speaker: speakerConfigSchema.prefault({}),
})

/** Validated live config. */
export type LiveConfig = z.output<typeof liveConfigSchema>
