import { eventIdTimeMs } from '../../shared/protocol/index.js'
import type { IngestItem, Rejection } from './ingest-item.js'
import { itemDevice, itemId } from './ingest-item.js'
import type { InboundPublish, IngestDeps } from './publish-steps.js'

/**
 * The latest time an item claims, ms: its id's ULID time, its capture time, and for clip items the clip
 * id's time. Ids order the timeline and set retention, so a device that dates them ahead would pin its
 * events to the top and keep them past every retention.
 */
function claimedTimeMs(item: IngestItem): number {
  if (item.kind === 'chunk') {
    return Math.max(
      timeOf(item.envelope.id),
      timeOf(item.envelope.payload.clipId),
      Date.parse(item.envelope.capturedAt),
    )
  }
  const { event } = item
  const clipMs = event.type === 'clip.manifest' ? timeOf(event.payload.clipId) : 0
  return Math.max(timeOf(event.id), Date.parse(event.capturedAt), clipMs)
}

function timeOf(ulid: string): number {
  try {
    return eventIdTimeMs(ulid)
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

/**
 * Refuses, with retry (CLOCK_AHEAD), every item dated more than limits.maxClockAheadMs ahead of the
 * collector's clock. Refused rather than clamped: the id is the device's deduplication key and cannot be
 * rewritten. The device keeps the item and sends it again; it is stored once the collector's clock has
 * caught up to within the limit (or, after the device's clock is fixed, as the same id), so nothing is
 * lost to a device whose clock runs a little fast.
 */
export function checkClock(publish: InboundPublish, deps: IngestDeps): boolean {
  const { items, rejections } = publish.decoded
  if (items.length === 0) return true
  const latestMs = deps.now() + deps.maxClockAheadMs
  let kept: IngestItem[] | undefined
  let refused: Rejection[] | undefined
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as IngestItem
    if (claimedTimeMs(item) > latestMs) {
      kept ??= items.slice(0, i)
      // A copy: the decoders share one empty rejections array between publishes.
      refused ??= [...rejections]
      refused.push({
        deviceId: itemDevice(item),
        id: itemId(item),
        code: 'CLOCK_AHEAD',
        isRetryable: true,
        reason: 'clock_ahead',
      })
    } else kept?.push(item)
  }
  if (kept && refused) publish.decoded = { items: kept, rejections: refused }
  return true
}
