import { PassThrough } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { type LimiterRefusal, MqttPacketLimiter } from '../../../collector/broker/mqtt-packet-limiter.js'

function setup(maxPacketBytes = 1000) {
  const socket = new PassThrough()
  const refusals: [LimiterRefusal, number][] = []
  const limiter = new MqttPacketLimiter(socket, {
    maxPacketBytes,
    onRefused: (reason, bytes) => refusals.push([reason, bytes]),
  })
  const received: Buffer[] = []
  limiter.on('data', (chunk: Buffer) => received.push(chunk))
  limiter.on('error', () => {})
  return { socket, limiter, refusals, received }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** The CONNECT every connection starts with (MQTT-3.1.0-1). */
const connect = mqttPacket.generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clientId: 'porch',
  clean: true,
  keepalive: 30,
})

describe('MqttPacketLimiter', () => {
  it('passes packets under the limit through unchanged, across chunk boundaries', async () => {
    const { socket, refusals, received } = setup()
    // PUBLISH QoS 0 of 200 bytes: topic "ab", then 196 bytes of payload.
    const packet = Buffer.concat([Buffer.from([0x30, 0xc8, 0x01, 0, 2, 0x61, 0x62]), Buffer.alloc(196, 7)])
    const twice = Buffer.concat([connect, packet, packet])
    for (let i = 0; i < twice.length; i += 3) socket.write(twice.subarray(i, i + 3))
    await tick()
    expect(refusals).toEqual([])
    expect(Buffer.concat(received)).toEqual(twice)
  })

  it('cuts the connection as soon as a packet over the limit is declared', async () => {
    const { socket, limiter, refusals, received } = setup()
    socket.write(connect)
    // PUBLISH declaring 100 MB: 100 * 2^20 = 0x6400000 -> varint 80 80 80 32.
    socket.write(Buffer.from([0x30, 0x80, 0x80]))
    socket.write(Buffer.from([0x80, 0x32, 1, 2, 3]))
    await tick()
    expect(refusals).toHaveLength(1)
    expect(refusals[0]?.[0]).toBe('packet_too_large')
    expect(limiter.destroyed).toBe(true)
    expect(socket.destroyed).toBe(true)
    // Only the CONNECT and the header bytes before the length was known went through; nothing of the body.
    expect(Buffer.concat(received).length).toBeLessThanOrEqual(connect.length + 5)
  })

  it('refuses a remaining length with a fifth continuation byte', async () => {
    const { socket, refusals } = setup(Number.MAX_SAFE_INTEGER)
    socket.write(connect)
    socket.write(Buffer.from([0x30, 0x81, 0x80, 0x80, 0x81, 0x01]))
    await tick()
    expect(refusals[0]?.[0]).toBe('malformed_length')
  })

  it('tracks zero-length packets such as PINGREQ', async () => {
    const { socket, refusals, received } = setup(100)
    socket.write(Buffer.concat([connect, Buffer.from([0xc0, 0x00, 0xc0, 0x00, 0x30, 0x02, 0, 0])]))
    await tick()
    expect(refusals).toEqual([])
    expect(Buffer.concat(received).length).toBe(connect.length + 8)
  })

  it('writes go to the socket', async () => {
    const { socket, limiter } = setup()
    const out: Buffer[] = []
    socket.on('data', () => {})
    const write = socket.write.bind(socket)
    socket.write = ((chunk: Buffer, ...rest: never[]) => {
      out.push(chunk)
      return write(chunk, ...rest)
    }) as typeof socket.write
    limiter.write(Buffer.from([0x40, 0x02, 0, 1]))
    await tick()
    expect(Buffer.concat(out)).toEqual(Buffer.from([0x40, 0x02, 0, 1]))
  })

  it('checks a PUBLISH topic and packet id wherever the chunks split it', async () => {
    const good = mqttPacket.generate({
      cmd: 'publish',
      topic: 'doorbell/v1/porch/event/medium',
      payload: Buffer.alloc(50, 1),
      qos: 1,
      messageId: 7,
      retain: false,
      dup: false,
    })
    // The same packet with packet id 0 (mqtt-packet will not write it).
    const zero = Buffer.from(good)
    zero.writeUInt16BE(0, 2 + 2 + 'doorbell/v1/porch/event/medium'.length)
    for (let split = 1; split < 40; split++) {
      const ok = setup()
      const stream = Buffer.concat([connect, good, good])
      for (let at = 0; at < stream.length; at += split) ok.socket.write(stream.subarray(at, at + split))
      await tick()
      expect(ok.refusals, `split ${split}`).toEqual([])
      expect(Buffer.concat(ok.received)).toEqual(stream)
      const bad = setup()
      const badStream = Buffer.concat([connect, zero])
      for (let at = 0; at < badStream.length; at += split)
        bad.socket.write(badStream.subarray(at, at + split))
      await tick()
      expect(
        bad.refusals.map(([reason]) => reason),
        `split ${split}`,
      ).toEqual(['packet_id_zero'])
    }
  })

  it('checks every split CONNECT and SUBSCRIBE in full, though a finished head is let go after each', async () => {
    const subscribe = (topic: string, messageId: number) =>
      mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos: 1 }] })
    const good = subscribe('doorbell/v1/porch/ack', 1)
    // U+0000 in a topic filter (MQTT-1.5.3-2), in the second SUBSCRIBE: the head must be read afresh.
    const bad = subscribe('doorbell/v1/porch/\u0000', 2)
    for (let split = 1; split < 30; split++) {
      const ok = setup()
      const stream = Buffer.concat([connect, good, good])
      for (let at = 0; at < stream.length; at += split) ok.socket.write(stream.subarray(at, at + split))
      await tick()
      expect(ok.refusals, `split ${split}`).toEqual([])
      expect(Buffer.concat(ok.received)).toEqual(stream)
      const cut = setup()
      const badStream = Buffer.concat([connect, good, bad])
      for (let at = 0; at < badStream.length; at += split)
        cut.socket.write(badStream.subarray(at, at + split))
      await tick()
      expect(
        cut.refusals.map(([reason]) => reason),
        `split ${split}`,
      ).toEqual(['bad_utf8'])
    }
  })
})
