import { eventIdTimeMs } from '../../shared/protocol/index.js'
import type { EventQuery, EventStore, StoredEvent } from './event-store.js'

/** A stored snapshot event. */
export type SnapshotEvent = Extract<StoredEvent, { type: 'snapshot' }>
/** A stored clip.manifest event. */
export type ClipManifestEvent = Extract<StoredEvent, { type: 'clip.manifest' }>

/**
 * How long after an event the media that enrich it can be captured. The agent takes the snapshot at the
 * trigger and mints the clip's manifest once the clip is assembled: at most the longest postroll it
 * accepts (media.postrollMs, 300 s) plus the assembly, after the event. Ten minutes covers both with room.
 * Nothing related is captured before its event: the agent mints the ids of an event and its media from
 * one monotonic ULID factory, so a medium's id (the time queried here) is never below its event's. The
 * window only bounds the scan; relatedness itself is `payload.relatesTo` naming the event.
 */
export const relatedMediaWindowMs = 10 * 60_000

/**
 * The paths the media routes serve, the one place links to them are built from: an event's snapshot
 * (its own when it is a snapshot, else the first related one, by findSnapshotOf) and a verified clip.
 */
export const mediaPaths = {
  snapshotRoute: '/api/events/:id/snapshot',
  clipRoute: '/api/clips/:clipId',
  snapshotOf: (eventId: string): string => `/api/events/${encodeURIComponent(eventId)}/snapshot`,
  clip: (clipId: string): string => `/api/clips/${encodeURIComponent(clipId)}`,
} as const

/** The snapshots and clip manifests that enrich one event, oldest first. */
export interface RelatedMedia {
  readonly snapshots: SnapshotEvent[]
  readonly clipManifests: ClipManifestEvent[]
}

/**
 * The snapshots and clip manifests of the event's device whose `relatesTo` names it. A snapshot event is
 * its own snapshot, so it comes first in its own list. One lookup for the media route, the event route
 * and the links alerts carry.
 */
export async function findRelatedMedia(store: EventStore, event: StoredEvent): Promise<RelatedMedia> {
  return (await findRelatedMediaOfEach(store, [event])).get(event.id) ?? { snapshots: [], clipManifests: [] }
}

/**
 * findRelatedMedia for many events at once (a timeline page), by event id. The store reads every event in
 * a window to find the media in it, so each device's windows are merged and read once: a lookup per
 * event would read overlapping windows again (presses a minute apart share nine tenths of theirs), each
 * snapshot's JPEG with them. A medium counts for an event when its relatesTo names it and its time is
 * inside that event's own window, as for one event.
 */
export async function findRelatedMediaOfEach(
  store: EventStore,
  events: readonly StoredEvent[],
): Promise<Map<string, RelatedMedia>> {
  const found = new Map<string, { snapshots: SnapshotEvent[]; clipManifests: ClipManifestEvent[] }>()
  const byDevice = new Map<string, Map<string, StoredEvent>>()
  for (const event of events) {
    found.set(event.id, { snapshots: event.type === 'snapshot' ? [event] : [], clipManifests: [] })
    const own = byDevice.get(event.deviceId) ?? new Map<string, StoredEvent>()
    own.set(event.id, event)
    byDevice.set(event.deviceId, own)
  }
  for (const [deviceId, own] of byDevice) {
    // With one event, the store can filter by relatesTo itself.
    const only = own.size === 1 ? { relatesTo: [...own.keys()][0] as string } : {}
    for (const span of mergedWindows([...own.keys()].map(eventIdTimeMs))) {
      await forEachPage(store, { deviceId, ...span, ...only }, (item) => {
        if (item.type !== 'snapshot' && item.type !== 'clip.manifest') return
        const relatesTo = item.payload.relatesTo
        const target = relatesTo === undefined ? undefined : own.get(relatesTo)
        if (!target || target.id === item.id) return
        const startMs = eventIdTimeMs(target.id)
        const atMs = eventIdTimeMs(item.id)
        if (atMs < startMs || atMs >= startMs + relatedMediaWindowMs) return
        const media = found.get(target.id)
        if (item.type === 'snapshot') media?.snapshots.push(item)
        else media?.clipManifests.push(item)
      })
    }
  }
  return found
}

/** The windows [t, t + relatedMediaWindowMs) of the given times, overlapping ones merged, oldest first. */
function mergedWindows(startsMs: number[]): { fromMs: number; toMs: number }[] {
  const spans: { fromMs: number; toMs: number }[] = []
  for (const fromMs of [...startsMs].sort((a, b) => a - b)) {
    const last = spans.at(-1)
    const toMs = fromMs + relatedMediaWindowMs
    if (last && fromMs <= last.toMs) last.toMs = Math.max(last.toMs, toMs)
    else spans.push({ fromMs, toMs })
  }
  return spans
}

/** The first snapshot of an event: itself when it is one, else the first that relates to it. */
export async function findSnapshotOf(
  store: EventStore,
  event: StoredEvent,
): Promise<SnapshotEvent | undefined> {
  if (event.type === 'snapshot') return event
  return (await findRelatedMedia(store, event)).snapshots[0]
}

/** Every event of a query, page by page, oldest first (the windows keep it bounded). */
async function forEachPage(
  store: EventStore,
  query: EventQuery,
  visit: (event: StoredEvent) => void,
): Promise<void> {
  let cursor: string | undefined
  do {
    const page = await store.queryEvents({ ...query, limit: 200, ...(cursor ? { cursor } : {}) })
    for (const event of page.items) visit(event)
    cursor = page.nextCursor
  } while (cursor)
}
