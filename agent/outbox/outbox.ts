import { EventEmitter } from 'node:events'
import {
  createEnvelope,
  type Envelope,
  type EventClass,
  eventClasses,
  type MessageType,
  type PayloadInputOf,
} from '../../shared/protocol/index.js'
import {
  bodyBytes,
  type EventKey,
  type OutboxStore,
  type OutboxWrite,
  type StoredEvent,
} from './outbox-store.js'

/** One event to record; the outbox gives it its id and sequence number. */
export interface RecordInput<T extends MessageType = MessageType> {
  readonly type: T
  readonly payload: PayloadInputOf<T>
  /** When it was captured, ms since the epoch. */
  readonly capturedAtMs: number
  /** Defaults to the type's class (motion: high when armed). */
  readonly eventClass?: EventClass
}

/** A stored event as the sender reads it: its id, its envelope JSON and its type. */
export interface OutboxBody {
  readonly id: string
  readonly body: string
  /** The envelope's type (undefined for a body from disk that names no known type). */
  readonly type: MessageType | undefined
}

/** Events waiting per class, and their bytes. */
export interface OutboxDepth {
  readonly count: Readonly<Record<EventClass, number>>
  readonly bytes: Readonly<Record<EventClass, number>>
  readonly totalBytes: number
}

/** Events the outbox emits; the agent's main.ts logs them. */
export interface OutboxEvents {
  /** New events are stored and may be sent. */
  recorded: [eventClass: EventClass, count: number]
  /** Events dropped to stay under maxBytes (never high). */
  evicted: [eventClass: EventClass, count: number]
  /** Events removed after an ack or a permanent rejection. */
  removed: [count: number]
}

/** Collaborators and limits of the outbox. */
export interface OutboxDeps {
  readonly store: OutboxStore
  readonly deviceId: string
  /** Budget of stored bodies in bytes. Eviction takes low, then medium, oldest first; high is never evicted. */
  readonly maxBytes: number
}

interface IndexEntry {
  readonly seq: number
  readonly bytes: number
  readonly type: MessageType | undefined
}

function perClass<T>(make: () => T): Record<EventClass, T> {
  return { high: make(), medium: make(), low: make() }
}

/**
 * The durable outbox: sequence numbers, byte budget and eviction over an OutboxStore. An event is
 * forgotten only when `remove` is called for it (the collector's ack). High events are written with
 * fsync before `record` resolves; other classes are written in one unsynced batch per call, so
 * batching readings upstream means one disk write per batch (docs/agent-outbox.md).
 */
export class Outbox extends EventEmitter<OutboxEvents> {
  readonly #deps: OutboxDeps
  readonly #index = perClass(() => new Map<string, IndexEntry>())
  readonly #bytes = perClass(() => 0)
  /** Bodies of high events recorded by this process: a press is published without a disk read. */
  readonly #highBodies = new Map<string, string>()
  #lastSeq = 0
  /** Highest seq of any write that has completed; every write persists at least this as lastSeq. */
  #durableSeq = 0
  /** The latest write handed to the store; the next one starts after it (see #write). */
  #lastWrite: Promise<unknown> = Promise.resolve()

  constructor(deps: OutboxDeps) {
    super()
    this.#deps = deps
  }

  /** Opens the store and rebuilds the in-memory index (keys and sizes only, not bodies). */
  async open(): Promise<void> {
    await this.#deps.store.open()
    let maxSeq = await this.#deps.store.readLastSeq()
    for await (const event of this.#deps.store.scan()) {
      this.#index[event.eventClass].set(event.id, { seq: event.seq, bytes: event.bytes, type: event.type })
      this.#bytes[event.eventClass] += event.bytes
      maxSeq = Math.max(maxSeq, event.seq)
    }
    this.#lastSeq = maxSeq
    this.#durableSeq = maxSeq
  }

  /** The highest sequence number handed out. */
  get lastSeq(): number {
    return this.#lastSeq
  }

