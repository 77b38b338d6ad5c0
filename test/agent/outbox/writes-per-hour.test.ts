import { describe, expect, it } from 'vitest'
import { startAgent } from '../../../agent/agent.js'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { createSimulatedHardware } from '../../../agent/hardware.js'
import { MemoryOutboxStore } from '../../../agent/outbox/memory-outbox-store.js'
import type { OutboxWrite } from '../../../agent/outbox/outbox-store.js'
import { LoopbackUplink } from '../../../agent/uplink/loopback-uplink.js'
import { testAgentConfig } from '../support/agent-config.js'

class CountingStore extends MemoryOutboxStore {
  synced = 0
  unsynced = 0
  override async write(change: OutboxWrite, options: { readonly sync: boolean }): Promise<void> {
    if (options.sync) this.synced++
    else this.unsynced++
    await super.write(change, options)
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('outbox writes per hour with the default settings (docs/agent-outbox.md)', () => {
  it('stays at about 4 writes a minute when every reading changes, and 2 per press', async () => {
    const clock = new ManualClock()
    const hardware = createSimulatedHardware(clock)
    const store = new CountingStore()
    const config = testAgentConfig({
      mqtt: { url: 'loopback:' },
      medium: {},
      sensors: {},
      health: {},
    })
    const agent = await startAgent(config, {
      hardware,
      clock,
      store,
      uplink: new LoopbackUplink('front-door'),
    })
    for (let s = 0; s < 3600; s += 5) {
      hardware.temperature.celsius = 15 + (s % 600) / 60
      hardware.light.lux = 100 + s
      clock.advance(5_000)
      await settle()
    }
    const mediumWrites = store.unsynced
    for (let i = 0; i < 10; i++) {
      hardware.button.pulse(100)
      clock.advance(1_000)
      await settle()
    }
    await agent.close()
    // 120 temperature + 120 light + 60 health readings: one batch write per 30 s sample round, one delete per ack.
    expect(mediumWrites).toBeLessThanOrEqual(2 * 125)
    expect(store.synced).toBe(10)
  })
})
