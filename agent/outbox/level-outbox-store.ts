import { mkdir } from 'node:fs/promises'
import { Level } from 'level'
import { DoorbellError } from '../../shared/errors.js'
import { eventStorageKey, fieldsOfBody, lastSeqStorageKey, parseEventStorageKey } from './outbox-keys.js'
import {
  bodyBytes,
  type EventKey,
  type OutboxStore,
  type OutboxWrite,
  type ScannedEvent,
} from './outbox-store.js'

/** Options of the Level outbox. */
export interface LevelOutboxStoreOptions {
  /** Folder of the LevelDB database; created if missing. */
  readonly directory: string
}

/**
 * The outbox on the Pi's disk (LevelDB). A change is one atomic LevelDB batch; `sync` maps to LevelDB's
 * fsync'd write, used only for high-class events (docs/agent-outbox.md counts the writes).
 */
export class LevelOutboxStore implements OutboxStore {
  readonly #db: Level<string, string>
  readonly #directory: string

  constructor(options: LevelOutboxStoreOptions) {
    this.#directory = options.directory
    this.#db = new Level<string, string>(options.directory, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.#directory, { recursive: true })
      await this.#db.open()
    } catch (err) {
      throw new DoorbellError('STORE_OPEN_FAILED', this.#directory, {
        cause: err,
        details: { path: this.#directory },
      })
    }
  }

  async write(change: OutboxWrite, options: { readonly sync: boolean }): Promise<void> {
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = []
    for (const event of change.put ?? [])
      ops.push({ type: 'put', key: eventStorageKey(event), value: event.body })
    for (const key of change.del ?? []) ops.push({ type: 'del', key: eventStorageKey(key) })
    if (change.lastSeq !== undefined)
      ops.push({ type: 'put', key: lastSeqStorageKey, value: String(change.lastSeq) })
    if (ops.length === 0) return
    await this.#db.batch(ops, { sync: options.sync })
  }

  async *scan(): AsyncIterable<ScannedEvent> {
    for await (const [storageKey, body] of this.#db.iterator({ gt: 'e!', lt: 'e~' })) {
      const key = parseEventStorageKey(storageKey)
      if (key) yield { ...key, ...fieldsOfBody(body), bytes: bodyBytes(body) }
    }
  }

  async read(keys: readonly EventKey[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return []
    return this.#db.getMany(keys.map(eventStorageKey))
  }

  async readLastSeq(): Promise<number> {
    const value = await this.#db.get(lastSeqStorageKey)
    return value === undefined ? 0 : Number(value)
  }

  async close(): Promise<void> {
    await this.#db.close()
  }
}
