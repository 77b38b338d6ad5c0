import type { RunningCollector } from '../../../collector/collector.js'
import type { EventStore, StoredEvent } from '../../../collector/store/event-store.js'

/** Positive integer from the environment, or the fallback (fault sizes: FAULT_EVENTS, FAULT_KILLS, ...). */
export function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name])
  return Number.isInteger(value) && value > 0 ? value : fallback
}

/** Every stored event of one device, all pages. */
export async function allStoredEvents(
  store: RunningCollector['store'] | EventStore,
  deviceId: string,
): Promise<StoredEvent[]> {
  const events: StoredEvent[] = []
  let cursor: string | undefined
  do {
    const page = await store.queryEvents({ deviceId, limit: 1000, ...(cursor ? { cursor } : {}) })
    events.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return events
}

/** The outcome every fault scenario ends with. */
export interface FaultCount {
  /** Ids the sender recorded (control endpoint confirmed, or seen in its outbox). */
  readonly sent: number
  /** Of those, how many are in the collector's store. */
  readonly stored: number
  /** Sent ids missing from the store. */
  readonly lost: number
  /** Same id twice, or the same (deviceId, seq) twice. */
  readonly duplicated: number
  /** Events in the store in total (may exceed sent: readings recorded just before a kill). */
  readonly storedTotal: number
}

/** Compares what was sent with what the store holds. */
export function countFaultOutcome(sentIds: ReadonlySet<string>, stored: readonly StoredEvent[]): FaultCount {
  const storedIds = new Set(stored.map((e) => e.id))
  const seqKeys = stored.filter((e) => e.type !== 'status').map((e) => `${e.deviceId}/${e.seq}`)
  const duplicated = stored.length - storedIds.size + (seqKeys.length - new Set(seqKeys).size)
  let found = 0
  for (const id of sentIds) if (storedIds.has(id)) found += 1
  return {
    sent: sentIds.size,
    stored: found,
    lost: sentIds.size - found,
    duplicated,
    storedTotal: stored.length,
  }
}

/** Prints the count line every fault scenario ends with. */
export function printCountLine(
  scenario: string,
  count: FaultCount,
  extra: Record<string, unknown> = {},
): void {
  const fields = Object.entries({ ...count, ...extra })
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ')
  process.stdout.write(`FAULT-COUNT ${scenario}: ${fields}\n`)
}