  /**
   * Records events: assigns seq and id, writes them in one atomic batch (fsync'd when any is high) and
   * resolves with their envelopes once stored. Throws PROTOCOL_MALFORMED for an invalid payload
   * before anything is written or any seq is used.
   */
  async record(inputs: readonly RecordInput[]): Promise<Envelope[]> {
    if (inputs.length === 0) return []
    const firstSeq = this.#lastSeq + 1
    const envelopes = inputs.map((input, i) =>
      createEnvelope({
        deviceId: this.#deps.deviceId,
        seq: firstSeq + i,
        type: input.type,
        payload: input.payload,
        capturedAtMs: input.capturedAtMs,
        ...(input.eventClass ? { class: input.eventClass } : {}),
      } as Parameters<typeof createEnvelope>[0]),
    )
    this.#lastSeq = firstSeq + inputs.length - 1
    const put: StoredEvent[] = envelopes.map((e) => ({
      eventClass: e.class,
      id: e.id,
      seq: e.seq,
      body: JSON.stringify(e),
    }))
    const isSync = put.some((e) => e.eventClass === 'high')
    const incomingBytes = put.reduce((sum, e) => sum + bodyBytes(e.body), 0)
    const del = this.#planEviction(incomingBytes)
    await this.#write({ put, del, lastSeq: Math.max(this.#lastSeq, this.#durableSeq) }, { sync: isSync })
    this.#durableSeq = Math.max(this.#durableSeq, this.#lastSeq)
    const counts = perClass(() => 0)
    for (const [i, event] of put.entries()) {
      const bytes = bodyBytes(event.body)
      this.#index[event.eventClass].set(event.id, { seq: event.seq, bytes, type: envelopes[i]?.type })
      this.#bytes[event.eventClass] += bytes
      if (event.eventClass === 'high') this.#highBodies.set(event.id, event.body)
      counts[event.eventClass]++
    }
    for (const eventClass of eventClasses)
      if (counts[eventClass] > 0) this.emit('recorded', eventClass, counts[eventClass])
    return envelopes
  }

  /** Forgets events (acknowledged or permanently rejected); unknown ids are ignored. Resolves with how many. */
  async remove(ids: readonly string[]): Promise<number> {
    const del: EventKey[] = []
    for (const id of ids) {
      for (const eventClass of eventClasses) {
        const entry = this.#index[eventClass].get(id)
        if (!entry) continue
        this.#index[eventClass].delete(id)
        this.#bytes[eventClass] -= entry.bytes
        this.#highBodies.delete(id)
        del.push({ eventClass, id })
        break
      }
    }
    if (del.length === 0) return 0
    await this.#write({ del, lastSeq: this.#durableSeq }, { sync: false })
    this.emit('removed', del.length)
    return del.length
  }

  /**
   * Hands a change to the store once every earlier one has reached it, so writes land in the order their
   * seqs were handed out. The store runs writes on worker threads: a press's fsync'd write and a reading
   * batch issued just after it could land in either order, and a kill between the two would leave the
   * later seqs stored and the press's seq never written, a gap that is never handed out again.
   */
  #write(change: OutboxWrite, options: { readonly sync: boolean }): Promise<void> {
    const write = this.#lastWrite.then(() => this.#deps.store.write(change, options))
    this.#lastWrite = write.catch(() => undefined)
    return write
  }

  /** True while the event is stored (not yet acknowledged). */
  has(id: string): boolean {
    return eventClasses.some((c) => this.#index[c].has(id))
  }

  /** Up to `limit` ids of one class in send order (oldest first), skipping those `skip` says to. */
  pendingIds(eventClass: EventClass, limit: number, skip: (id: string) => boolean = () => false): string[] {
    const ids: string[] = []
    for (const id of this.#index[eventClass].keys()) {
      if (ids.length >= limit) break
      if (!skip(id)) ids.push(id)
    }
    return ids
  }

  /** Stored bodies (envelope JSON) and types of the given ids of one class; ids removed meanwhile are left out. */
  async readBodies(eventClass: EventClass, ids: readonly string[]): Promise<OutboxBody[]> {
    const cached = eventClass === 'high' ? ids.map((id) => this.#highBodies.get(id)) : []
    const bodies =
      cached.length > 0 && cached.every((b) => b !== undefined)
        ? cached
        : await this.#deps.store.read(ids.map((id) => ({ eventClass, id })))
    const found: OutboxBody[] = []
    ids.forEach((id, i) => {
      const body = bodies[i]
      const entry = this.#index[eventClass].get(id)
      if (body !== undefined && entry) found.push({ id, body, type: entry.type })
    })
    return found
  }

  /** Events waiting per class. */
  depth(): OutboxDepth {
    const count = perClass(() => 0)
    for (const c of eventClasses) count[c] = this.#index[c].size
    const bytes = { ...this.#bytes }
    return { count, bytes, totalBytes: bytes.high + bytes.medium + bytes.low }
  }

  async close(): Promise<void> {
    await this.#deps.store.close()
  }

  /** Picks the events to delete so incomingBytes fits: lowest class first, oldest first, never high. */
  #planEviction(incomingBytes: number): EventKey[] {
    let excess = this.#bytes.high + this.#bytes.medium + this.#bytes.low + incomingBytes - this.#deps.maxBytes
    const del: EventKey[] = []
    for (const eventClass of ['low', 'medium'] as const) {
      let count = 0
      for (const [id, entry] of this.#index[eventClass]) {
        if (excess <= 0) break
        this.#index[eventClass].delete(id)
        this.#bytes[eventClass] -= entry.bytes
        excess -= entry.bytes
        del.push({ eventClass, id })
        count++
      }
      if (count > 0) this.emit('evicted', eventClass, count)
    }
    return del
  }
}
