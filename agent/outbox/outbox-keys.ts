import {
  classRank,
  type EventClass,
  eventClasses,
  type MessageType,
  messageTypeNames,
} from '../../shared/protocol/index.js'
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

/** The one copy of each type name, so an index rebuilt from disk holds no string per event. */
const knownTypes = new Map<string, MessageType>(messageTypeNames.map((name) => [name, name]))

/**
 * The seq and type fields of a stored envelope body, without trusting anything else in it: seq 0 when
 * it has none, type undefined when it names no known type.
 */
export function fieldsOfBody(body: string): { readonly seq: number; readonly type: MessageType | undefined } {
  const { seq, type } = JSON.parse(body) as { seq?: unknown; type?: unknown }
  return {
    seq: typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : 0,
    type: typeof type === 'string' ? knownTypes.get(type) : undefined,
  }
}
