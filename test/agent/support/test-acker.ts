import mqtt, { type MqttClient } from 'mqtt'
import {
  createEnvelope,
  decodeBatch,
  decodeEvent,
  type Envelope,
  parseTopic,
  topics,
} from '../../../shared/protocol/index.js'

/**
 * A stand-in for the collector's ack path, per the agreed protocol (docs/protocol.md): it subscribes to
 * every device's event and batch topics, "stores" each envelope by id (first copy wins), and publishes
 * an ack envelope listing the ids on the device's ack topic at QoS 1. A duplicate is acked again.
 */
export class TestAcker {
  /** Stored events by id, in first-arrival order. */
  readonly stored = new Map<string, Envelope>()
  /** Every envelope received, duplicates included, in arrival order. */
  readonly arrivals: Envelope[] = []
  /** Latest retained/live status per device. */
  readonly statuses: Array<{ deviceId: string; state: string }> = []
  isAcking = true

  private constructor(private readonly client: MqttClient) {}

  /** Connects to the broker and subscribes. */
  static async start(url: string): Promise<TestAcker> {
    const client = await mqtt.connectAsync(url, { clientId: `acker-${process.pid}`, reconnectPeriod: 200 })
    const acker = new TestAcker(client)
    client.on('message', (topic, payload) => acker.#onMessage(topic, payload))
    await client.subscribeAsync(
      [topics.allDevices('event'), topics.allDevices('batch'), topics.allDevices('status')],
      { qos: 1 },
    )
    return acker
  }

  /** Stored events of a class, in first-arrival order. */
  storedOf(eventClass: string): Envelope[] {
    return [...this.stored.values()].filter((e) => e.class === eventClass)
  }

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic)
    const expect = {
      deviceId: parsed.deviceId,
      ...(parsed.eventClass ? { eventClass: parsed.eventClass } : {}),
    }
    if (parsed.kind === 'status') {
      const status = decodeEvent(payload, expect)
      if (status.type === 'status')
        this.statuses.push({ deviceId: parsed.deviceId, state: status.payload.state })
      return
    }
    const envelopes = parsed.kind === 'batch' ? decodeBatch(payload, expect) : [decodeEvent(payload, expect)]
    for (const e of envelopes) {
      this.arrivals.push(e)
      if (!this.stored.has(e.id)) this.stored.set(e.id, e)
    }
    if (!this.isAcking) return
    const ack = createEnvelope({
      deviceId: parsed.deviceId,
      seq: 0,
      type: 'ack',
      payload: { ids: envelopes.map((e) => e.id), rejected: [] },
    })
    void this.client.publishAsync(topics.ack(parsed.deviceId), Buffer.from(JSON.stringify(ack)), { qos: 1 })
  }

  async close(): Promise<void> {
    await this.client.endAsync(true)
  }
}
