import type { EventQuery, StoredEvent } from './event-store.js'

/** True when the event passes every filter of the query except the time bounds and the cursor. */
export function matchesEventQuery(event: StoredEvent, query: EventQuery): boolean {
  if (query.deviceId !== undefined && event.deviceId !== query.deviceId) return false
  if (query.type !== undefined && event.type !== query.type) return false
  if (query.eventClass !== undefined && event.class !== query.eventClass) return false
  if (query.relatesTo !== undefined) {
    const isMedia = event.type === 'snapshot' || event.type === 'clip.manifest'
    if (!isMedia || event.payload.relatesTo !== query.relatesTo) return false
  }
  return true
}
