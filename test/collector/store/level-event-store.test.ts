import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../../collector/store/event-store.js'
import { LevelEventStore } from '../../../collector/store/level-event-store.js'
import { createEnvelope, newEventId } from '../../../shared/protocol/index.js'
import { tempDir } from '../collector-harness.js'

const baseMs = Date.UTC(2026, 0, 1)
const DAY_MS = 86_400_000

function stored(
  deviceId: string,
  seq: number,
  atMs: number,
  type: 'temperature' | 'button.press',
): StoredEvent {
  const envelope =
    type === 'temperature'
      ? createEnvelope({ deviceId, seq, type, payload: { celsius: 20, sensor: 's' }, capturedAtMs: atMs })
      : createEnvelope({ deviceId, seq, type, payload: {}, capturedAtMs: atMs })
  return { ...envelope, receivedAtMs: atMs }
}

describe('LevelEventStore', () => {
  const dir = tempDir('store')
  let store: LevelEventStore
  const events: StoredEvent[] = []

  // Created once: newEventId is monotonic per process, so ids for earlier times made later would carry
  // the later time.
  beforeAll(() => {
    for (let i = 0; i < 30; i++) {
      const device = i % 2 === 0 ? 'front' : 'back'
      events.push(stored(device, i, baseMs + i * 60_000, i % 3 === 0 ? 'button.press' : 'temperature'))
    }
  })

  beforeEach(async () => {
    store = await LevelEventStore.open({ path: join(dir.path, String(Math.random())), isSyncWrite: false })
    await store.commit({ events, chunks: [], clips: [] })
  })

  afterEach(async () => {
    await store.close()
  })

  afterAll(() => dir.cleanup())

  it('finds stored ids for deduplication', async () => {
    const found = await store.findExisting([events[0]?.id as string, '01ARZ3NDEKTSV4RRFFQ69G5FAV'], [])
    expect([...found]).toEqual([events[0]?.id])
  })

  it('pages through one device with a cursor, oldest first', async () => {
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.queryEvents({ deviceId: 'front', limit: 4, ...(cursor ? { cursor } : {}) })
      seen.push(...page.items.map((e) => e.id))
      cursor = page.nextCursor
    } while (cursor)
    expect(seen).toEqual(events.filter((e) => e.deviceId === 'front').map((e) => e.id))
  })

  it('filters by type, class and time range, newest first', async () => {
    const page = await store.queryEvents({
      type: 'button.press',
      fromMs: baseMs + 5 * 60_000,
      toMs: baseMs + 20 * 60_000,
      isNewestFirst: true,
    })
    expect(page.items.map((e) => e.seq)).toEqual([18, 15, 12, 9, 6])
    const high = await store.queryEvents({ eventClass: 'high', deviceId: 'back', limit: 100 })
    expect(high.items.map((e) => e.seq)).toEqual([3, 9, 15, 21, 27])
    expect(high.nextCursor).toBeUndefined()
  })

  it('deletes events past the retention of their class only', async () => {
    const nowMs = baseMs + 10 * DAY_MS
    const result = await store.sweepRetention(nowMs, { high: 0, medium: 5 * DAY_MS, low: DAY_MS })
    expect(result.deletedCount).toBe(20)
    const left = await store.queryEvents({ limit: 100 })
    expect(left.items.every((e) => e.class === 'high')).toBe(true)
    expect(left.items).toHaveLength(10)
    expect(await store.getEvent(events[1]?.id as string)).toBeUndefined()
  })

  it('forgets the chunk receipts of a clip sent again and lists the clips awaiting a resend', async () => {
    const clipId = newEventId()
    const otherClipId = newEventId()
    const receipt = (clip: string, index: number) => ({
      id: newEventId(),
      deviceId: 'front',
      clipId: clip,
      index,
      size: 10,
    })
    const chunks = [receipt(clipId, 0), receipt(clipId, 1), receipt(otherClipId, 0)]
    const record = { clipId, deviceId: 'front', isComplete: false }
    await store.commit({ events: [], chunks, clips: [record, { ...record, clipId: otherClipId }] })
    await store.forgetClipChunks({ ...record, isAwaitingResend: true, resendCount: 1 })

    const ids = chunks.map((c) => c.id)
    expect([...(await store.findExisting([], ids))]).toEqual([chunks[2]?.id])
    expect(await store.listChunkIndexes(clipId)).toEqual([])
    expect(await store.listChunkIndexes(otherClipId)).toEqual([0])
    expect((await store.listClipsAwaitingResend('front')).map((c) => c.clipId)).toEqual([clipId])
    expect(await store.listClipsAwaitingResend('back')).toEqual([])

    await store.commit({ events: [], chunks: [], clips: [{ ...record, isComplete: true, resendCount: 1 }] })
    expect(await store.listClipsAwaitingResend('front')).toEqual([])
  })
})
