import { join } from 'node:path'
import { Level } from 'level'
import { ulid } from 'ulid'
import { afterAll, describe, expect, it } from 'vitest'
import { newClipRecord, withClipState } from '../../../collector/store/clip-record.js'
import type { ChunkReceipt, StoredEvent } from '../../../collector/store/event-store.js'
import { chunkKey } from '../../../collector/store/level-event-keys.js'
import { LevelEventStore } from '../../../collector/store/level-event-store.js'
import { manifestAt, tempDir } from '../collector-harness.js'

const DAY_MS = 86_400_000
const nowMs = Date.UTC(2026, 5, 1)
const retention = { high: 0, medium: 0, low: DAY_MS }

/** A clip whose ids (clip, manifest, chunks) carry the time atMs; ulid() is not monotonic, so any time works. */
function clipAt(atMs: number, chunkCount: number) {
  const envelope = manifestAt(atMs, {
    bytes: chunkCount * 10,
    sha256: 'a'.repeat(64),
    chunkBytes: 10,
    chunkCount,
  })
  const { clipId } = envelope.payload
  const manifest: StoredEvent = { ...envelope, receivedAtMs: atMs + 10_000 }
  const chunks: ChunkReceipt[] = Array.from({ length: chunkCount }, (_, index) => ({
    id: ulid(atMs + 11_000),
    deviceId: 'porch',
    clipId,
    index,
    size: 10,
  }))
  const record = newClipRecord('porch', envelope.id, envelope.payload)
  return { clipId, manifest, chunks, record }
}

/** Every key of the Level database at path (the store must be closed). */
async function keysAt(path: string): Promise<string[]> {
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' })
  try {
    return await db.keys().all()
  } finally {
    await db.close()
  }
}

/** The keys that name a clip or one of its chunks, by prefix (`k!`, `kc!`, `cr!`, `clip!`). */
function keysOfClip(keys: readonly string[], clip: ReturnType<typeof clipAt>): Record<string, number> {
  const counts: Record<string, number> = { 'k!': 0, 'kc!': 0, 'cr!': 0, 'clip!': 0 }
  const chunkKeys = new Set(clip.chunks.map((chunk) => chunkKey(chunk.id)))
  for (const key of keys) {
    if (chunkKeys.has(key)) counts['k!'] = (counts['k!'] ?? 0) + 1
    else if (key.includes(clip.clipId)) {
      const prefix = `${key.split('!')[0]}!`
      counts[prefix] = (counts[prefix] ?? 0) + 1
    }
  }
  return counts
}

describe('Level retention sweep', () => {
  const dir = tempDir('retention-sweep')
  afterAll(() => dir.cleanup())

  it('deletes every key of an expired clip in its batch and leaves live clips and young orphans alone', async () => {
    const path = join(dir.path, 'events')
    const expired = clipAt(nowMs - 3 * DAY_MS, 3)
    // Sent again lately (clip.resend gives chunks new ids): its id is younger than the retention cutoff.
    expired.chunks[2] = { ...(expired.chunks[2] as ChunkReceipt), id: ulid(nowMs - 60_000) }
    const live = clipAt(nowMs - 60 * 60_000, 2)
    const oldOrphan = clipAt(nowMs - 2 * DAY_MS, 2)
    const youngOrphan = clipAt(nowMs - 60_000, 1)
    const leaked = clipAt(nowMs - 5 * DAY_MS, 1)
    // A `k!` key left by a sweep before this fix: its clip and per-clip index are gone already.
    const raw = new Level<string, string>(path, { valueEncoding: 'utf8' })
    const [leakedChunk] = leaked.chunks
    await raw.put(chunkKey(leakedChunk?.id as string), JSON.stringify(leakedChunk))
    await raw.close()

    const store = await LevelEventStore.open({ path, isSyncWrite: false })
    await store.commit({
      events: [expired.manifest, live.manifest],
      chunks: [...expired.chunks, ...live.chunks, ...oldOrphan.chunks, ...youngOrphan.chunks],
    })
    // The expired clip awaits a resend, so it has a `cr!` key too.
    await store.saveClip(withClipState(expired.record, { state: 'awaiting-resend', resendCount: 1 }))
    expect(keysOfClip(await storeKeys(store, path), expired)).toEqual({
      'k!': 3,
      'kc!': 3,
      'cr!': 1,
      'clip!': 1,
    })

    const reopened = await LevelEventStore.open({ path, isSyncWrite: false })
    const result = await reopened.sweepRetention(nowMs, retention)
    await reopened.close()

    expect(result.deletedCount).toBe(1)
    expect(result.expiredClips.map((clip) => clip.clipId).sort()).toEqual(
      [expired.clipId, oldOrphan.clipId, leaked.clipId].sort(),
    )
    const keys = await keysAt(path)
    const none = { 'k!': 0, 'kc!': 0, 'cr!': 0, 'clip!': 0 }
    expect(keysOfClip(keys, expired)).toEqual(none)
    expect(keys.filter((key) => key.includes(expired.manifest.id))).toEqual([])
    expect(keysOfClip(keys, oldOrphan)).toEqual(none)
    expect(keysOfClip(keys, leaked)).toEqual(none)
    expect(keysOfClip(keys, live)).toEqual({ 'k!': 2, 'kc!': 2, 'cr!': 0, 'clip!': 1 })
    // A chunk may come before its manifest: a young clip without a record keeps its receipt.
    expect(keysOfClip(keys, youngOrphan)).toEqual({ 'k!': 1, 'kc!': 1, 'cr!': 0, 'clip!': 0 })
    // Only the live clip's and the young orphan's receipts are left in the whole store.
    expect(keys.filter((key) => key.startsWith('k!'))).toHaveLength(3)
    expect(keys.filter((key) => key.startsWith('kc!'))).toHaveLength(3)
    expect(keys.filter((key) => key.startsWith('clip!'))).toEqual([`clip!${live.clipId}`])
    expect(keys.filter((key) => key.startsWith('cr!'))).toEqual([])
  })

  it('keeps every clip key when the low class is kept forever', async () => {
    const path = join(dir.path, 'forever')
    const old = clipAt(nowMs - 30 * DAY_MS, 2)
    const orphan = clipAt(nowMs - 30 * DAY_MS, 1)
    const store = await LevelEventStore.open({ path, isSyncWrite: false })
    await store.commit({
      events: [old.manifest],
      chunks: [...old.chunks, ...orphan.chunks],
    })
    const result = await store.sweepRetention(nowMs, { ...retention, low: 0 })
    await store.close()
    expect(result).toEqual({ deletedCount: 0, expiredClips: [] })
    const keys = await keysAt(path)
    expect(keysOfClip(keys, old)).toEqual({ 'k!': 2, 'kc!': 2, 'cr!': 0, 'clip!': 1 })
    expect(keysOfClip(keys, orphan)).toEqual({ 'k!': 1, 'kc!': 1, 'cr!': 0, 'clip!': 0 })
  })
})

/** Closes the store and lists its keys. */
async function storeKeys(store: LevelEventStore, path: string): Promise<string[]> {
  await store.close()
  return keysAt(path)
}
