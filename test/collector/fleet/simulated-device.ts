import mqtt, { type MqttClient } from 'mqtt'
import { type Envelope, encodeEvent, topics } from '../../../shared/protocol/index.js'

/**
 * A device that behaves as the agent's uplink does on the wire: clean session off, SUBSCRIBE to ack and
 * command in one packet at every connect, every event kept until its ack envelope names it and sent again
 * after each reconnect, a refusal marked retry sent again a little later. It reconnects by itself every
 * 100 ms and records how long each disconnection lasted.
 */
export class SimulatedDevice {
  readonly deviceId: string
  readonly acked = new Set<string>()
  readonly refusedForGood: { id: string; code: string }[] = []
  /** Length of each disconnection, from the socket closing to the next CONNACK, in ms. */
  readonly gapsMs: number[] = []
  readonly #client: MqttClient
  readonly #unacked = new Map<string, Envelope>()
  #closedAtMs: number | undefined
  #isReady = false

  constructor(port: number, deviceId: string, secret: string) {
    this.deviceId = deviceId
    this.#client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: deviceId,
      username: deviceId,
      password: secret,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 100,
      connectTimeout: 2000,
      resubscribe: false,
    })
    this.#client.on('error', () => {})
    this.#client.on('close', () => {
      this.#isReady = false
      this.#closedAtMs ??= Date.now()
    })
    this.#client.on('connect', () => {
      if (this.#closedAtMs !== undefined) this.gapsMs.push(Date.now() - this.#closedAtMs)
      this.#closedAtMs = undefined
      void this.#client
        .subscribeAsync([topics.ack(deviceId), topics.command(deviceId)], { qos: 1 })
        .then(() => {
          this.#isReady = true
          for (const envelope of this.#unacked.values()) this.#publish(envelope)
        })
        .catch(() => {})
    })
    this.#client.on('message', (topic, message) => {
      if (topic !== topics.ack(deviceId)) return
      const ack = JSON.parse(message.toString()) as {
        payload: { ids: string[]; rejected: { id: string; code: string; retry: boolean }[] }
      }
      for (const id of ack.payload.ids) {
        this.#unacked.delete(id)
        this.acked.add(id)
      }
      for (const refusal of ack.payload.rejected) {
        const envelope = this.#unacked.get(refusal.id)
        if (!envelope) continue
        if (!refusal.retry) {
          this.#unacked.delete(refusal.id)
          this.refusedForGood.push(refusal)
          continue
        }
        setTimeout(() => this.#publish(envelope), 200).unref()
      }
    })
  }

  /** True between a SUBACK and the next disconnection. */
  get isReady(): boolean {
    return this.#isReady
  }

  /** Events sent and not yet acked. */
  get unackedCount(): number {
    return this.#unacked.size
  }

  /** Records an event: sent now when connected, else after the next connect. */
  send(envelope: Envelope): void {
    this.#unacked.set(envelope.id, envelope)
    this.#publish(envelope)
  }

  #publish(envelope: Envelope): void {
    if (!this.#isReady || !this.#unacked.has(envelope.id)) return
    this.#client.publish(topics.event(this.deviceId, envelope.class), encodeEvent(envelope), { qos: 1 })
  }

  async close(): Promise<void> {
    await this.#client.endAsync(true)
  }
}
