import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type RunningAgent, startAgent } from '../../../agent/agent.js'
import { SystemClock } from '../../../agent/clock/clock.js'
import type { AgentConfigInput } from '../../../agent/config/agent-config.js'
import { createSimulatedHardware, type SimulatedHardware } from '../../../agent/hardware.js'
import { createMediaDeps } from '../../../agent/media/create-media.js'
import { newEventId } from '../../../shared/protocol/index.js'
import { testAgentConfig } from './agent-config.js'

/** An in-process agent with media wired (camera off unless asked) over the real MQTT uplink. */
export async function startMediaAgent(options: {
  readonly url: string
  readonly secret: string
  readonly dataDir: string
  readonly media?: AgentConfigInput['media']
}): Promise<{ agent: RunningAgent; hardware: SimulatedHardware }> {
  const clock = new SystemClock()
  const hardware = createSimulatedHardware(clock)
  const config = testAgentConfig({
    mqtt: { url: options.url, username: 'front-door', password: options.secret },
    dataDir: options.dataDir,
    gpio: { button: { line: 17, debounceMs: 0 } },
    media: { enabled: false, microphone: { enabled: false }, ...options.media },
  })
  const agent = await startAgent(config, {
    hardware,
    clock,
    media: createMediaDeps(config),
    drainTimeoutMs: 0,
  })
  return { agent, hardware }
}

/** Puts a random "clip" of `bytes` into the agent's clip store and records its manifest. */
export async function enqueueRandomClip(
  agent: RunningAgent,
  bytes: number,
): Promise<{ clipId: string; sha256: string; chunkCount: number }> {
  const media = agent.media
  if (!media) throw new Error('agent has no media')
  const clipId = newEventId()
  const data = randomBytes(bytes)
  const path = join(media.service.store.dir, `${clipId}.mp4`)
  writeFileSync(path, data)
  const now = Date.now()
  const stored = await media.enqueueClip({
    clipId,
    path,
    bytes,
    startedAtMs: now - 15_000,
    durationMs: 15_000,
    prerollMs: 5_000,
    hasAudio: false,
    triggerAtMs: now - 10_000,
  })
  if (!stored) throw new Error('clip was not stored')
  return {
    clipId,
    sha256: createHash('sha256').update(data).digest('hex'),
    chunkCount: stored.upload.description.chunkCount,
  }
}
