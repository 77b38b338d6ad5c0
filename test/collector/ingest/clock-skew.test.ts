import type { MqttClient } from 'mqtt'
import { ulid } from 'ulid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningCollector } from '../../../collector/main.js'
import { createEnvelope, type Envelope, encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import {
  addDevice,
  connectDevice,
  type DeviceInbox,
  rejections,
  startCollector,
  tempDir,
  testConfig,
} from '../collector-harness.js'
import { noiseJpeg, snapshotEnvelope } from '../dashboard/snapshot-fixtures.js'

const yearMs = 365 * 24 * 60 * 60 * 1000

/** Publishes envelopes from a device and waits until each is acked or refused. */
async function sendAll(
  device: { client: MqttClient; inbox: DeviceInbox },
  envelopes: readonly Envelope[],
): Promise<void> {
  for (const envelope of envelopes) {
    await device.client.publishAsync(topics.event(envelope.deviceId, envelope.class), encodeEvent(envelope), {
      qos: 1,
    })
  }
  await eventually(
    () =>
      envelopes.every(
        (e) => device.inbox.acked.has(e.id) || device.inbox.rejected.some((r) => r.id === e.id),
      ),
    'every envelope answered',
  )
}

describe('device clocks', () => {
  const dir = tempDir('clock-skew')
  let collector: RunningCollector
  let porch: { client: MqttClient; inbox: DeviceInbox }

  beforeAll(async () => {
    const secret = await addDevice(dir.path, 'porch')
    collector = await startCollector(testConfig(dir.path))
    porch = await connectDevice(collector.mqttPort, 'porch', secret)
  })
  afterAll(async () => {
    await porch?.client.endAsync()
    await collector?.close()
    dir.cleanup()
  })

  it('a press dated a year ahead is refused with retry and does not pin itself to the top of the timeline', async () => {
    const nowMs = Date.now()
    const slightlyFast = createEnvelope({
      id: ulid(nowMs + 60_000),
      deviceId: 'porch',
      seq: 2,
      type: 'button.press',
      payload: {},
      capturedAtMs: nowMs + 60_000,
    })
    const now = createEnvelope({ deviceId: 'porch', seq: 3, type: 'button.press', payload: {} })
    // Its own id: the shared id factory is monotonic, so ids made after a future one would be as far ahead.
    const future = createEnvelope({
      id: ulid(nowMs + yearMs),
      deviceId: 'porch',
      seq: 1,
      type: 'button.press',
      payload: {},
      capturedAtMs: nowMs + yearMs,
    })
    await sendAll(porch, [future, slightlyFast, now])
    const newest = await collector.store.queryEvents({ deviceId: 'porch', isNewestFirst: true, limit: 10 })
    console.log(
      `CLOCK-AHEAD top of timeline=${newest.items[0]?.id === future.id ? 'the future press' : 'a real press'}`,
    )
    expect(porch.inbox.rejected).toContainEqual({ id: future.id, code: 'CLOCK_AHEAD', retry: true })
    expect(newest.items.map((e) => e.id)).toEqual([slightlyFast.id, now.id].sort().reverse())
    expect(await rejections(collector, 'clock_ahead')).toBe(1)
  })
})

describe('device storage quota', () => {
  const dir = tempDir('storage-quota')
  let collector: RunningCollector
  let porch: { client: MqttClient; inbox: DeviceInbox }
  let garage: { client: MqttClient; inbox: DeviceInbox }

  beforeAll(async () => {
    const porchSecret = await addDevice(dir.path, 'porch')
    const garageSecret = await addDevice(dir.path, 'garage')
    collector = await startCollector(testConfig(dir.path, { limits: { deviceBytesPerDay: 1024 * 1024 } }))
    porch = await connectDevice(collector.mqttPort, 'porch', porchSecret)
    garage = await connectDevice(collector.mqttPort, 'garage', garageSecret)
  })
  afterAll(async () => {
    await porch?.client.endAsync()
    await garage?.client.endAsync()
    await collector?.close()
    dir.cleanup()
  })

  const snapshot = (deviceId: string, seq: number): Envelope =>
    snapshotEnvelope(deviceId, seq, noiseJpeg(150 * 1024))

  it('a device past its daily storage quota is refused with retry, and other devices are not', async () => {
    // About 200 KB a snapshot on the wire: the fifth or sixth passes 1 MiB.
    const porchShots = Array.from({ length: 8 }, (_, i) => snapshot('porch', i + 1))
    await sendAll(porch, porchShots)
    const refused = porch.inbox.rejected.filter((r) => r.code === 'STORAGE_QUOTA')
    console.log(`STORAGE-QUOTA porch sent=${porchShots.length} stored=${porchShots.length - refused.length}`)
    expect(refused.length).toBeGreaterThanOrEqual(2)
    expect(refused.every((r) => r.retry)).toBe(true)
    expect(await rejections(collector, 'storage_quota')).toBe(refused.length)
    const garageShot = snapshot('garage', 1)
    await sendAll(garage, [garageShot])
    expect(garage.inbox.acked.has(garageShot.id)).toBe(true)
  })
})
