import { describe, expect, it } from 'vitest'
import { startAgent } from '../../agent/agent.js'
import { ManualClock } from '../../agent/clock/manual-clock.js'
import { createSimulatedHardware } from '../../agent/hardware.js'
import { MemoryOutboxStore } from '../../agent/outbox/memory-outbox-store.js'
import { LoopbackUplink } from '../../agent/uplink/loopback-uplink.js'
import { createEnvelope, type Envelope } from '../../shared/protocol/index.js'
import { testAgentConfig } from './support/agent-config.js'

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function setup(overrides: Parameters<typeof testAgentConfig>[0] = { mqtt: { url: 'loopback:' } }) {
  const clock = new ManualClock()
  const hardware = createSimulatedHardware(clock)
  const uplink = new LoopbackUplink('front-door')
  const agent = await startAgent(testAgentConfig(overrides), {
    hardware,
    clock,
    uplink,
    store: new MemoryOutboxStore(),
    drainTimeoutMs: 0,
  })
  const stored = () => [...uplink.stored.values()]
  return { clock, hardware, uplink, agent, stored }
}

describe('agent', () => {
  it('sends a health heartbeat every interval with uptime, version and outbox depth per class', async () => {
    const { clock, agent, stored } = await setup({
      mqtt: { url: 'loopback:' },
      health: { intervalMs: 60_000 },
    })
    clock.advance(60_000)
    await settle()
    clock.advance(1_000)
    await settle()
    const health = stored().filter((e): e is Envelope<'health'> => e.type === 'health')
    expect(health.map((e) => e.payload.uptimeS)).toEqual([0, 60])
    expect(health[0]?.payload).toMatchObject({ version: '0.1.0', cpuTempC: 45, wifiRssiDbm: -58 })
    expect(health[0]?.payload.outbox).toEqual({ high: 0, medium: expect.any(Number), low: 0 })
    await agent.close()
  })

  it('sends motion as a high alert only while armed, and arms on a command from the collector', async () => {
    const { clock, hardware, uplink, agent, stored } = await setup()
    hardware.motion.pulse(500)
    clock.advance(1_000)
    await settle()
    const command = createEnvelope({
      deviceId: 'front-door',
      seq: 0,
      type: 'command',
      payload: { name: 'arm' },
    })
    uplink.emit('message', 'command', Buffer.from(JSON.stringify(command)))
    expect(agent.isArmed).toBe(true)
    hardware.motion.pulse(500)
    await settle()
    const motions = stored().filter((e) => e.type === 'motion')
    expect(motions.map((e) => e.class)).toEqual(['medium', 'high'])
    const topics = uplink.received
      .filter((m) => m.envelopes.some((e) => e.type === 'motion'))
      .map((m) => m.topic)
    expect(topics).toEqual(['doorbell/v1/front-door/batch/medium', 'doorbell/v1/front-door/event/high'])
    await agent.close()
  })

  it('publishes a press at once even while the medium window is full and unacked', async () => {
    const { clock, hardware, uplink, agent } = await setup({
      mqtt: { url: 'loopback:' },
      outbox: { mediumWindow: 100, sendBatchMaxItems: 50 },
    })
    await settle()
    uplink.isAcking = false
    await agent.outbox.record(
      Array.from({ length: 300 }, (_, i) => ({
        type: 'light' as const,
        payload: { lux: i, sensor: 's' },
        capturedAtMs: clock.now(),
      })),
    )
    await settle()
    const before = uplink.received.length
    hardware.button.pulse(100)
    await settle()
    expect(uplink.received.slice(before).map((m) => m.topic)).toEqual(['doorbell/v1/front-door/event/high'])
    await agent.close()
  })

  it('sends an unchanged temperature only again after maxSilenceMs', async () => {
    const { clock, agent, stored } = await setup({
      mqtt: { url: 'loopback:' },
      sensors: { temperature: { intervalMs: 30_000 }, light: { enabled: false } },
      medium: { batchIntervalMs: 1_000, maxSilenceMs: 120_000 },
    })
    for (let s = 0; s < 150; s += 10) {
      clock.advance(10_000)
      await settle()
    }
    expect(stored().filter((e) => e.type === 'temperature')).toHaveLength(2)
    await agent.close()
  })
})

describe('agent start', () => {
  it('gives a low-class factory the agent outbox', async () => {
    const clock = new ManualClock()
    let seen: unknown
    const agent = await startAgent(testAgentConfig({ mqtt: { url: 'loopback:' } }), {
      hardware: createSimulatedHardware(clock),
      clock,
      store: new MemoryOutboxStore(),
      uplink: new LoopbackUplink('front-door'),
      drainTimeoutMs: 0,
      lowClass: (outbox) => {
        seen = outbox
        return { next: async () => undefined, onAck: () => undefined, onOffline: () => undefined }
      },
    })
    expect(seen).toBe(agent.outbox)
    await agent.close()
  })

  it('fails, and releases the outbox, when the button cannot be watched', async () => {
    const clock = new ManualClock()
    const hardware = createSimulatedHardware(clock)
    const store = new MemoryOutboxStore()
    const broken = {
      ...hardware,
      button: {
        start: async () => {
          throw new Error('gpiomon: Permission denied')
        },
        close: async () => undefined,
      },
    }
    await expect(
      startAgent(testAgentConfig({ mqtt: { url: 'loopback:' } }), {
        hardware: broken,
        clock,
        store,
        uplink: new LoopbackUplink('front-door'),
      }),
    ).rejects.toThrow(/Permission denied/)
    await expect(store.readLastSeq()).rejects.toThrow(/not open/)
  })
})
