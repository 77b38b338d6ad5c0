import type { Level } from 'level'
import { eventClasses, eventIdTimeMs, ulidTimePrefix } from '../../shared/protocol/index.js'
import type { ChunkReceipt, RetentionMs, RetentionResult, StoredEvent } from './event-store.js'
import {
  chunkKey,
  classKey,
  clipChunkKey,
  clipChunkPrefix,
  clipKey,
  deviceKey,
  eventKey,
  resendKey,
} from './level-event-keys.js'

/** A chained batch of the store's Level database. */
export type ChainedBatch = ReturnType<Level<string, string>['batch']>

/** A clip whose metadata the sweep deleted; the clip store deletes its files. */
type ExpiredClip = RetentionResult['expiredClips'][number]

const retentionPage = 500

/**
 * Queues the deletion of a clip's chunk receipts: the per-clip index `kc!<clipId>!*` and the `k!<chunkId>`
 * dedup keys it names. Used when a clip is asked for again (its chunks must be stored anew) and when
 * retention removes it (else one `k!` key per chunk of every clip would stay for ever).
 */
export async function delChunkReceipts(
  db: Level<string, string>,
  chained: ChainedBatch,
  clipId: string,
): Promise<void> {
  const prefix = clipChunkPrefix(clipId)
  for await (const [key, chunkId] of db.iterator({ gte: prefix, lt: `${prefix}~` })) {
    chained.del(key)
    chained.del(chunkKey(chunkId))
  }
}

/**
 * One retention pass over the Level store. Each class index is walked up to its cutoff; an expired
 * clip.manifest takes its clip with it in the same batch (`clip!`, `cr!`, `kc!` and `k!` keys). Then
 * receipts of chunks that belong to no clip and are past the low-class retention go too (orphans).
 */
export async function sweepLevelRetention(
  db: Level<string, string>,
  nowMs: number,
  retention: RetentionMs,
): Promise<RetentionResult> {
  let deletedCount = 0
  const expiredClips: ExpiredClip[] = []
  for (const eventClass of eventClasses) {
    const keepMs = retention[eventClass]
    if (!keepMs) continue
    const prefix = classKey(eventClass, '')
    const cutoff = prefix + ulidTimePrefix(nowMs - keepMs)
    for (;;) {
      const keys = await db.keys({ gte: prefix, lt: cutoff, limit: retentionPage }).all()
      if (keys.length === 0) break
      const ids = keys.map((key) => key.slice(prefix.length))
      const values = await db.getMany(ids.map(eventKey))
      const chained = db.batch()
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as string
        chained.del(keys[i] as string)
        const value = values[i]
        if (value === undefined) continue
        const event = JSON.parse(value) as StoredEvent
        chained.del(eventKey(id))
        chained.del(deviceKey(event.deviceId, id))
        if (event.type === 'clip.manifest') {
          const clipId = event.payload.clipId
          expiredClips.push({ deviceId: event.deviceId, clipId })
          chained.del(clipKey(clipId))
          chained.del(resendKey(event.deviceId, clipId))
          await delChunkReceipts(db, chained, clipId)
        }
        deletedCount += 1
      }
      await chained.write()
    }
  }
  if (retention.low) expiredClips.push(...(await sweepOrphanReceipts(db, nowMs - retention.low)))
  return { deletedCount, expiredClips }
}

/**
 * Deletes the receipts (`k!`, `kc!`) of chunks whose clip has no record and started before cutoffMs:
 * a chunk committed while the sweep was removing its clip, a chunk sent before a manifest that never
 * came, and the `k!` keys that sweeps before this one left behind. Chunk ids are ULIDs, so `k!` is walked
 * only up to the cutoff, and once a pass has run only receipts of live clips remain below it.
 */
async function sweepOrphanReceipts(db: Level<string, string>, cutoffMs: number): Promise<ExpiredClip[]> {
  const orphans = new Map<string, ExpiredClip>()
  const high = chunkKey(ulidTimePrefix(cutoffMs))
  let after: string | undefined
  for (;;) {
    const range = after === undefined ? { gte: chunkKey('') } : { gt: after }
    const entries = await db.iterator({ ...range, lt: high, limit: retentionPage }).all()
    const last = entries.at(-1)
    if (!last) break
    after = last[0]
    const receipts = entries.map(([, value]) => JSON.parse(value) as ChunkReceipt)
    const clipIds = [...new Set(receipts.map((receipt) => receipt.clipId))]
    const hasRecord = await db.hasMany(clipIds.map(clipKey))
    const kept = new Set(clipIds.filter((_, i) => hasRecord[i]))
    const chained = db.batch()
    for (const receipt of receipts) {
      if (kept.has(receipt.clipId) || eventIdTimeMs(receipt.clipId) >= cutoffMs) continue
      chained.del(chunkKey(receipt.id))
      chained.del(clipChunkKey(receipt.clipId, receipt.index))
      orphans.set(receipt.clipId, { deviceId: receipt.deviceId, clipId: receipt.clipId })
    }
    if (chained.length > 0) await chained.write()
    else await chained.close()
  }
  return [...orphans.values()]
}
