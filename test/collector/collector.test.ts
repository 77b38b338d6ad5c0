import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../collector/main.js'
import { topics } from '../../shared/protocol/index.js'
import { eventually } from '../support/eventually.js'
import {
  addDevice,
  metric,
  press,
  pubArgs,
  reading,
  run,
  startCollector,
  tempDir,
  testConfig,
  text,
} from './collector-harness.js'

describe('collector over real sockets, with mosquitto clients', () => {
  const dir = tempDir('collector')
  let collector: RunningCollector
  let frontSecret: string
  let backSecret: string

  beforeAll(async () => {
    frontSecret = await addDevice(dir.path, 'front-door')
    backSecret = await addDevice(dir.path, 'back-door')
    collector = await startCollector(testConfig(dir.path))
  })

  afterAll(async () => {
    await collector?.close()
    dir.cleanup()
  })

  it('refuses a wrong password with CONNACK 4 and stores nothing', async () => {
    const result = await run('mosquitto_pub', [
      ...pubArgs(collector.mqttPort, 'front-door', 'not-the-secret', 'front-door:bad'),
      '-t',
      topics.event('front-door', 'high'),
      '-m',
      text(press('front-door', 1)),
    ])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/bad user name or password/i)
    expect(
      await metric(collector, 'doorbell_collector_rejections_total', 'reason="auth_failed"'),
    ).toBeGreaterThan(0)
  })

  it('refuses a client without credentials', async () => {
    const result = await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(collector.mqttPort), '-q', '1'],
      ...['-t', topics.event('front-door', 'high'), '-m', 'x'],
    ])
    expect(result.code).not.toBe(0)
  })

  it('stores an event and acks its id on the device ack topic after the commit', async () => {
    const event = press('front-door', 1)
    const sub = run('mosquitto_sub', [
      ...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door'),
      ...['-t', topics.ack('front-door'), '-C', '1', '-W', '8'],
    ])
    await eventually(
      () => collector.presence !== undefined && metric(collector, 'doorbell_collector_connected_clients'),
      'the device connected',
      10_000,
    )
    const pub = await run('mosquitto_pub', [
      ...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:pub'),
      ...['-t', topics.event('front-door', 'high'), '-m', text(event)],
    ])
    expect(pub.code).toBe(0)
    const ack = JSON.parse((await sub).stdout) as { type: string; payload: { ids: string[] } }
    expect(ack.type).toBe('ack')
    expect(ack.payload.ids).toContain(event.id)
    expect((await collector.store.getEvent(event.id))?.type).toBe('button.press')
  })

  it('stores a retransmitted event once and acks it again', async () => {
    const event = reading('front-door', 2)
    const args = [...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:dup')]
    const message = text(event)
    // Two copies in one connection (likely one batch) and a third later.
    await run('mosquitto_pub', [
      ...args,
      '-t',
      topics.event('front-door', 'medium'),
      '-m',
      message,
      '--repeat',
      '2',
    ])
    await collector.flush()
    await run('mosquitto_pub', [...args, '-t', topics.event('front-door', 'medium'), '-m', message])
    await collector.flush()
    const page = await collector.store.queryEvents({ deviceId: 'front-door', type: 'temperature' })
    expect(page.items.filter((e) => e.id === event.id)).toHaveLength(1)
    expect(await metric(collector, 'doorbell_collector_duplicates_total')).toBeGreaterThanOrEqual(2)
  })

  it('does not store or deliver a publish under another device prefix', async () => {
    const forged = press('back-door', 7)
    const watcher = run('mosquitto_sub', [
      ...pubArgs(collector.mqttPort, 'back-door', backSecret, 'back-door'),
      ...['-t', topics.ack('back-door'), '-C', '1', '-W', '2'],
    ])
    const before = await metric(collector, 'doorbell_collector_rejections_total', 'reason="foreign_topic"')
    const pub = await run('mosquitto_pub', [
      ...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:forge'),
      ...['-t', topics.event('back-door', 'high'), '-m', text(forged)],
    ])
    expect(pub.code).toBe(0)
    await eventually(
      async () =>
        (await metric(collector, 'doorbell_collector_rejections_total', 'reason="foreign_topic"')) > before,
      'the foreign-topic rejection counted',
      10_000,
    )
    await collector.flush()
    expect(await collector.store.getEvent(forged.id)).toBeUndefined()
    expect((await watcher).stdout).toBe('')
  })

  it('answers a subscription to # with SUBACK 0x80 and keeps the connection', async () => {
    const result = await run('mosquitto_sub', [
      ...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:sub'),
      ...['-t', '#', '-C', '1', '-W', '2'],
    ])
    expect(result.stderr).toMatch(/denied/i)
    const other = await run('mosquitto_sub', [
      ...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:sub2'),
      ...['-t', topics.ack('back-door'), '-t', '$SYS/#', '-C', '1', '-W', '2'],
    ])
    expect(other.stderr).toMatch(/denied/i)
    expect(
      await metric(collector, 'doorbell_collector_rejections_total', 'reason="subscribe_refused"'),
    ).toBeGreaterThanOrEqual(3)
  })

  it('refuses an empty client id without clean session with CONNACK 2 (MQTT-3.1.3-8)', async () => {
    const str = (value: string): Buffer => {
      const bytes = Buffer.from(value)
      return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
    }
    // CONNECT, MQTT 3.1.1, flags: username + password, clean session off; client id "".
    const body = Buffer.concat([
      str('MQTT'),
      Buffer.from([4, 0xc0, 0, 60]),
      str(''),
      str('front-door'),
      str(frontSecret),
    ])
    const socket = connect(collector.mqttPort, '127.0.0.1')
    socket.on('error', () => {})
    const reply = new Promise<Buffer>((resolve) => socket.once('data', (data: Buffer) => resolve(data)))
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]))
    const connack = await reply
    socket.destroy()
    expect([...connack.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x02])
    expect(
      await metric(collector, 'doorbell_collector_rejections_total', 'reason="client_id_rejected"'),
    ).toBeGreaterThan(0)
  })

  it('counts malformed payloads, wrong topics and unknown types, nacks the readable ids, and keeps going', async () => {
    const good = reading('front-door', 10)
    const badReading = { ...reading('front-door', 11), payload: { celsius: 999, sensor: 'x' } }
    const args = pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:mixed')
    const sub = run('mosquitto_sub', [
      ...pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door'),
      // Every ack that arrives within 3 s (rejections and the good id may share or split ack rounds).
      ...['-t', topics.ack('front-door'), '-C', '10', '-W', '3'],
    ])
    await new Promise((resolve) => setTimeout(resolve, 300))
    await run('mosquitto_pub', [...args, '-t', topics.event('front-door', 'medium'), '-m', '{not json'])
    await run('mosquitto_pub', [...args, '-t', 'doorbell/v1/front-door/nonsense', '-m', 'x'])
    await run('mosquitto_pub', [
      ...args,
      '-t',
      topics.event('front-door', 'medium'),
      '-m',
      JSON.stringify(badReading),
    ])
    const unknown = { ...reading('front-door', 12), type: 'doorbell.explode' }
    await run('mosquitto_pub', [
      ...args,
      '-t',
      topics.event('front-door', 'medium'),
      '-m',
      JSON.stringify(unknown),
    ])
    await run('mosquitto_pub', [...args, '-t', topics.event('front-door', 'medium'), '-m', text(good)])
    const lines = (await sub).stdout.trim().split('\n')
    const acks = lines.map(
      (l) => JSON.parse(l) as { payload: { ids: string[]; rejected: { id: string; retry: boolean }[] } },
    )
    expect(acks.flatMap((a) => a.payload.rejected)).toContainEqual(
      expect.objectContaining({ id: badReading.id, retry: false }),
    )
    expect(acks.flatMap((a) => a.payload.ids)).toContain(good.id)
    expect(
      await metric(collector, 'doorbell_collector_rejections_total', 'reason="malformed"'),
    ).toBeGreaterThanOrEqual(2)
    expect(
      await metric(collector, 'doorbell_collector_rejections_total', 'reason="bad_topic"'),
    ).toBeGreaterThanOrEqual(1)
    expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="unknown_type"')).toBe(1)
    expect(await collector.store.getEvent(good.id)).toBeDefined()
    expect(await collector.store.getEvent(badReading.id)).toBeUndefined()
  })

  it('cuts a client that declares a 100 MB packet before buffering it, and memory stays bounded', async () => {
    const memory = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
    const before = memory()
    const socket = connect(collector.mqttPort, '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.on('error', () => {})
    // CONNECT with remaining length 100 MB (varint 0x80 0x80 0x80 0x32), then up to 16 MB of its body.
    socket.write(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x32]))
    const block = Buffer.alloc(256 * 1024)
    for (let i = 0; i < 64 && !socket.destroyed; i++) {
      if (!socket.write(block)) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await closed
    expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="packet_too_large"')).toBe(
      1,
    )
    expect(memory() - before).toBeLessThan(32 * 1024 * 1024)
  })

  it('cuts an oversized publish from an authenticated device and still stores its earlier events', async () => {
    const event = reading('front-door', 20)
    const args = pubArgs(collector.mqttPort, 'front-door', frontSecret, 'front-door:big')
    await run('mosquitto_pub', [...args, '-t', topics.event('front-door', 'medium'), '-m', text(event)])
    const big = 'x'.repeat(collector.store ? 2 * 1024 * 1024 : 0)
    await run('mosquitto_pub', [...args, '-t', topics.event('front-door', 'medium'), '-s'], 10_000, big)
    expect(await metric(collector, 'doorbell_collector_rejections_total', 'reason="packet_too_large"')).toBe(
      2,
    )
    await collector.flush()
    expect(await collector.store.getEvent(event.id)).toBeDefined()
  })

  it('serves /healthz and /metrics', async () => {
    const health = await fetch(`http://127.0.0.1:${collector.httpPort}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })
    const metrics = await (await fetch(`http://127.0.0.1:${collector.httpPort}/metrics`)).text()
    expect(metrics).toContain('doorbell_collector_rejections_total')
    expect(metrics).toContain('doorbell_collector_events_stored_total')
  })
})
