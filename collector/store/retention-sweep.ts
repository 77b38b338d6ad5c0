import type { ClipStore } from '../clips/clip-store.js'
import type { EventStore, RetentionMs } from './event-store.js'

const DAY_MS = 24 * 60 * 60 * 1000

/** Retention per class in ms from the config's days (0 keeps forever). */
export function retentionFromDays(days: { high: number; medium: number; low: number }): RetentionMs {
  return { high: days.high * DAY_MS, medium: days.medium * DAY_MS, low: days.low * DAY_MS }
}

/** One retention pass: deletes expired events, then the files of expired clips; returns events deleted. */
export async function sweepRetentionOnce(
  store: EventStore,
  clips: ClipStore,
  nowMs: number,
  retention: RetentionMs,
): Promise<number> {
  const result = await store.sweepRetention(nowMs, retention)
  for (const clip of result.expiredClips) await clips.deleteClip(clip.deviceId, clip.clipId)
  return result.deletedCount
}
