import type { StoredEvent } from '../store/event-store.js'

/** An event as the API returns it: the envelope without bulky binary (a snapshot's JPEG is its own route). */
export type EventSummary = Omit<StoredEvent, 'payload'> & { readonly payload: Record<string, unknown> }

/** Strips base64 image data from snapshot payloads; everything else is returned as stored. */
export function summarizeEvent(event: StoredEvent): EventSummary {
  if (event.type !== 'snapshot') return event as EventSummary
  const { data: _data, ...rest } = event.payload
  return { ...event, payload: rest }
}
