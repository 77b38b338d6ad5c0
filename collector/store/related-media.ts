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
  const fromMs = eventIdTimeMs(event.id)
  const around = {
    deviceId: event.deviceId,
    relatesTo: event.id,
    fromMs,
    toMs: fromMs + relatedMediaWindowMs,
  }
  const [snapshots, clipManifests] = await Promise.all([
    allPages(store, { ...around, type: 'snapshot' }),
    allPages(store, { ...around, type: 'clip.manifest' }),
  ])
  return {
    snapshots: [...(event.type === 'snapshot' ? [event] : []), ...(snapshots as SnapshotEvent[])],
    clipManifests: clipManifests as ClipManifestEvent[],
  }
}

/** The first snapshot of an event: itself when it is one, else the first that relates to it. */
export async function findSnapshotOf(
  store: EventStore,
  event: StoredEvent,
): Promise<SnapshotEvent | undefined> {
  if (event.type === 'snapshot') return event
  return (await findRelatedMedia(store, event)).snapshots[0]
}

/** Every page of a query (the window and relatesTo keep it small). */
async function allPages(store: EventStore, query: EventQuery): Promise<StoredEvent[]> {
  const items: StoredEvent[] = []
  let cursor: string | undefined
  do {
    const page = await store.queryEvents({ ...query, limit: 200, ...(cursor ? { cursor } : {}) })
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return items
}
