import { EventEmitter } from 'node:events'
import {
  createEnvelope,
  decodeBatch,
  decodeEvent,
  type Envelope,
  parseTopic,
} from '../../shared/protocol/index.js'
import type { Uplink, UplinkEvents } from './uplink.js'

/** One message the loopback collector received. */
export interface LoopbackMessage {
  readonly topic: string
  readonly envelopes: readonly Envelope[]
}

/**
 * The simulated twin of MqttUplink: an in-process collector that stores by id and acks every event it
 * receives, like the real one (duplicates are acked again, not stored again). Tests and `--simulate`
 * without a broker use it; `setOnline(false)` plays a lost Wi-Fi.
 */
export class LoopbackUplink extends EventEmitter<UplinkEvents> implements Uplink {
  readonly received: LoopbackMessage[] = []
  /** Stored events by id, first copy wins. */
  readonly stored = new Map<string, Envelope>()
  #isOnline = false
  #isStarted = false
  #shouldBeOnline = true
  /** When false, events are stored but no ack is sent (a collector that is slow or gone). */
  isAcking = true

  readonly #deviceId: string

  constructor(deviceId: string) {
    super()
    this.#deviceId = deviceId
  }

  get isOnline(): boolean {
    return this.#isOnline
  }

  start(): void {
    this.#isStarted = true
    if (this.#shouldBeOnline) this.setOnline(true)
  }

  /** Simulates the connection coming up or going down. */
  setOnline(isOnline: boolean): void {
    this.#shouldBeOnline = isOnline
    if (!this.#isStarted || isOnline === this.#isOnline) return
    this.#isOnline = isOnline
    if (isOnline) this.emit('online')
    else this.emit('offline', 0)
  }

  async publish(topic: string, payload: Buffer): Promise<void> {
    if (!this.#isOnline) throw new Error('uplink is offline')
    const parsed = parseTopic(topic)
    const expect = {
      deviceId: parsed.deviceId,
      ...(parsed.eventClass ? { eventClass: parsed.eventClass } : {}),
    }
    const envelopes =
      parsed.kind === 'batch'
        ? decodeBatch(payload, expect)
        : parsed.kind === 'event' || parsed.kind === 'status'
          ? [decodeEvent(payload, expect)]
          : []
    this.received.push({ topic, envelopes })
    if (parsed.kind === 'status') return
    for (const e of envelopes) if (!this.stored.has(e.id)) this.stored.set(e.id, e)
    if (!this.isAcking || envelopes.length === 0) return
    const ack = createEnvelope({
      deviceId: this.#deviceId,
      seq: 0,
      type: 'ack',
      payload: { ids: envelopes.map((e) => e.id), rejected: [] },
    })
    const isOnlineNow = this.#isOnline
    setImmediate(() => {
      if (isOnlineNow && this.#isOnline) this.emit('message', 'ack', Buffer.from(JSON.stringify(ack)))
    })
  }

  async close(): Promise<void> {
    this.#isStarted = false
    this.#isOnline = false
  }
}
