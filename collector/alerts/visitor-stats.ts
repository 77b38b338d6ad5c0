import type { EventStore } from '../store/event-store.js'
import { localMinutes } from './user-policy.js'

/** A visitor statistics query. */
export interface VisitorStatsQuery {
  readonly deviceId?: string
  /** Inclusive, ms since the epoch (capture time). */
  readonly fromMs: number
  /** Exclusive, ms since the epoch. */
  readonly toMs: number
  /** IANA zone the hours are counted in; default the collector's. */
  readonly timeZone?: string
  /** Most events read per type, so a query stays bounded on a huge store. */
  readonly maxEvents?: number
}

/** Presses and motion by hour of day (index 0 = 00:00-00:59 local) and the peak hours. */
export interface VisitorStats {
  readonly fromMs: number
  readonly toMs: number
  readonly presses: { readonly total: number; readonly byHour: number[]; readonly peakHours: number[] }
  readonly motion: { readonly total: number; readonly byHour: number[]; readonly peakHours: number[] }
  /** True when maxEvents was reached and the counts are a lower bound. */
  readonly isTruncated: boolean
}

/**
 * Visitor statistics for the dashboard: walks the store's type index over the time range (the
 * ids are ULIDs, so the range is a key range) and counts by local hour of day.
 */
export async function visitorStats(store: EventStore, query: VisitorStatsQuery): Promise<VisitorStats> {
  const maxEvents = query.maxEvents ?? 200_000
  let isTruncated = false
  const count = async (type: 'button.press' | 'motion') => {
    const byHour = new Array<number>(24).fill(0)
    let total = 0
    let cursor: string | undefined
    do {
      const page = await store.queryEvents({
        type,
        ...(query.deviceId ? { deviceId: query.deviceId } : {}),
        fromMs: query.fromMs,
        toMs: query.toMs,
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      })
      for (const event of page.items) {
        const hour = Math.floor(localMinutes(Date.parse(event.capturedAt), query.timeZone) / 60)
        byHour[hour] = (byHour[hour] ?? 0) + 1
        total += 1
      }
      cursor = page.nextCursor
      if (total >= maxEvents && cursor) {
        isTruncated = true
        break
      }
    } while (cursor)
    const peak = Math.max(...byHour)
    const peakHours = peak === 0 ? [] : byHour.flatMap((n, hour) => (n === peak ? [hour] : []))
    return { total, byHour, peakHours }
  }
  const presses = await count('button.press')
  const motion = await count('motion')
  return { fromMs: query.fromMs, toMs: query.toMs, presses, motion, isTruncated }
}
