import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { type Receiver, startReceiver } from '../alerts/alerts-harness.js'
import { reading } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, startFleetNodes } from './fleet-nodes.js'

const offlineAfterMs = 1500

/** Two in-process nodes; a homeowner is told of devices going offline and coming back. */
describe('fleet device health', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let receiver: Receiver
  let fleet: FleetNodes

  beforeAll(async () => {
    redis = await startRedis()
    receiver = await startReceiver()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url, {
      postgres: { healthFlushMs: 200, leaseTtlMs: 1500 },
      alerts: {
        channels: [{ kind: 'webhook', name: 'hook', url: receiver.url, secret: 'fleet-webhook-secret-0123' }],
        users: [{ name: 'alice', channels: ['hook'], kinds: ['offline', 'online'], cooldownMs: 0 }],
        health: { offlineAfterMs, checkIntervalMs: 200 },
      },
    })
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await receiver?.close()
    await redis?.close()
  })

  const alertsOf = (kind: string) =>
    receiver.requests
      .map((r) => JSON.parse(r.body.toString()) as { kind: string; deviceId: string })
      .filter((a) => a.kind === kind && a.deviceId === 'porch')

  it('keeps a device that talks to another node online, and tells of it going silent once', async () => {
    const { nodes } = fleet
    const leader = await eventually(
      () => nodes.find((node) => node.alerts.fleetHealth?.isLeader),
      'a device-health leader',
      5000,
    )
    expect(nodes.filter((node) => node.alerts.fleetHealth?.isLeader)).toHaveLength(1)
    const other = nodes.find((node) => node !== leader)
    if (!other) throw new Error('no second node')
    const secret = await fleet.addDevice('porch')
    await eventually(
      () => nodes.every((node) => node.enabledDeviceIds().includes('porch')),
      'both nodes to know the device',
      5000,
    )
    const device = await connectSessionDevice(other.mqttPort, 'porch', secret)
    await device.client.subscribeAsync([topics.ack('porch')], { qos: 1 })
    // Readings to the node without the lease for more than twice the silence threshold.
    const until = Date.now() + 2 * offlineAfterMs + 500
    for (let seq = 1; Date.now() < until; seq++) {
      device.client.publish(topics.event('porch', 'medium'), encodeEvent(reading('porch', seq)), { qos: 1 })
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(alertsOf('offline')).toEqual([])

    // Silent from now (a clean disconnect, no last will): one offline alert, from the leader alone.
    await device.client.endAsync()
    await eventually(() => alertsOf('offline').length > 0, 'the offline alert', 10_000)
    await new Promise((resolve) => setTimeout(resolve, offlineAfterMs))
    expect(alertsOf('offline')).toHaveLength(1)
  }, 30_000)
})
