import { describe, expect, it } from 'vitest'
import { ForwardDispatcher, type ForwardOutcome } from '../../../collector/forwarding/forward-dispatcher.js'
import type { Forwarder } from '../../../collector/forwarding/forwarder.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { press } from '../collector-harness.js'

const event = (seq: number): StoredEvent => ({ ...press('porch', seq), receivedAtMs: 0 })

describe('ForwardDispatcher', () => {
  it('keeps a fast forwarder going while a slow one is stuck, and drops the oldest beyond the queue limit', async () => {
    let release: () => void = () => {}
    const stuck = new Promise<void>((resolve) => {
      release = resolve
    })
    const fastSeen: number[] = []
    const slow: Forwarder = { name: 'slow', forward: () => stuck }
    const fast: Forwarder = { name: 'fast', forward: async (e) => void fastSeen.push(e.seq) }
    const outcomes: ForwardOutcome[] = []
    const dispatcher = new ForwardDispatcher({
      forwarders: [slow, fast],
      queueLimit: 3,
      onOutcome: (o) => outcomes.push(o),
    })
    const events = [0, 1, 2, 3, 4].map(event)
    for (const e of events) {
      dispatcher.dispatch(e)
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(fastSeen).toEqual([0, 1, 2, 3, 4])
    // slow holds event 0 in flight; its queue keeps the newest three (2, 3, 4), dropping 1.
    expect(outcomes.filter((o) => o.kind === 'dropped').map((o) => [o.forwarder, o.eventId])).toEqual([
      ['slow', events[1]?.id],
    ])
    release()
    await dispatcher.whenIdle()
    expect(outcomes.filter((o) => o.forwarder === 'slow' && o.kind === 'forwarded')).toHaveLength(4)
  })

  it('counts a failing forwarder and carries on', async () => {
    const outcomes: ForwardOutcome[] = []
    const failing: Forwarder = { name: 'broken', forward: async () => Promise.reject(new Error('down')) }
    const dispatcher = new ForwardDispatcher({
      forwarders: [failing],
      queueLimit: 10,
      onOutcome: (o) => outcomes.push(o),
    })
    dispatcher.dispatch(event(1))
    dispatcher.dispatch(event(2))
    await dispatcher.whenIdle()
    expect(outcomes.map((o) => o.kind)).toEqual(['failed', 'failed'])
  })
})
