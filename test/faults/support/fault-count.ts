import type { RunningCollector } from '../../../collector/main.js'
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
  /** Events the agent recorded: seqs 1..lastSeq (or, without a lastSeq, the confirmed ids). */
  readonly sent: number
  /** Of those, how many are in the collector's store. */
  readonly stored: number
  /** Sent events missing from the store: a missing seq or a confirmed id not stored. */
  readonly lost: number
  /** Same id twice, or the same (deviceId, seq) twice. */
  readonly duplicated: number
  /** Ids confirmed one by one (control endpoint, outbox scans), all checked against the store. */
  readonly confirmedIds: number
  /** Events in the store in total. */
  readonly storedTotal: number
}

/** Compares what was sent (confirmed ids and seqs 1..lastSeq) with what the store holds. */
export function countFaultOutcome(
  confirmedIds: ReadonlySet<string>,
  stored: readonly StoredEvent[],
  lastSeq = 0,
): FaultCount {
  const storedIds = new Set(stored.map((e) => e.id))
  const seqKeys = stored.filter((e) => e.type !== 'status').map((e) => `${e.deviceId}/${e.seq}`)
  const duplicated = stored.length - storedIds.size + (seqKeys.length - new Set(seqKeys).size)
  let missingIds = 0
  for (const id of confirmedIds) if (!storedIds.has(id)) missingIds += 1
  const seqs = new Set(stored.filter((e) => e.type !== 'status').map((e) => e.seq))
  let missingSeqs = 0
  for (let seq = 1; seq <= lastSeq; seq++) if (!seqs.has(seq)) missingSeqs += 1
  const sent = lastSeq > 0 ? lastSeq : confirmedIds.size
  const lost = lastSeq > 0 ? Math.max(missingSeqs, missingIds) : missingIds
  return {
    sent,
    stored: sent - lost,
    lost,
    duplicated,
    confirmedIds: confirmedIds.size,
    storedTotal: stored.length,
  }
}

/** Prints the count line every fault scenario ends with. */
export function printCountLine(
  scenario: string,
  count: Pick<FaultCount, 'sent' | 'stored' | 'duplicated'> & Partial<FaultCount>,
  extra: Record<string, unknown> = {},
): void {
  const fields = Object.entries({ ...count, ...extra })
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ')
  process.stdout.write(`FAULT-COUNT ${scenario}: ${fields}\n`)
}
