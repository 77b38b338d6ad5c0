import { describe, expect, it } from 'vitest'
import { startAgent } from '../../../agent/agent.js'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { createSimulatedHardware } from '../../../agent/hardware.js'
import type { ClipTrigger } from '../../../agent/media/clip-recorder.js'
import type { MediaPorts, MediaService } from '../../../agent/media/media-service.js'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import { LoopbackUplink } from '../../../agent/uplink/loopback-uplink.js'
import { createEnvelope, type Envelope } from '../../../shared/protocol/index.js'
import { testAgentConfig } from '../support/agent-config.js'

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** A media service that records calls, so the wiring is checked without ffmpeg. */
function fakeMedia(order: string[]) {
  let ports: MediaPorts | undefined
  const service = {
    store: { list: () => [], get: () => undefined },
    start: async () => undefined,
    stop: async () => undefined,
    stats: () => ({ ring: { segments: 3, bytes: 0, pinned: 0, evicted: 0 }, clips: 1, clipBytes: 1000 }),
    snapshot: async (relatesTo?: string) => {
      order.push(`snapshot ${relatesTo ?? '-'}`)
      return undefined
    },
    trigger: (t: ClipTrigger) => {
      order.push(`trigger ${t.relatesTo}`)
      return { snapshot: Promise.resolve(undefined), clip: Promise.resolve(undefined) }
    },
  }
  return {
    factory: (p: MediaPorts) => {
      ports = p
      return service as unknown as MediaService
    },
    ports: () => ports as MediaPorts,
  }
}

async function setup(order: string[]) {
  const clock = new ManualClock()
  const hardware = createSimulatedHardware(clock)
  const uplink = new LoopbackUplink('front-door')
  const publish = uplink.publish.bind(uplink)
  uplink.publish = (topic, payload) => {
    order.push(`publish ${topic.split('/').slice(3).join('/')}`)
    return publish(topic, payload)
  }
  const media = fakeMedia(order)
  const agent = await startAgent(
    testAgentConfig({
      mqtt: { url: 'loopback:' },
      gpio: { button: { line: 17, debounceMs: 0 } },
      health: { intervalMs: 1000 },
    }),
    {
      hardware,
      clock,
      uplink,
      store: new MemoryOutboxStore(),
      drainTimeoutMs: 0,
      media: { service: media.factory },
    },
  )
  return { clock, hardware, uplink, agent, media }
}

describe('media wired into the agent', () => {
  it('starts a press’s snapshot and clip only after the press is handed to the uplink', async () => {
    const order: string[] = []
    const { hardware, agent } = await setup(order)
    await settle()
    order.length = 0
    hardware.button.pulse(100)
    await settle()
    const pressId = order.find((o) => o.startsWith('trigger'))?.split(' ')[1]
    expect(order.slice(0, 2)).toEqual(['publish event/high', `trigger ${pressId}`])
    await agent.close()
  })

  it('triggers media for an armed motion but not for an unarmed one', async () => {
    const order: string[] = []
    const { hardware, agent, clock } = await setup(order)
    await settle()
    hardware.motion.pulse(100)
    clock.advance(1000)
    await settle()
    expect(order.filter((o) => o.startsWith('trigger'))).toEqual([])
    agent.setArmed(true)
    hardware.motion.pulse(100)
    await settle()
    expect(order.filter((o) => o.startsWith('trigger'))).toHaveLength(1)
    await agent.close()
  })

  it('records the snapshot as medium relating to the press, the manifest as low, and snapshots on command', async () => {
    const order: string[] = []
    const { uplink, agent, media, clock } = await setup(order)
    await settle()
    const payload = {
      relatesTo: '01M81B5H80202PND6RP6J5ZMW3',
      contentType: 'image/jpeg' as const,
      bytes: 3,
      sha256: 'a'.repeat(64),
      data: Buffer.from([1, 2, 3]).toString('base64'),
    }
    media.ports().onSnapshot(payload, { jpeg: Buffer.from([1, 2, 3]) } as never)
    await settle()
    const snapshot = [...uplink.stored.values()].find((e) => e.type === 'snapshot')
    expect(snapshot?.class).toBe('medium')
    expect((snapshot as Envelope<'snapshot'>).payload.relatesTo).toBe(payload.relatesTo)

    const command = createEnvelope({
      deviceId: 'front-door',
      seq: 0,
      type: 'command',
      payload: { name: 'snapshot' },
    })
    uplink.emit('message', 'command', Buffer.from(JSON.stringify(command)))
    expect(order).toContain('snapshot -')

    clock.advance(1000)
    await settle()
    const health = [...uplink.stored.values()].find((e): e is Envelope<'health'> => e.type === 'health')
    expect(health?.payload.media).toEqual({ clips: 1, clipBytes: 1000, segments: 3 })
    await agent.close()
  })
})
