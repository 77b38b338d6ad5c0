import { EventEmitter } from 'node:events'
import type { Clock, TimerHandle } from '../clock/clock.js'
import type { RecordInput } from '../outbox/outbox.js'

/** Batching settings of the medium class. */
export interface BatchOptions {
  /** A batch is written at most this long after its first reading. */
  readonly batchIntervalMs: number
  /** A batch is written at once when it holds this many readings. */
  readonly batchMaxItems: number
}

/** Events of the batcher; main.ts logs them. */
export interface ReadingBatcherEvents {
  /** A batch was stored in the outbox. */
  flushed: [count: number]
  /** Storing a batch failed; the readings are kept for the next flush while under the cap. */
  flushFailed: [error: unknown, count: number]
}

/** Collaborators of the batcher. */
export interface ReadingBatcherDeps {
  readonly clock: Clock
  /** Stores one batch durably; the outbox's record(). */
  readonly store: (inputs: readonly RecordInput[]) => Promise<unknown>
  readonly options: BatchOptions
}

/**
 * Collects medium readings in memory and stores them in one outbox write per batch, so the SD card
 * sees one write per batchIntervalMs (or per batchMaxItems readings), not one per reading.
 * Readings not yet flushed are lost on power loss: at most one batch interval (docs/agent-outbox.md).
 */
export class ReadingBatcher extends EventEmitter<ReadingBatcherEvents> {
  readonly #deps: ReadingBatcherDeps
  #pending: RecordInput[] = []
  #timer: TimerHandle | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor(deps: ReadingBatcherDeps) {
    super()
    this.#deps = deps
  }

  /** Readings waiting for the next flush. */
  get pendingCount(): number {
    return this.#pending.length
  }

  /** Adds one reading; flushes at batchMaxItems, otherwise within batchIntervalMs. */
  add(reading: RecordInput): void {
    this.#pending.push(reading)
    if (this.#pending.length >= this.#deps.options.batchMaxItems) {
      void this.flush()
    } else if (this.#timer === undefined) {
      this.#timer = this.#deps.clock.setTimeout(() => {
        this.#timer = undefined
        void this.flush()
      }, this.#deps.options.batchIntervalMs)
    }
  }

  /** Stores whatever is pending now; resolves when stored (or failed). Flushes never overlap. */
  flush(): Promise<void> {
    this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = this.#pending
    if (batch.length === 0) return this.#flushing
    this.#pending = []
    this.#flushing = this.#flushing.then(() => this.#store(batch))
    return this.#flushing
  }

  async #store(batch: RecordInput[]): Promise<void> {
    try {
      await this.#deps.store(batch)
      this.emit('flushed', batch.length)
    } catch (err) {
      const cap = this.#deps.options.batchMaxItems * 10
      this.#pending = [...batch, ...this.#pending].slice(-cap)
      this.emit('flushFailed', err, batch.length)
      if (this.#timer === undefined) {
        this.#timer = this.#deps.clock.setTimeout(() => {
          this.#timer = undefined
          void this.flush()
        }, this.#deps.options.batchIntervalMs)
      }
    }
  }

  /** Stops the timer and stores what is pending. */
  async close(): Promise<void> {
    await this.flush()
    this.#deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
