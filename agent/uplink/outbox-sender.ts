import { EventEmitter } from 'node:events'
import {
  decodeEvent,
  type Envelope,
  type EventClass,
  maxBatchBytes,
  maxBatchItems,
  topics,
} from '../../shared/protocol/index.js'
import type { Clock, TimerHandle } from '../clock/clock.js'
import type { Outbox } from '../outbox/outbox.js'
import { InflightTracker } from './inflight-tracker.js'
import { emptyLowClassSource, type LowClassSource } from './low-class-source.js'
import type { Uplink } from './uplink.js'

/** Tuning of the sender. */
export interface OutboxSenderOptions {
  /** Most envelopes in one batch/medium message (the protocol allows 500). */
  readonly batchMaxItems: number
  /** Medium envelopes published but not yet acked; bounds what can sit in front of a press on the wire. */
  readonly mediumWindow: number
  /** An event not acked this long after it was published is published again (the collector dedups). */
  readonly ackTimeoutMs: number
  /** Wait before resending an event rejected with retry:true. */
  readonly retryDelayMs: number
  /** No low-class unit is published while the uplink buffers more than this many bytes (default 4 KiB). */
  readonly lowMaxQueuedBytes?: number
}

/** What the sender reports; main.ts logs and counts. */
export interface OutboxSenderEvents {
  sent: [eventClass: EventClass, count: number]
  acked: [count: number]
  rejected: [id: string, code: string, willRetry: boolean]
  /** An ack or command message that could not be decoded; it is ignored. */
  badMessage: [error: unknown]
  publishFailed: [error: unknown]
  command: [command: Envelope<'command'>]
}

/** Collaborators of the sender. */
export interface OutboxSenderDeps {
  readonly deviceId: string
  readonly outbox: Outbox
  readonly uplink: Uplink
  readonly clock: Clock
  readonly options: OutboxSenderOptions
  readonly lowClass?: LowClassSource
}

interface Lane {
  isRunning: boolean
  isRequested: boolean
}

/**
 * Moves events from the outbox to the collector and forgets them on its ack. High events are published
 * the moment they are stored; medium ones in batches behind a small window; low only when nothing of a
 * higher class is unacked. After a reconnect everything unacked is sent again, high first, then medium,
 * then low. It never creates events, so a resend carries the same id and the collector dedups it.
 */
