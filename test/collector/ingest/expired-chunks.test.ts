import { ulid } from 'ulid'
import { describe, expect, it } from 'vitest'
import { findExpiredChunkIds } from '../../../collector/ingest/expired-chunks.js'
import type { IngestItem } from '../../../collector/ingest/ingest-item.js'
import { createEnvelope } from '../../../shared/protocol/index.js'
import { manifestAt } from '../collector-harness.js'

const DAY_MS = 86_400_000
const nowMs = Date.UTC(2026, 5, 1)
const cutoffMs = nowMs - DAY_MS

/** A chunk of clipId as the group commit sees it. */
function chunkOf(clipId: string): IngestItem & { kind: 'chunk' } {
  const envelope = createEnvelope({
    deviceId: 'porch',
    seq: 1,
    id: ulid(nowMs),
    type: 'clip.chunk',
    payload: { clipId, index: 0, offset: 0, size: 1, crc32: 0 },
  })
  return { kind: 'chunk', envelope, data: Buffer.alloc(1) }
}

/** A store with records of the given clips that remembers what it was asked. */
function storeWith(clipIds: readonly string[]) {
  const asked: string[][] = []
  return {
    asked,
    async findClips(ids: readonly string[]): Promise<Set<string>> {
      asked.push([...ids])
      return new Set(ids.filter((id) => clipIds.includes(id)))
    },
  }
}

describe('findExpiredChunkIds', () => {
  it('refuses only chunks of clips past the cutoff that have no record', async () => {
    const swept = chunkOf(ulid(nowMs - 3 * DAY_MS))
    const kept = chunkOf(ulid(nowMs - 3 * DAY_MS))
    const store = storeWith([kept.envelope.payload.clipId])
    const expired = await findExpiredChunkIds(store, [swept, kept], new Set(), cutoffMs)
    expect([...expired]).toEqual([swept.envelope.id])
  })

  it('lets a young clip send a chunk before its manifest without a lookup', async () => {
    const store = storeWith([])
    const early = chunkOf(ulid(nowMs - 60_000))
    expect((await findExpiredChunkIds(store, [early], new Set(), cutoffMs)).size).toBe(0)
    expect(store.asked).toEqual([])
  })

  it('counts a manifest in the same commit as a record, and leaves duplicates to be acked', async () => {
    const manifest = manifestAt(nowMs - 3 * DAY_MS, {
      bytes: 1,
      sha256: 'a'.repeat(64),
      chunkBytes: 8192,
      chunkCount: 1,
    })
    const withManifest = chunkOf(manifest.payload.clipId)
    const duplicate = chunkOf(ulid(nowMs - 3 * DAY_MS))
    const items: IngestItem[] = [
      { kind: 'event', event: { ...manifest, receivedAtMs: nowMs } },
      withManifest,
      duplicate,
    ]
    const store = storeWith([])
    const expired = await findExpiredChunkIds(store, items, new Set([duplicate.envelope.id]), cutoffMs)
    expect(expired.size).toBe(0)
    expect(store.asked).toEqual([])
  })
})
