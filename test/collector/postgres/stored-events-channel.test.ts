import { describe, expect, it } from 'vitest'
import { PostgresEventStore } from '../../../collector/postgres/postgres-event-store.js'
import {
  StoredEventsListener,
  storedEventsChannel,
} from '../../../collector/postgres/stored-events-channel.js'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { createEnvelope } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { usePostgresSuite } from './postgres-suite.js'

function pressed(deviceId: string, seq: number): StoredEvent {
  return { ...createEnvelope({ deviceId, seq, type: 'button.press', payload: {} }), receivedAtMs: Date.now() }
}

describe('stored events over LISTEN/NOTIFY', () => {
  const suite = usePostgresSuite()

  async function fleetOfTwo() {
    const url = await suite.freshDatabase()
    const notify = (nodeId: string) => ({ channel: storedEventsChannel, nodeId })
    const storeA = new PostgresEventStore(await suite.connect(url), { notify: notify('a') })
    const dbB = await suite.connect(url)
    const storeB = new PostgresEventStore(dbB, { notify: notify('b') })
    const heardByB: StoredEvent[] = []
    const resyncs: number[] = []
    const listenerB = new StoredEventsListener({
      url,
      db: dbB,
      nodeId: 'b',
      onEvents: (events) => heardByB.push(...events),
      onResync: () => resyncs.push(Date.now()),
      reconnectMs: 100,
    })
    await listenerB.start()
    return { storeA, storeB, listenerB, heardByB, resyncs }
  }

  it("shows node B the events node A committed, in id order, and not B's own", async () => {
    const { storeA, storeB, listenerB, heardByB } = await fleetOfTwo()
    try {
      const fromA = [pressed('porch', 1), pressed('porch', 2)]
      await storeA.commit({ events: fromA, chunks: [] })
      await storeB.commit({ events: [pressed('gate', 1)], chunks: [] })
      await eventually(() => heardByB.length >= 2, 'the events from node A')
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(heardByB).toEqual(fromA)
    } finally {
      await listenerB.stop()
    }
  })

  it('announces a commit too large for one notification in several, every event once', async () => {
    const { storeA, listenerB, heardByB } = await fleetOfTwo()
    try {
      const many = Array.from({ length: 1500 }, (_, i) => pressed('porch', i))
      await storeA.commit({ events: many, chunks: [] })
      await eventually(() => heardByB.length >= 1500, 'all 1500 events')
      expect(new Set(heardByB.map((e) => e.id)).size).toBe(1500)
    } finally {
      await listenerB.stop()
    }
  })

  it('listens again after PostgreSQL restarts, and says a resync is due', async () => {
    const { storeA, listenerB, heardByB, resyncs } = await fleetOfTwo()
    try {
      await suite.engine.stop()
      await suite.engine.start()
      await eventually(() => resyncs.length > 0, 'the listener to reconnect', 20_000)
      const after = pressed('porch', 9)
      await eventually(
        () =>
          storeA.commit({ events: [after], chunks: [] }).then(
            () => true,
            () => false,
          ),
        'a commit through the restarted server',
      )
      await eventually(() => heardByB.some((e) => e.id === after.id), 'the event stored after the restart')
    } finally {
      await listenerB.stop()
    }
  })
})
