import { EventEmitter } from 'node:events'
import type { IClientOptions, MqttClient } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { ExponentialBackoff } from '../../../agent/uplink/backoff.js'
import { MqttUplink } from '../../../agent/uplink/mqtt-uplink.js'

describe('ExponentialBackoff', () => {
  it('doubles up to the ceiling with jitter between half and all of it', () => {
    const top = new ExponentialBackoff({ initialDelayMs: 1_000, maxDelayMs: 10_000 }, () => 0.999_999)
    expect(Array.from({ length: 6 }, () => top.next())).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
    const bottom = new ExponentialBackoff({ initialDelayMs: 1_000, maxDelayMs: 10_000 }, () => 0)
    expect(Array.from({ length: 6 }, () => bottom.next())).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000])
  })

  it('starts over after reset', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000 }, () => 0.999_999)
    backoff.next()
    backoff.next()
    backoff.reset()
    expect(backoff.next()).toBe(100)
  })
})

/** A stand-in for an MQTT.js client: the test decides when it connects or closes. */
class FakeClient extends EventEmitter {
  readonly published: string[] = []
  stream = { setNoDelay: () => undefined }
  constructor(readonly options: IClientOptions) {
    super()
  }
  async subscribeAsync() {
    return []
  }
  async publishAsync(topic: string) {
    this.published.push(topic)
  }
  end() {
    return this
  }
  async endAsync() {}
}

describe('MqttUplink reconnects', () => {
  function setup() {
    const clock = new ManualClock()
    const clients: FakeClient[] = []
    const delays: number[] = []
    const uplink = new MqttUplink({
      clock,
      random: () => 0.999_999,
      statusMessage: (state) => Buffer.from(state),
      options: {
        url: 'mqtt://collector:1883',
        deviceId: 'front-door',
        keepaliveS: 30,
        connectTimeoutMs: 5_000,
        backoff: { initialDelayMs: 1_000, maxDelayMs: 8_000 },
      },
      connect: (_url, options) => {
        const client = new FakeClient(options)
        clients.push(client)
        return client as unknown as MqttClient
      },
    })
    uplink.on('offline', (delayMs) => delays.push(delayMs))
    return { clock, clients, delays, uplink }
  }

  it('waits longer after each failed attempt, on the clock, and starts over once connected', async () => {
    const { clock, clients, delays, uplink } = setup()
    uplink.start()
    for (let i = 0; i < 5; i++) {
      clients.at(-1)?.emit('close')
      clock.advance((delays.at(-1) ?? 0) - 1)
      expect(clients).toHaveLength(i + 1)
      clock.advance(1)
      expect(clients).toHaveLength(i + 2)
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000])
    clients.at(-1)?.emit('connect')
    await new Promise((resolve) => setImmediate(resolve))
    expect(uplink.isOnline).toBe(true)
    clients.at(-1)?.emit('close')
    expect(delays.at(-1)).toBe(1_000)
    expect(uplink.isOnline).toBe(false)
  })

  it('connects with a stable client id, a persistent session, no MQTT.js reconnect and a retained offline will', () => {
    const { clients, uplink } = setup()
    uplink.start()
    const options = clients[0]?.options
    expect(options).toMatchObject({
      clientId: 'front-door',
      clean: false,
      reconnectPeriod: 0,
      username: 'front-door',
      // Else mqtt-packet builds its 6 MiB cache of every packet id on the first write.
      writeCache: false,
    })
    expect(options?.will).toMatchObject({ topic: 'doorbell/v1/front-door/status', qos: 1, retain: true })
    expect(String(options?.will?.payload)).toBe('offline')
  })

  it('publishes the retained online status after subscribing', async () => {
    const { clients, uplink } = setup()
    uplink.start()
    clients[0]?.emit('connect')
    await new Promise((resolve) => setImmediate(resolve))
    expect(clients[0]?.published).toEqual(['doorbell/v1/front-door/status'])
  })
})
