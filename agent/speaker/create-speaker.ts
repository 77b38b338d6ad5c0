import { isAbsolute, join } from 'node:path'
import type { DoorbellError } from '../../shared/errors.js'
import { AplaySpeaker } from './aplay-speaker.js'
import { SimulatedSpeaker } from './simulated-speaker.js'
import type { Speaker } from './speaker.js'
import type { SpeakerConfig } from './speaker-config.js'

/** Opus decodes at 48 kHz: the talk path hands the speaker PCM at this rate. */
export const talkSampleRateHz = 48_000

/** The configured speaker (simulated under --simulate, aplay on a Pi), or none when disabled. */
export function createSpeaker(
  config: SpeakerConfig,
  deps: { dataDir: string; onError?: (err: DoorbellError) => void },
): Speaker | undefined {
  if (!config.enabled) return undefined
  if (config.source === 'simulated') {
    const file = isAbsolute(config.file) ? config.file : join(deps.dataDir, config.file)
    return new SimulatedSpeaker({ sampleRateHz: talkSampleRateHz, file })
  }
  return new AplaySpeaker({
    sampleRateHz: talkSampleRateHz,
    device: config.device,
    bufferMs: config.bufferMs,
    ...(deps.onError ? { onError: deps.onError } : {}),
  })
}
