import { connect } from 'node:net'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { routePermissions } from '../../collector/access/route-permissions.js'
import type { RunningCollector } from '../../collector/main.js'
import { encodeEvent, topics } from '../../shared/protocol/index.js'
import { eventually } from '../support/eventually.js'
import {
  addDevice,
  metric,
  press,
  reading,
  startCollector,
  tempDir,
  testConfig,
} from './collector-harness.js'

describe('collector hardening and WebSocket', () => {
  const dir = tempDir('collector-hardening')
  let collector: RunningCollector
  let secret: string

  beforeAll(async () => {
    secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(
      testConfig(dir.path, {
        mqtt: { port: 0, wsPort: 0 },
        limits: { connectTimeoutMs: 300, devicePublishesPerS: 1, devicePublishBurst: 5 },
      }),
      {
        routePermissions: { ...routePermissions, 'GET /api/probe/events': 'public' },
        extensions: [
          {
            name: 'probe',
            start: ({ http, stores }) => {
              http?.get('/api/probe/events', async () => stores.events.queryEvents({ limit: 10 }))
            },
            stop: () => {},
          },
        ],
      },
    )
  })

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('closes a connection that sends no CONNECT within the connect timeout and counts it', async () => {
    const socket = connect(collector.mqttPort, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="connect_timeout"')).toBe(1)
  })

  it('accepts MQTT over WebSocket at /mqtt, rate-limits a flooding device and nacks the excess with retry', async () => {
    const client = mqtt.connect(`ws://127.0.0.1:${collector.wsPort}/mqtt`, {
      clientId: 'porch',
      username: 'porch',
      password: secret,
      reconnectPeriod: 0,
    })
    const acked: string[] = []
    const retry: string[] = []
    client.on('message', (topic, message) => {
      if (topic !== topics.ack('porch')) return
      const ack = JSON.parse(message.toString()) as {
        payload: { ids: string[]; rejected: { id: string; retry: boolean }[] }
      }
      acked.push(...ack.payload.ids)
      retry.push(...ack.payload.rejected.filter((r) => r.retry).map((r) => r.id))
    })
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
    })
    try {
      await client.subscribeAsync(topics.ack('porch'), { qos: 1 })
      const events = [press('porch', 0), ...Array.from({ length: 9 }, (_, i) => reading('porch', i + 1))]
      for (const e of events) client.publish(topics.event('porch', e.class), encodeEvent(e), { qos: 1 })
      await eventually(() => acked.length + retry.length >= events.length, 'acks', 10_000)
      expect(acked).toHaveLength(5)
      expect(retry).toHaveLength(5)
      expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="rate_limited"')).toBe(5)
      expect(await collector.store.getEvent(events[0]?.id as string)).toBeDefined()
      // Commands reach the device on its command topic.
      const commands: string[] = []
      client.on('message', (topic, message) => {
        if (topic === topics.command('porch')) commands.push(message.toString())
      })
      await client.subscribeAsync(topics.command('porch'), { qos: 1 })
      const sent = await collector.sendCommand('porch', { name: 'snapshot' })
      await eventually(() => commands.length > 0, 'command', 5000)
      expect(JSON.parse(commands[0] as string)).toMatchObject({
        id: sent.id,
        type: 'command',
        payload: { name: 'snapshot' },
      })
    } finally {
      await client.endAsync()
    }
  })

  it('cuts a WebSocket client that declares a 100 MB frame and counts it', async () => {
    const before = await metric(collector, 'doorbell_collector_rejections_total', 'reason="packet_too_large"')
    const { WebSocket } = await import('ws')
    const ws = new WebSocket(`ws://127.0.0.1:${collector.wsPort}/mqtt`, 'mqtt')
    ws.on('error', () => {})
    await new Promise<void>((resolve) => ws.once('open', () => resolve()))
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
    // A masked binary frame header declaring 100 MB (64-bit length), then a little of it.
    const header = Buffer.alloc(14)
    header[0] = 0x82
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(100n * 1024n * 1024n, 2)
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket
    raw.write(Buffer.concat([header, Buffer.alloc(64 * 1024)]))
    await closed
    await eventually(
      async () =>
        (await metric(collector, 'doorbell_collector_rejections_total', 'reason="packet_too_large"')) >
        before,
      'the oversized-packet rejection counted',
      10_000,
    )
  })

  it('serves the HTTP routes an extension adds over the store', async () => {
    const response = await fetch(`http://127.0.0.1:${collector.httpPort}/api/probe/events`)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { items: unknown[] }).items.length).toBeGreaterThan(0)
  })

  it('delivers acks to a device that has not subscribed yet (its session is subscribed at connect)', async () => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${collector.mqttPort}`, {
      clientId: 'porch',
      username: 'porch',
      password: secret,
      clean: false,
      reconnectPeriod: 0,
    })
    const acked: string[] = []
    client.on('message', (topic, message) => {
      if (topic === topics.ack('porch'))
        acked.push(...(JSON.parse(message.toString()) as { payload: { ids: string[] } }).payload.ids)
    })
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    try {
      // Sent right after CONNACK, without any SUBSCRIBE (the rate limit has refilled by now).
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const event = press('porch', 99)
      client.publish(topics.event('porch', 'high'), encodeEvent(event), { qos: 1 })
      await eventually(() => acked.includes(event.id), 'ack without subscribe', 5000)
    } finally {
      await client.endAsync()
    }
  })

  it('keeps device presence from the status topic, bare or as an envelope, and from the last will', async () => {
    const will = {
      topic: topics.status('porch'),
      payload: Buffer.from('{"state":"offline"}'),
      qos: 1 as const,
      retain: true,
    }
    const client = mqtt.connect(`mqtt://127.0.0.1:${collector.mqttPort}`, {
      clientId: 'porch',
      username: 'porch',
      password: secret,
      reconnectPeriod: 0,
      will,
    })
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    const online = {
      v: 1,
      id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      deviceId: 'porch',
      seq: 0,
      class: 'medium',
      type: 'status',
      capturedAt: new Date().toISOString(),
      payload: { state: 'online' },
    }
    client.publish(topics.status('porch'), JSON.stringify(online), { qos: 1, retain: true })
    await eventually(() => collector.presence.get('porch')?.state === 'online', 'online', 5000)
    // An abrupt end (no DISCONNECT) makes the broker publish the will.
    client.stream.destroy()
    await eventually(() => collector.presence.get('porch')?.state === 'offline', 'offline', 5000)
    client.end(true)
  })
})
