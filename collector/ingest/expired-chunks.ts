import { eventIdTimeMs } from '../../shared/protocol/index.js'
import type { EventStore } from '../store/event-store.js'
import type { IngestItem } from './ingest-item.js'

/**
 * Ids of the chunks, among items about to be stored, whose clip retention has already removed: the clip
 * (its id is a ULID of its start) started before cutoffMs and has no record, because its manifest was
 * swept or never came. Storing them would leave receipts and a partial file that no manifest will ever
 * sweep, so they are refused (CLIP_EXPIRED). A manifest among the items counts as a record, and a young
 * clip needs no lookup at all, so a chunk may still arrive before its manifest.
 */
export async function findExpiredChunkIds(
  store: Pick<EventStore, 'findClips'>,
  items: readonly IngestItem[],
  existingIds: ReadonlySet<string>,
  cutoffMs: number,
): Promise<Set<string>> {
  const manifested = new Set<string>()
  for (const item of items) {
    if (item.kind === 'event' && item.event.type === 'clip.manifest')
      manifested.add(item.event.payload.clipId)
  }
  const old = items.flatMap((item) =>
    item.kind === 'chunk' &&
    !existingIds.has(item.envelope.id) &&
    !manifested.has(item.envelope.payload.clipId) &&
    eventIdTimeMs(item.envelope.payload.clipId) < cutoffMs
      ? [item.envelope]
      : [],
  )
  if (old.length === 0) return new Set()
  const known = await store.findClips([...new Set(old.map((chunk) => chunk.payload.clipId))])
  return new Set(old.filter((chunk) => !known.has(chunk.payload.clipId)).map((chunk) => chunk.id))
}
