import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { type RunningAgent, startAgent } from '../../../agent/agent.js'
import { SystemClock } from '../../../agent/clock/clock.js'
import type { AgentConfigInput } from '../../../agent/config/agent-config.js'
import { createSimulatedHardware, type SimulatedHardware } from '../../../agent/hardware.js'
import { createMediaDeps } from '../../../agent/media/create-media.js'
import { type CollectorOptions, type RunningCollector, startCollector } from '../../../collector/main.js'
import { newEventId } from '../../../shared/protocol/index.js'
import { addDevice, tempDir, testConfig } from '../../collector/collector-harness.js'
import { eventually } from '../../support/eventually.js'
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

/** A started collector with device `front-door` registered and an in-process media agent online on it. */
export interface CollectorWithMediaAgent {
  readonly collector: RunningCollector
  readonly collectorDir: string
  readonly agent: RunningAgent
  readonly hardware: SimulatedHardware
  /** Starts the agent again on the same data folder (after its close), connected to `collector`. */
  startAgent(collector: RunningCollector): Promise<RunningAgent>
}

/**
 * Call inside a describe: each test's start() makes a temp folder, a collector and a media agent; they
 * are closed and removed after the test, including a collector or agent the test put in their place.
 */
export function collectorWithMediaAgent() {
  const rig = {
    collector: undefined as RunningCollector | undefined,
    agent: undefined as RunningAgent | undefined,
    cleanup: undefined as (() => void) | undefined,
    async start(
      name: string,
      options: {
        readonly config?: Parameters<typeof testConfig>[1]
        readonly deps?: (collectorDir: string) => CollectorOptions
        readonly media?: AgentConfigInput['media']
      } = {},
    ): Promise<CollectorWithMediaAgent> {
      const dir = tempDir(name)
      rig.cleanup = dir.cleanup
      const collectorDir = join(dir.path, 'collector')
      const secret = await addDevice(collectorDir, 'front-door')
      const collector = await startCollector(
        testConfig(collectorDir, options.config),
        options.deps?.(collectorDir),
      )
      rig.collector = collector
      let hardware: SimulatedHardware | undefined
      const startOn = async (on: RunningCollector): Promise<RunningAgent> => {
        const started = await startMediaAgent({
          url: `mqtt://127.0.0.1:${on.mqttPort}`,
          secret,
          dataDir: join(dir.path, 'agent'),
          ...(options.media ? { media: options.media } : {}),
        })
        rig.agent = started.agent
        hardware = started.hardware
        await eventually(() => started.agent.uplink.isOnline, 'agent online', 5_000)
        return started.agent
      }
      const agent = await startOn(collector)
      return { collector, collectorDir, agent, hardware: hardware as SimulatedHardware, startAgent: startOn }
    },
  }
  afterEach(async () => {
    await rig.agent?.close()
    await rig.collector?.close()
    rig.cleanup?.()
    rig.agent = undefined
    rig.collector = undefined
    rig.cleanup = undefined
  })
  return rig
}
