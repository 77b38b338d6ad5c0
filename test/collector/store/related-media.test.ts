import { describe, expect, it } from 'vitest'
import { MemoryEventStore } from '../../../collector/store/memory-event-store.js'
import {
  findRelatedMedia,
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
})
