import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { Aedes, type Client } from 'aedes'
import { generate } from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isConnectTimeout, isMalformedPacket } from '../../../collector/broker/mqtt-errors.js'
import { eventually } from '../../support/eventually.js'
import { collectorWithPorch, rejections } from '../collector-harness.js'
import { connectPacket, rawClient } from './raw-mqtt.js'

describe('telling aedes’ errors apart (bare aedes on a socket, no front door)', () => {
  let broker: Aedes
  let server: Server
  let port: number
  const errors: { client: Client; err: Error }[] = []

  beforeAll(async () => {
    broker = await Aedes.createBroker({ connectTimeout: 200 })
    broker.on('clientError', (client, err) => errors.push({ client, err }))
    broker.on('connectionError', (client, err) => errors.push({ client, err }))
    server = createServer(broker.handle)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as { port: number }).port
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  /** The error aedes reports for one raw connection that sends these bytes. */
  async function errorOf(bytes: Buffer[]): Promise<{ client: Client; err: Error }> {
    const before = errors.length
    const client = await rawClient(port)
    for (const chunk of bytes) client.send(chunk)
    await client.closed
    return eventually(() => errors[before], 'an aedes error', 5000)
  }

  it('tells a packet the MQTT parser refused by the parser’s own error object', async () => {
    // Protocol name "MQTX": mqtt-packet refuses it ("Invalid protocolId").
    const bad = Buffer.from([
      0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00,
    ])
    const { client, err } = await errorOf([bad])
    expect(isMalformedPacket(client, err)).toBe(true)
    expect(isConnectTimeout(err)).toBe(false)
  })

  it('tells aedes’ connect timer by its message, the one text comparison, and not as a malformed packet', async () => {
    const { client, err } = await errorOf([])
    expect(isConnectTimeout(err)).toBe(true)
    expect(isMalformedPacket(client, err)).toBe(false)
  })

  it('counts neither for a keep-alive timeout', async () => {
    const connect = connectPacket({ clientId: 'quiet', keepalive: 1 })
    const { client, err } = await errorOf([generate(connect)])
    expect(isMalformedPacket(client, err)).toBe(false)
    expect(isConnectTimeout(err)).toBe(false)
  })
})

describe('the collector’s counts of aedes’ errors', () => {
  const rig = collectorWithPorch('mqtt-errors', { limits: { connectTimeoutMs: 300 } })

  it('counts a connection that never sends CONNECT as connect_timeout, not as a malformed packet', async () => {
    const { collector } = rig
    await (await rawClient(collector.mqttPort)).closed
    await eventually(
      async () => (await rejections(collector, 'connect_timeout')) === 1,
      'connect_timeout',
      5000,
    )
    expect(await rejections(collector, 'malformed_packet')).toBe(0)
  })

  it('does not count a keep-alive timeout of a quiet device as a malformed packet', async () => {
    const { collector, secret } = rig
    const client = await rawClient(collector.mqttPort)
    client.send(
      connectPacket({ clientId: 'porch', keepalive: 1, username: 'porch', password: Buffer.from(secret) }),
    )
    // aedes closes the connection after 1.5 keep-alive periods without a packet.
    await client.closed
    expect(await rejections(collector, 'malformed_packet')).toBe(0)
    expect(await rejections(collector, 'connect_timeout')).toBe(1)
  })
})
