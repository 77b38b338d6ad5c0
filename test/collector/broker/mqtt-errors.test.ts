import { connect, type Socket } from 'node:net'
import { generate } from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import { eventually } from '../../support/eventually.js'
import { addDevice, metric, startCollector, tempDir, testConfig } from '../collector-harness.js'

/** Opens a raw TCP connection, writes the bytes, and resolves when the collector closes it. */
function rawConnection(port: number, bytes: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1', () => {
      for (const chunk of bytes) socket.write(chunk)
    })
    socket.on('error', () => {})
    // Read (and drop) what the collector sends, so its close reaches this end.
    socket.resume()
    socket.once('close', () => resolve())
  })
}

const rejections = (collector: RunningCollector, reason: string) =>
  metric(collector, 'doorbell_collector_rejections_total', `reason="${reason}"`)

describe('how the collector tells aedes’ errors apart (real aedes, raw sockets)', () => {
  const dir = tempDir('mqtt-errors')
  let collector: RunningCollector
  let secret: string

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path, { limits: { connectTimeoutMs: 300 } }))
  })
  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('counts a connection that never sends CONNECT as connect_timeout, not as a malformed packet', async () => {
    await rawConnection(collector.mqttPort, [])
    await eventually(
      async () => (await rejections(collector, 'connect_timeout')) === 1,
      'connect_timeout',
      5000,
    )
    expect(await rejections(collector, 'malformed_packet')).toBe(0)
  })

  it('counts a CONNECT the MQTT parser refuses as malformed_packet, not as a connect timeout', async () => {
    // Protocol name "MQTX": mqtt-packet refuses it ("Invalid protocolId").
    const bad = Buffer.from([
      0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00,
    ])
    await rawConnection(collector.mqttPort, [bad])
    await eventually(async () => (await rejections(collector, 'malformed_packet')) === 1, 'malformed', 5000)
    expect(await rejections(collector, 'connect_timeout')).toBe(1)
  })

  it('does not count a keep-alive timeout of a quiet device as a malformed packet', async () => {
    const before = await rejections(collector, 'malformed_packet')
    const connectPacket = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'porch',
      clean: true,
      keepalive: 1,
      username: 'porch',
      password: Buffer.from(secret),
    })
    // aedes closes the connection after 1.5 keep-alive periods without a packet.
    await rawConnection(collector.mqttPort, [connectPacket])
    expect(await rejections(collector, 'malformed_packet')).toBe(before)
    expect(await rejections(collector, 'connect_timeout')).toBe(1)
  })
})
