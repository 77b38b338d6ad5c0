import type { IConnackPacket, IPublishPacket } from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import { topics } from '../../../shared/protocol/index.js'
import { addDevice, metric, startCollector, tempDir, testConfig } from '../collector-harness.js'
import { login, type RawClient } from './raw-mqtt.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('MQTT sessions are bounded', () => {
  const dir = tempDir('sessions')
  let collector: RunningCollector
  let secret: string
  const open: RawClient[] = []

  const device = async (clientId: string, clean: boolean) => {
    const result = await login(collector.mqttPort, {
      clientId,
      username: 'porch',
      password: Buffer.from(secret),
      clean,
    })
    open.push(result.client)
    return result
  }
  const sessionCount = () => metric(collector, 'doorbell_collector_sessions')

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path))
  })

  afterAll(async () => {
    for (const client of open) client.end()
    await collector?.close()
    dir.cleanup()
  })

  it('caps the sessions one device may hold, and the device itself still gets in', async () => {
    // Twenty tools of the device leave persistent sessions behind, one after the other.
    for (let i = 0; i < 20; i++) {
      const { client, connack } = await device(`porch:tool${i}`, false)
      expect((connack as IConnackPacket).returnCode).toBe(0)
      client.end()
      await client.closed
    }
    await sleep(100)
    expect(await sessionCount()).toBe(4)
    expect(
      await metric(collector, 'doorbell_collector_session_drops_total', 'what="session",reason="evicted"'),
    ).toBe(16)
    // Four held open at once fill the device's share; a fifth tool is refused, the device is not.
    const held = await Promise.all([0, 1, 2, 3].map((i) => device(`porch:held${i}`, true)))
    for (const { connack } of held) expect((connack as IConnackPacket).returnCode).toBe(0)
    const fifth = await device('porch:fifth', true)
    expect((fifth.connack as IConnackPacket).returnCode).toBe(3)
    expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="session_limit"')).toBe(1)
    const own = await device('porch', true)
    expect((own.connack as IConnackPacket).returnCode).toBe(0)
    for (const { client } of [...held, own]) client.end()
    await sleep(100)
  })

  it('answers session present 1 for a persistent session that has no subscriptions (MQTT-3.2.2-2)', async () => {
    const first = await device('porch:quiet', false)
    expect((first.connack as IConnackPacket).sessionPresent).toBe(false)
    first.client.end()
    await first.client.closed
    const second = await device('porch:quiet', false)
    expect((second.connack as IConnackPacket).sessionPresent).toBe(true)
    second.client.end()
    const clean = await device('porch:quiet', true)
    expect((clean.connack as IConnackPacket).sessionPresent).toBe(false)
    clean.client.end()
  })

  it('keeps at most limits.sessions.maxQueuedMessages for an offline session and counts the rest', async () => {
    const first = await device('porch', false)
    expect((first.connack as IConnackPacket).returnCode).toBe(0)
    await sleep(100)
    first.client.end()
    await first.client.closed
    await sleep(100)
    for (let i = 0; i < 150; i++) await collector.sendCommand('porch', { name: 'snapshot' })
    const back = await device('porch', false)
    expect((back.connack as IConnackPacket).sessionPresent).toBe(true)
    const received: IPublishPacket[] = []
    for (;;) {
      const packet = await back.client.next('publish', 1000)
      if (packet === 'closed' || packet === 'timeout') break
      const publish = packet as IPublishPacket
      if (publish.topic !== topics.command('porch')) continue
      received.push(publish)
      back.client.send({ cmd: 'puback', messageId: publish.messageId as number })
    }
    back.client.end()
    expect(received).toHaveLength(100)
    expect(
      await metric(collector, 'doorbell_collector_session_drops_total', 'what="message",reason="queue_full"'),
    ).toBe(50)
  })
})

describe('offline sessions expire', () => {
  const dir = tempDir('sessions-expire')
  let collector: RunningCollector
  let secret: string

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(
      testConfig(dir.path, { limits: { sessions: { offlineExpiryMs: 1000 } } }),
    )
  })

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('removes a session offline longer than limits.sessions.offlineExpiryMs, with its queue', async () => {
    const password = Buffer.from(secret)
    const first = await login(collector.mqttPort, {
      clientId: 'porch',
      username: 'porch',
      password,
      clean: false,
    })
    await sleep(100)
    first.client.end()
    await first.client.closed
    for (let i = 0; i < 5; i++) await collector.sendCommand('porch', { name: 'snapshot' })
    await sleep(1600)
    const back = await login(collector.mqttPort, {
      clientId: 'porch',
      username: 'porch',
      password,
      clean: false,
    })
    expect((back.connack as IConnackPacket).sessionPresent).toBe(false)
    const packet = await back.client.next('publish', 500)
    back.client.end()
    expect(packet).toBe('timeout')
    expect(
      await metric(collector, 'doorbell_collector_session_drops_total', 'what="session",reason="expired"'),
    ).toBe(1)
    expect(
      await metric(collector, 'doorbell_collector_session_drops_total', 'what="message",reason="expired"'),
    ).toBe(5)
  })
})
