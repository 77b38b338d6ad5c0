import { describe, expect, it } from 'vitest'
import type { EventQuery, EventStore, StoredEvent } from '../../../collector/store/event-store.js'
import { MemoryEventStore } from '../../../collector/store/memory-event-store.js'
import {
  findRelatedMedia,
  findRelatedMediaOfEach,
  findSnapshotOf,
  relatedMediaWindowMs,
} from '../../../collector/store/related-media.js'
import { baseMs, clipAt, pressAt, snapshotAt } from './contracts/event-fixtures.js'

describe('related media', () => {
  it("finds the snapshots and clips of the event's device that name it, up to the window after it", async () => {
    const store = new MemoryEventStore()
    const press = pressAt('porch', 1, baseMs)
    const snapshot = snapshotAt('porch', 2, baseMs + 2_000, press.id)
    // A clip with the longest postroll the agent accepts (300 s) is minted minutes after its press.
    const longClip = clipAt('porch', baseMs + 290_000, 1, press.id)
    const lateSnapshot = snapshotAt('porch', 3, baseMs + 90_000, press.id)
    const otherPress = snapshotAt('porch', 4, baseMs + 3_000, pressAt('porch', 9, baseMs + 1).id)
    const otherDevice = snapshotAt('garage', 5, baseMs + 4_000, press.id)
    const tooLate = snapshotAt('porch', 6, baseMs + relatedMediaWindowMs + 1, press.id)
    await store.commit({
      events: [press, snapshot, longClip.manifest, lateSnapshot, otherPress, otherDevice, tooLate],
      chunks: [],
    })
    const related = await findRelatedMedia(store, press)
    expect(related.snapshots.map((e) => e.id)).toEqual([snapshot.id, lateSnapshot.id])
    expect(related.clipManifests.map((e) => e.payload.clipId)).toEqual([longClip.clipId])
    expect((await findSnapshotOf(store, press))?.id).toBe(snapshot.id)
  })

  it('takes a snapshot event as its own snapshot', async () => {
    const store = new MemoryEventStore()
    const press = pressAt('porch', 1, baseMs)
    const snapshot = snapshotAt('porch', 2, baseMs + 2_000, press.id)
    await store.commit({ events: [press, snapshot], chunks: [] })
    expect((await findRelatedMedia(store, snapshot)).snapshots.map((e) => e.id)).toEqual([snapshot.id])
    expect((await findSnapshotOf(store, snapshot))?.id).toBe(snapshot.id)
    expect(await findSnapshotOf(store, pressAt('porch', 3, baseMs + 5))).toBeUndefined()
  })

  it('finds the media of a page of events as one lookup per event would, reading each window once', async () => {
    const store = new MemoryEventStore()
    const queries: EventQuery[] = []
    const counting: EventStore = Object.assign(Object.create(store), {
      queryEvents: (q: EventQuery) => {
        queries.push(q)
        return store.queryEvents(q)
      },
    })
    // Presses a minute apart on the porch (windows overlap), one on the garage, one hours later.
    const presses = [0, 60_000, 120_000].map((t, i) => pressAt('porch', 10 + i, baseMs + t))
    const garage = pressAt('garage', 1, baseMs + 30_000)
    const later = pressAt('porch', 20, baseMs + 5 * 60 * 60_000)
    const [p0, p1, p2] = presses as [StoredEvent, StoredEvent, StoredEvent]
    const media = [
      snapshotAt('porch', 30, baseMs + 1_000, p0.id),
      snapshotAt('porch', 31, baseMs + 61_000, p1.id),
      clipAt('porch', baseMs + 200_000, 32, p0.id).manifest,
      // Names p2 but lies before it: outside p2's window, as for a lookup of p2 alone.
      snapshotAt('porch', 33, baseMs + 100_000, p2.id),
      // Names the garage press from the porch: another device's media never count.
      snapshotAt('porch', 34, baseMs + 31_000, garage.id),
      snapshotAt('garage', 35, baseMs + 32_000, garage.id),
      snapshotAt('porch', 36, baseMs + 5 * 60 * 60_000 + 500, later.id),
    ]
    await store.commit({ events: [...presses, garage, later, ...media], chunks: [] })
    const page = [...presses, garage, later]
    const each = await findRelatedMediaOfEach(counting, page)
    for (const event of page) {
      const one = await findRelatedMedia(store, event)
      const many = each.get(event.id)
      expect(
        many?.snapshots.map((e) => e.id),
        event.id,
      ).toEqual(one.snapshots.map((e) => e.id))
      expect(
        many?.clipManifests.map((e) => e.id),
        event.id,
      ).toEqual(one.clipManifests.map((e) => e.id))
    }
    expect(each.get(p0.id)?.clipManifests).toHaveLength(1)
    expect(each.get(p2.id)?.snapshots).toEqual([])
    // Porch: the three overlapping windows as one read, the later press's as another; the garage's one.
    expect(queries.map((q) => [q.deviceId, q.fromMs, q.toMs])).toEqual([
      ['porch', baseMs, baseMs + 120_000 + relatedMediaWindowMs],
      ['porch', baseMs + 5 * 60 * 60_000, baseMs + 5 * 60 * 60_000 + relatedMediaWindowMs],
      ['garage', baseMs + 30_000, baseMs + 30_000 + relatedMediaWindowMs],
    ])
  })
})
