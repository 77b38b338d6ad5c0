import mqttPacket, { type IConnackPacket } from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import { topics } from '../../../shared/protocol/index.js'
import { addDevice, metric, startCollector, tempDir, testConfig } from '../collector-harness.js'
import { connectPacket, login, type RawClient, rawClient } from './raw-mqtt.js'

/** A CONNECT body built by hand, so any byte can be wrong: name, level, flags, then the strings. */
function rawConnect(
  name: string,
  level: number,
  clientId: Buffer,
  extra: Buffer = Buffer.alloc(0),
  flags = 0x02,
) {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
  const body = Buffer.concat([
    str(Buffer.from(name)),
    Buffer.from([level, flags, 0, 30]),
    str(clientId),
    extra,
  ])
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

const reasons = (collector: RunningCollector, reason: string) =>
  metric(collector, 'doorbell_collector_rejections_total', `reason="${reason}"`)

describe('MQTT 3.1.1 conformance at the front door', () => {
  const dir = tempDir('conformance')
  let collector: RunningCollector
  let secret: string

  /** A device connection that got CONNACK 0. */
  const connected = async (clientId = 'porch:raw'): Promise<RawClient> => {
    const { client, connack } = await login(collector.mqttPort, {
      clientId,
      username: 'porch',
      password: Buffer.from(secret),
    })
    expect((connack as IConnackPacket).returnCode).toBe(0)
    return client
  }

  /** Sends a packet and expects the connection closed, with the reason counted once more. */
  const expectCut = async (client: RawClient, packet: Buffer | mqttPacket.Packet, reason: string) => {
    const before = await reasons(collector, reason)
    client.send(packet)
    await client.closed
    expect(await reasons(collector, reason)).toBe(before + 1)
  }

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path))
  })

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('closes a CONNECT whose client id holds U+0000 or invalid UTF-8 (MQTT-1.5.3)', async () => {
    for (const clientId of [
      Buffer.from('porch:\u0000x'),
      Buffer.from([0x70, 0x3a, 0xff, 0xfe]),
      Buffer.from([0x70, 0xed, 0xa0, 0x80]),
    ]) {
      const client = await rawClient(collector.mqttPort)
      await expectCut(client, rawConnect('MQTT', 4, clientId), 'bad_utf8')
      expect(client.packets).toEqual([])
    }
  })

  it('closes a CONNECT whose username or will topic holds U+0000', async () => {
    const username = await rawClient(collector.mqttPort)
    await expectCut(
      username,
      connectPacket({ clientId: 'porch:u', username: 'porch\u0000', password: Buffer.from(secret) }),
      'bad_utf8',
    )
    const will = await rawClient(collector.mqttPort)
    await expectCut(
      will,
      connectPacket({
        clientId: 'porch:w',
        username: 'porch',
        password: Buffer.from(secret),
        will: { topic: `${topics.status('porch')}\u0000`, payload: Buffer.from('{}'), qos: 0, retain: false },
      }),
      'bad_utf8',
    )
    expect(will.packets).toEqual([])
  })

  it('closes a PUBLISH whose topic holds U+0000', async () => {
    const client = await connected()
    await expectCut(
      client,
      {
        cmd: 'publish',
        topic: `${topics.status('porch')}\u0000`,
        payload: Buffer.from('{}'),
        qos: 1,
        messageId: 5,
        retain: false,
        dup: false,
      },
      'bad_utf8',
    )
    expect(client.packets.filter((p) => p.cmd === 'puback')).toEqual([])
  })

  it('closes a PUBLISH, SUBSCRIBE or acknowledgement with packet id 0 (MQTT-2.3.1-1)', async () => {
    const publish = await connected()
    // mqtt-packet will not write id 0: the bytes by hand, a QoS 1 PUBLISH on the status topic.
    const topic = Buffer.from(topics.status('porch'))
    const body = Buffer.concat([
      Buffer.from([0, topic.length]),
      topic,
      Buffer.from([0, 0]),
      Buffer.from('{}'),
    ])
    await expectCut(publish, Buffer.concat([Buffer.from([0x32, body.length]), body]), 'packet_id_zero')
    expect(publish.packets.filter((p) => p.cmd === 'puback')).toEqual([])
    const subscribe = await connected()
    const filter = Buffer.from(topics.ack('porch'))
    const sub = Buffer.concat([Buffer.from([0, 0, 0, filter.length]), filter, Buffer.from([1])])
    await expectCut(subscribe, Buffer.concat([Buffer.from([0x82, sub.length]), sub]), 'packet_id_zero')
  })

  it('closes packets with reserved flag bits set (MQTT-2.2.2-2)', async () => {
    const flagged = [
      Buffer.from([0x31 | 0x08, 4, 0, 1, 0x61, 0x62]), // PUBLISH QoS 0 with DUP set (MQTT-3.3.1-2)
      Buffer.from([0x36, 6, 0, 1, 0x61, 0, 7, 0x62]), // PUBLISH with QoS 3 (MQTT-3.3.1-4)
      Buffer.from([0x80, 6, 0, 9, 0, 1, 0x61, 0]), // SUBSCRIBE whose flags are 0, not 2
      Buffer.from([0xc1, 0]), // PINGREQ with a flag
    ]
    for (const packet of flagged) await expectCut(await connected(), packet, 'reserved_flags')
    const connect = await rawClient(collector.mqttPort)
    await expectCut(
      connect,
      rawConnect('MQTT', 4, Buffer.from('porch:r'), Buffer.alloc(0), 0x03),
      'reserved_flags',
    )
  })

  it('answers a protocol name and level that do not belong together with CONNACK 1 and closes', async () => {
    for (const [name, level] of [
      ['MQTT', 3],
      ['MQIsdp', 4],
    ] as const) {
      const client = await rawClient(collector.mqttPort)
      await expectCut(client, rawConnect(name, level, Buffer.from('porch:v')), 'protocol_mismatch')
      expect(Buffer.concat(client.bytes)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]))
    }
  })

  it('answers an MQTT 5 CONNECT with a v5 CONNACK, reason 0x84 Unsupported Protocol Version', async () => {
    const client = await rawClient(collector.mqttPort)
    await expectCut(
      client,
      mqttPacket.generate(
        connectPacket({
          protocolVersion: 5,
          clientId: 'porch:5',
          username: 'porch',
          password: Buffer.from(secret),
        }),
        {
          protocolVersion: 5,
        },
      ),
      'unsupported_protocol_version',
    )
    const answer = Buffer.concat(client.bytes)
    expect(answer).toEqual(Buffer.from([0x20, 0x03, 0x00, 0x84, 0x00]))
    const parser = mqttPacket.parser({ protocolVersion: 5 })
    const parsed = new Promise<mqttPacket.Packet>((resolve) => parser.once('packet', resolve))
    parser.parse(answer)
    expect(await parsed).toMatchObject({ cmd: 'connack', reasonCode: 0x84 })
  })

  it('closes a connection that sends an acknowledgement for a packet it was never sent', async () => {
    for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
      const client = await connected()
      await expectCut(client, { cmd, messageId: 4242 } as mqttPacket.Packet, 'unsolicited_ack')
    }
  })

  it('accepts the acknowledgement of a packet it did send', async () => {
    const client = await connected('porch')
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: topics.command('porch'), qos: 1 }],
    })
    await client.next('suback')
    const command = collector.sendCommand('porch', { name: 'snapshot' })
    const publish = (await client.next('publish')) as mqttPacket.IPublishPacket
    await command
    client.send({ cmd: 'puback', messageId: publish.messageId as number })
    client.send({ cmd: 'pingreq' })
    expect((await client.next('pingresp')) as mqttPacket.Packet).toMatchObject({ cmd: 'pingresp' })
    client.end()
  })
})
