import { join } from 'node:path'
import type { AgentConfig } from '../config/agent-config.js'
import type { LiveConfig } from '../live/live-config.js'
import type { MediaConfig } from './media-config.js'

/**
 * The media config `--simulate` runs with: the lavfi testsrc2 + sine source and the simulated microphone.
 * A camera size left at its default becomes 320x240 at 10 fps, 300 kbit/s (a few percent of one core,
 * so the demo and the tests keep media on), and the ring moves from the shared /dev/shm folder into the
 * agent's data folder so several simulated agents on one machine do not share a ring.
 */
export function simulatedMediaConfig(config: AgentConfig): MediaConfig {
  const media = config.media
  const isDefaultSize = media.widthPx === 1280 && media.heightPx === 720 && media.frameRate === 15
  return {
    ...media,
    source: 'simulated',
    ...(isDefaultSize ? { widthPx: 320, heightPx: 240, frameRate: 10, videoBitrateKbps: 300 } : {}),
    ring: {
      ...media.ring,
      dir: media.ring.dir === '/dev/shm/doorbell-ring' ? join(config.dataDir, 'ring') : media.ring.dir,
    },
    microphone: { ...media.microphone, source: 'simulated' },
  }
}

/** The live config `--simulate` runs with: the simulated speaker (a WAV file in the data folder). */
export function simulatedLiveConfig(config: AgentConfig): LiveConfig {
  return { ...config.live, speaker: { ...config.live.speaker, source: 'simulated' } }
}
