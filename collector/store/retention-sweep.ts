import type { ClipStore } from '../clips/clip-store.js'
import type { EventStore, RetentionMs } from './event-store.js'

const DAY_MS = 24 * 60 * 60 * 1000

/** Retention per class in ms from the config's days (0 keeps forever). */
export function retentionFromDays(days: { high: number; medium: number; low: number }): RetentionMs {
  return { high: days.high * DAY_MS, medium: days.medium * DAY_MS, low: days.low * DAY_MS }
}

/** What one pass removed: events, and clips (metadata and files). */
export interface SweepCounts {
  readonly deletedCount: number
  readonly deletedClipCount: number
}

/**
 * One retention pass: deletes expired events with the metadata of their clips, then the clips' files.
 * A crash in between leaves files without metadata (the next pass does not see them).
 */
export async function sweepRetentionOnce(
  store: EventStore,
  clips: ClipStore,
  nowMs: number,
  retention: RetentionMs,
): Promise<SweepCounts> {
  const result = await store.sweepRetention(nowMs, retention)
  for (const clip of result.expiredClips) await clips.deleteClip(clip.deviceId, clip.clipId)
  return { deletedCount: result.deletedCount, deletedClipCount: result.expiredClips.length }
}