export class OutboxSender extends EventEmitter<OutboxSenderEvents> {
  readonly #deps: OutboxSenderDeps
  readonly #low: LowClassSource
  readonly #inflight: InflightTracker
  readonly #lanes: Record<EventClass, Lane> = {
    high: { isRunning: false, isRequested: false },
    medium: { isRunning: false, isRequested: false },
    low: { isRunning: false, isRequested: false },
  }
  #generation = 0
  #timeoutTimer: TimerHandle | undefined
  #isClosed = false

  constructor(deps: OutboxSenderDeps) {
    super()
    this.#deps = deps
    this.#low = deps.lowClass ?? emptyLowClassSource
    this.#inflight = new InflightTracker(deps.clock)
    deps.uplink.on('online', this.#onOnline)
    deps.uplink.on('offline', this.#onOffline)
    deps.uplink.on('message', this.#onMessage)
    deps.outbox.on('recorded', this.#onRecorded)
  }

  /** Events published and awaiting an ack. */
  get inflightCount(): number {
    return this.#inflight.size
  }

  /** True while event `id` is published and awaiting its ack. */
  isPublished(id: string): boolean {
    return this.#inflight.has(id)
  }

  /** Stops sending; the outbox keeps whatever is unacked for the next start. */
  close(): void {
    this.#isClosed = true
    this.#deps.clock.clearTimeout(this.#timeoutTimer)
    this.#deps.uplink.off('online', this.#onOnline)
    this.#deps.uplink.off('offline', this.#onOffline)
    this.#deps.uplink.off('message', this.#onMessage)
    this.#deps.outbox.off('recorded', this.#onRecorded)
  }

  /** Asks every lane to look for work; a lane already running looks again when done. */
  pump(): void {
    for (const eventClass of ['high', 'medium', 'low'] as const) this.#request(eventClass)
  }

  readonly #onRecorded = (eventClass: EventClass): void => {
    this.#request(eventClass)
  }

  readonly #onOnline = (): void => {
    this.#resetConnectionState()
    this.#scheduleTimeoutCheck()
    this.pump()
  }

  readonly #onOffline = (): void => {
    this.#resetConnectionState()
    this.#low.onOffline()
  }

  #resetConnectionState(): void {
    this.#generation++
    this.#inflight.clear()
    this.#deps.clock.clearTimeout(this.#timeoutTimer)
    this.#timeoutTimer = undefined
  }

  readonly #onMessage = (kind: 'ack' | 'command', payload: Buffer): void => {
    let envelope: Envelope
    try {
      envelope = decodeEvent(payload, { deviceId: this.#deps.deviceId })
    } catch (err) {
      this.emit('badMessage', err)
      return
    }
    if (kind === 'command' && envelope.type === 'command') {
      this.emit('command', envelope)
    } else if (kind === 'ack' && envelope.type === 'ack') {
      void this.#handleAck(envelope.payload)
    } else {
      this.emit('badMessage', new Error(`unexpected ${envelope.type} on the ${kind} topic`))
    }
  }

  async #handleAck(ack: Envelope<'ack'>['payload']): Promise<void> {
    const forget = [...ack.ids]
    for (const id of ack.ids) {
      this.#inflight.settle(id)
      this.#inflight.release(id)
    }
    for (const rejection of ack.rejected) {
      this.#inflight.settle(rejection.id)
      this.emit('rejected', rejection.id, rejection.code, rejection.retry)
      if (rejection.retry) {
        this.#inflight.hold(rejection.id, this.#deps.clock.now() + this.#deps.options.retryDelayMs)
        this.#deps.clock.setTimeout(() => this.pump(), this.#deps.options.retryDelayMs)
      } else {
        forget.push(rejection.id)
      }
    }
    try {
      await this.#low.onAck(ack)
    } catch (err) {
      this.emit('publishFailed', err)
    }
    try {
      const removed = await this.#deps.outbox.remove(forget)
      if (removed > 0) this.emit('acked', removed)
    } catch (err) {
      // The ids stay stored and are resent later; the collector acks duplicates again.
      this.emit('publishFailed', err)
    }
    this.pump()
  }

  #hasUnsent(eventClass: EventClass): boolean {
    return this.#deps.outbox.pendingIds(eventClass, 1, this.#inflight.isBlocked).length > 0
  }

  #request(eventClass: EventClass): void {
    const lane = this.#lanes[eventClass]
    lane.isRequested = true
    if (lane.isRunning || this.#isClosed) return
    lane.isRunning = true
    void this.#runLane(eventClass, lane)
  }

  async #runLane(eventClass: EventClass, lane: Lane): Promise<void> {
    try {
      while (lane.isRequested && !this.#isClosed) {
        lane.isRequested = false
        if (!this.#deps.uplink.isOnline) break
        if (eventClass === 'high') await this.#sendHigh()
        else if (eventClass === 'medium') await this.#sendMedium()
        else await this.#sendLow()
      }
    } catch (err) {
      this.emit('publishFailed', err)
    } finally {
      lane.isRunning = false
    }
  }

  /** Publishes every unsent high event at once, each as its own message. */
  async #sendHigh(): Promise<void> {
    const generation = this.#generation
    const ids = this.#deps.outbox.pendingIds('high', maxBatchItems, this.#inflight.isBlocked)
    if (ids.length === 0) return
    const bodies = await this.#deps.outbox.readBodies('high', ids)
    if (generation !== this.#generation) return
    const topic = topics.event(this.#deps.deviceId, 'high')
    for (const { id, body } of bodies) this.#publish(generation, id, 'high', topic, Buffer.from(body))
    this.emit('sent', 'high', bodies.length)
    this.#lanes.high.isRequested = true
    this.#request('medium')
  }

  /** Publishes medium batches while the window has room, never while a high event is unsent. */
  async #sendMedium(): Promise<void> {
    const { batchMaxItems, mediumWindow } = this.#deps.options
    while (this.#inflight.mediumCount < mediumWindow && !this.#hasUnsent('high')) {
      const generation = this.#generation
      const limit = Math.min(batchMaxItems, maxBatchItems, mediumWindow - this.#inflight.mediumCount)
      const ids = this.#deps.outbox.pendingIds('medium', limit, this.#inflight.isBlocked)
      if (ids.length === 0) break
      const bodies = await this.#deps.outbox.readBodies('medium', ids)
      if (generation !== this.#generation || bodies.length === 0) return
      const batch: { id: string; body: string }[] = []
      let batchBytes = 2
      for (const item of bodies) {
        if (this.#inflight.has(item.id)) continue
        if (item.type === 'snapshot') {
          // Snapshots are too big to batch: each travels alone on event/medium (docs/protocol.md).
          this.#publish(
            generation,
            item.id,
            'medium',
            topics.event(this.#deps.deviceId, 'medium'),
            Buffer.from(item.body),
          )
          continue
        }
        const bytes = Buffer.byteLength(item.body) + 1
        if (batchBytes + bytes > maxBatchBytes) break
        batch.push(item)
        batchBytes += bytes
      }
      if (batch.length > 0) {
        const payload = Buffer.from(`[${batch.map((b) => b.body).join(',')}]`)
        this.#publishBatch(generation, batch, payload)
      }
      this.emit('sent', 'medium', batch.length)
    }
    if (!this.#hasUnsent('medium') && this.#inflight.mediumCount === 0) this.#request('low')
  }

  /** Publishes one low event or one low-class unit, only when nothing of a higher class is unacked. */
  async #sendLow(): Promise<void> {
    const depth = this.#deps.outbox.depth()
    if (depth.count.high > 0 || depth.count.medium > 0) return
    const generation = this.#generation
    const ids = this.#deps.outbox.pendingIds('low', 1, this.#inflight.isBlocked)
    if (this.#inflight.hasLow()) return
    if (ids.length > 0) {
      const bodies = await this.#deps.outbox.readBodies('low', ids)
      if (generation !== this.#generation) return
      for (const { id, body } of bodies) {
        this.#publish(generation, id, 'low', topics.event(this.#deps.deviceId, 'low'), Buffer.from(body))
      }
      this.emit('sent', 'low', bodies.length)
      return
    }
    // Units of the source (clip chunks): as many as its own window allows, while nothing higher waits.
    const maxQueuedBytes = this.#deps.options.lowMaxQueuedBytes ?? 4096
    for (;;) {
      // A press published now goes behind whatever the socket still buffers: keep that short.
      if ((this.#deps.uplink.queuedBytes ?? 0) > maxQueuedBytes) break
      const unit = await this.#low.next()
      if (!unit || generation !== this.#generation) break
      this.#deps.uplink.publish(unit.topic, unit.payload).catch((err) => this.emit('publishFailed', err))
      this.emit('sent', 'low', 1)
      const now = this.#deps.outbox.depth()
      if (now.count.high > 0 || now.count.medium > 0) break
    }
  }

  #publish(generation: number, id: string, eventClass: EventClass, topic: string, payload: Buffer): void {
    this.#inflight.add(id, eventClass)
    this.#deps.uplink.publish(topic, payload).catch((err) => this.#onPublishFailed(generation, [id], err))
  }

  #publishBatch(generation: number, batch: readonly { id: string }[], payload: Buffer): void {
    for (const { id } of batch) this.#inflight.add(id, 'medium')
    this.#deps.uplink.publish(topics.batch(this.#deps.deviceId, 'medium'), payload).catch((err) =>
      this.#onPublishFailed(
        generation,
        batch.map((b) => b.id),
        err,
      ),
    )
  }

  #onPublishFailed(generation: number, ids: readonly string[], err: unknown): void {
    if (generation !== this.#generation) return
    for (const id of ids) this.#inflight.settle(id)
    this.emit('publishFailed', err)
  }

  /** Every ackTimeoutMs/2, events waiting longer than ackTimeoutMs become unsent again. */
  #scheduleTimeoutCheck(): void {
    const { ackTimeoutMs } = this.#deps.options
    this.#timeoutTimer = this.#deps.clock.setTimeout(
      () => {
        const expired = this.#inflight.expire(this.#deps.clock.now() - ackTimeoutMs)
        if (this.#deps.uplink.isOnline && !this.#isClosed) this.#scheduleTimeoutCheck()
        if (expired > 0) this.pump()
      },
      Math.max(1, ackTimeoutMs / 2),
    )
  }
}
