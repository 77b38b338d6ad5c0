import type { Level } from 'level'
import { ulidTimePrefix } from '../../shared/protocol/index.js'
import { matchesEventQuery } from './event-filter.js'
import {
  defaultEventPageSize,
  type EventPage,
  type EventQuery,
  maxEventPageSize,
  type StoredEvent,
} from './event-store.js'
import { classKey, deviceKey, eventKey } from './level-event-keys.js'

/**
 * queryEvents over the Level layout: walks the most selective index (device, else class, else every
 * event) between the time bounds and filters the rest. The cursor is the last id looked at.
 */
export async function queryLevelEvents(db: Level<string, string>, query: EventQuery): Promise<EventPage> {
  const limit = Math.min(Math.max(1, query.limit ?? defaultEventPageSize), maxEventPageSize)
  const prefix = query.deviceId
    ? deviceKey(query.deviceId, '')
    : query.eventClass
      ? classKey(query.eventClass, '')
      : eventKey('')
  let low = prefix + (query.fromMs === undefined ? '' : ulidTimePrefix(query.fromMs))
  let high = prefix + (query.toMs === undefined ? '~' : ulidTimePrefix(query.toMs))
  const reverse = query.isNewestFirst === true
  if (query.cursor) {
    // Resume strictly after (or, newest first, before) the cursor id.
    const before = prefix + query.cursor
    const after = `${before}~`
    if (reverse && before < high) high = before
    if (!reverse && after > low) low = after
  }
  const items: StoredEvent[] = []
  // Scanning stops after a bounded number of keys so a selective filter cannot make one page unbounded;
  // the cursor then resumes where the scan stopped.
  let budget = limit * 20 + 1000
  let lastId: string | undefined
  const iterator = db.keys({ gte: low, lt: high, reverse })
  try {
    while (items.length < limit && budget > 0) {
      const keys = await iterator.nextv(Math.min(limit - items.length + 50, budget))
      if (keys.length === 0) {
        lastId = undefined
        break
      }
      budget -= keys.length
      const ids = keys.map((key) => key.slice(prefix.length))
      const values = prefix === eventKey('') ? await db.getMany(keys) : await db.getMany(ids.map(eventKey))
      for (let i = 0; i < ids.length; i++) {
        const value = values[i]
        lastId = ids[i]
        if (value === undefined) continue
        const event = JSON.parse(value) as StoredEvent
        if (!matchesEventQuery(event, query)) continue
        items.push(event)
        if (items.length === limit) break
      }
    }
  } finally {
    await iterator.close()
  }
  if (lastId === undefined) return { items }
  // One more key past the last one tells whether there is a next page at all.
  const more = await db
    .keys({
      ...(reverse ? { gte: low, lt: prefix + lastId } : { gt: `${prefix}${lastId}`, lt: high }),
      reverse,
      limit: 1,
    })
    .all()
  return more.length > 0 ? { items, nextCursor: lastId } : { items }
}
