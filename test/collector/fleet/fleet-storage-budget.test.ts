import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { type Envelope, encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { connectDevice, type DeviceInbox } from '../collector-harness.js'
import { noiseJpeg, snapshotEnvelope } from '../dashboard/snapshot-fixtures.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetNodes, startFleetNodes } from './fleet-nodes.js'

/** About 200 KB on the wire: the sixth of a day passes limits.deviceBytesPerDay of 1 MiB. */
const snapshot = (deviceId: string, seq: number): Envelope =>
  snapshotEnvelope(deviceId, seq, noiseJpeg(150 * 1024))

/** Publishes envelopes from a device and waits until each is acked or refused. */
async function sendAll(device: { client: MqttClient; inbox: DeviceInbox }, envelopes: readonly Envelope[]) {
  for (const envelope of envelopes)
    await device.client.publishAsync(topics.event(envelope.deviceId, envelope.class), encodeEvent(envelope), {
      qos: 1,
    })
  await eventually(
    () =>
      envelopes.every(
        (e) => device.inbox.acked.has(e.id) || device.inbox.rejected.some((r) => r.id === e.id),
      ),
    'every envelope answered',
  )
  return envelopes.filter((e) =>
    device.inbox.rejected.some((r) => r.id === e.id && r.code === 'STORAGE_QUOTA'),
  )
}

/** limits.deviceBytesPerDay is counted for the fleet, so a device that moves between nodes does not get a day per node. */
describe('the storage budget of a fleet', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes
  const secrets = new Map<string, string>()

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url, {
      limits: { deviceBytesPerDay: 1024 * 1024 },
    })
    for (const id of ['porch', 'garage']) secrets.set(id, await fleet.addDevice(id))
  }, 90_000)

  afterAll(async () => {
    await fleet?.close()
    await redis?.close()
  })

  it('refuses a device that moved to another node once the bytes it stored on both pass its day, and not another device', async () => {
    const [first, second] = fleet.nodes.map((node) => node.mqttPort) as [number, number]
    const onFirst = await connectDevice(first, 'porch', secrets.get('porch') as string)
    expect(
      await sendAll(
        onFirst,
        [1, 2, 3].map((seq) => snapshot('porch', seq)),
      ),
    ).toEqual([])
    await onFirst.client.endAsync()
    // A device comes back through the balancer after a reconnect's backoff; the first node has sent what
    // it spent by then (redis.byteBudgetSyncMs, 1 s).
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const onSecond = await connectDevice(second, 'porch', secrets.get('porch') as string)
    const refused = await sendAll(
      onSecond,
      [4, 5, 6, 7, 8].map((seq) => snapshot('porch', seq)),
    )
    process.stdout.write(
      `FLEET-STORAGE-BUDGET porch sent 8 (3 on one node, 5 on the other), refused ${refused.length}\n`,
    )
    // 8 snapshots of about 200 KB against 1 MiB: on each node's own bucket the second node took all 5.
    expect(refused.length).toBeGreaterThanOrEqual(2)
    expect(onSecond.inbox.rejected.filter((r) => r.code === 'STORAGE_QUOTA').every((r) => r.retry)).toBe(true)
    await onSecond.client.endAsync()
    const garage = await connectDevice(second, 'garage', secrets.get('garage') as string)
    expect(await sendAll(garage, [snapshot('garage', 1)])).toEqual([])
    await garage.client.endAsync()
  }, 30_000)
})
