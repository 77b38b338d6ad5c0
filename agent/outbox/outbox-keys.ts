import { classRank, type EventClass, eventClasses } from '../../shared/protocol/index.js'
import type { EventKey } from './outbox-store.js'

/** Storage key of an event: `e!<class rank>!<ULID>`, so a key-ordered scan yields high, medium, low, oldest first. */
export function eventStorageKey(key: EventKey): string {
  return `e!${classRank[key.eventClass]}!${key.id}`
}

/** Storage key holding the highest sequence number handed out. */
export const lastSeqStorageKey = 'm!lastSeq'

/** Parses an event storage key; undefined for other keys. */
export function parseEventStorageKey(storageKey: string): EventKey | undefined {
  const match = /^e!(\d)!(.+)$/.exec(storageKey)
  if (!match) return undefined
  const eventClass: EventClass | undefined = eventClasses[Number(match[1])]
  return eventClass && match[2] ? { eventClass, id: match[2] } : undefined
}

/** The seq field of a stored envelope body, without trusting anything else in it. */
export function seqOfBody(body: string): number {
  const seq = (JSON.parse(body) as { seq?: unknown }).seq
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : 0
}
