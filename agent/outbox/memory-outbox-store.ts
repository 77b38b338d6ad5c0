import { eventStorageKey, fieldsOfBody, parseEventStorageKey } from './outbox-keys.js'
import {
  bodyBytes,
  type EventKey,
  type OutboxStore,
  type OutboxWrite,
  type ScannedEvent,
} from './outbox-store.js'

/** An outbox store in memory: the simulated twin of LevelOutboxStore. Lost when the process ends. */
export class MemoryOutboxStore implements OutboxStore {
  readonly #bodies = new Map<string, string>()
  #lastSeq = 0
  #isOpen = false

  async open(): Promise<void> {
    this.#isOpen = true
  }

  async write(change: OutboxWrite, _options: { readonly sync: boolean }): Promise<void> {
    this.#assertOpen()
    for (const event of change.put ?? []) this.#bodies.set(eventStorageKey(event), event.body)
    for (const key of change.del ?? []) this.#bodies.delete(eventStorageKey(key))
    if (change.lastSeq !== undefined) this.#lastSeq = change.lastSeq
  }

  async *scan(): AsyncIterable<ScannedEvent> {
    this.#assertOpen()
    const keys = [...this.#bodies.keys()].sort()
    for (const storageKey of keys) {
      const key = parseEventStorageKey(storageKey)
      const body = this.#bodies.get(storageKey)
      if (key && body !== undefined) yield { ...key, ...fieldsOfBody(body), bytes: bodyBytes(body) }
    }
  }

  async read(keys: readonly EventKey[]): Promise<(string | undefined)[]> {
    this.#assertOpen()
    return keys.map((key) => this.#bodies.get(eventStorageKey(key)))
  }

  async readLastSeq(): Promise<number> {
    this.#assertOpen()
    return this.#lastSeq
  }

  async close(): Promise<void> {
    this.#isOpen = false
  }

  #assertOpen(): void {
    if (!this.#isOpen) throw new Error('MemoryOutboxStore is not open')
  }
}
