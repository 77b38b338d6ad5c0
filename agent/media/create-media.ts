import { Lpcm16Microphone } from '../audio/lpcm16-microphone.js'
import type { Microphone } from '../audio/microphone.js'
import { SimulatedMicrophone } from '../audio/simulated-microphone.js'
import type { AgentConfig } from '../config/agent-config.js'
import { RtpVideoTap } from '../live/rtp-video-tap.js'
import type { AgentMediaDeps } from './agent-media.js'
import { MediaService } from './media-service.js'

export { simulatedLiveConfig, simulatedMediaConfig } from './simulated-media-config.js'

/**
 * The agent's media collaborators for a config: the MediaService factory, the configured microphone and,
 * when live view is on, the tap the camera pipeline also writes its video to.
 */
export function createMediaDeps(config: AgentConfig): AgentMediaDeps {
  const liveTap = config.live.enabled && config.media.enabled ? new RtpVideoTap() : undefined
  const media = config.media
  const mic = media.microphone
  const microphone: Microphone | undefined = !mic.enabled
    ? undefined
    : mic.source === 'simulated'
      ? new SimulatedMicrophone({
          sampleRateHz: mic.sampleRateHz,
          toneHz: mic.simulatedToneHz,
          levelDbfs: mic.simulatedLevelDbfs,
        })
      : new Lpcm16Microphone({
          sampleRateHz: mic.sampleRateHz,
          device: mic.device,
          restartDelayMs: mic.restartDelayMs,
        })
  return {
    service: (ports) =>
      new MediaService({ config: media, dataDir: config.dataDir, ports, liveRtpPort: () => liveTap?.port }),
    ...(microphone ? { microphone } : {}),
    ...(liveTap ? { liveTap } : {}),
  }
}
