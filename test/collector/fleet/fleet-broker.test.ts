import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { press } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, startFleetNodes } from './fleet-nodes.js'

describe('fleet brokers on Redis', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url)
  }, 60_000)

  afterAll(async () => {
    await fleet?.close()
    await redis?.close()
  })

  it('delivers a command sent by node A to the device connected to node B', async () => {
    const [nodeA, nodeB] = fleet.nodes as [(typeof fleet.nodes)[0], (typeof fleet.nodes)[0]]
    const secret = await fleet.addDevice('porch-b')
    const device = await connectSessionDevice(nodeB.mqttPort, 'porch-b', secret)
    try {
      await device.client.subscribeAsync(topics.command('porch-b'), { qos: 1 })
      await nodeA.sendCommand('porch-b', {
        name: 'clip.verified',
        args: { clipId: '01JBQ0Z3XK8N7Y2W4R5T6V7A8B' },
      })
      const commands = await eventually(
        () => device.commands.length > 0 && device.commands,
        'the command on node B',
      )
      expect(commands).toEqual([{ name: 'clip.verified', args: { clipId: '01JBQ0Z3XK8N7Y2W4R5T6V7A8B' } }])
    } finally {
      await device.client.endAsync()
    }
  })

  it('answers SUBACK to an agent subscribing to ack and command in one packet, and acks its events', async () => {
    const [nodeA] = fleet.nodes as [(typeof fleet.nodes)[0]]
    const secret = await fleet.addDevice('porch-two')
    const device = await connectSessionDevice(nodeA.mqttPort, 'porch-two', secret)
    try {
      // As the agent does (agent/uplink/mqtt-uplink.ts), while the session subscription made at connect is
      // still being written: two writes of one client's subscriptions in flight at once.
      const granted = await device.client.subscribeAsync(
        [topics.ack('porch-two'), topics.command('porch-two')],
        {
          qos: 1,
        },
      )
      expect(granted.map((g) => g.qos)).toEqual([1, 1])
      const event = press('porch-two', 1)
      device.client.publish(topics.event('porch-two', 'high'), encodeEvent(event), { qos: 1 })
      await eventually(() => device.acked.has(event.id), 'the ack')
    } finally {
      await device.client.endAsync()
    }
  })

  it('keeps a session across nodes: a command queued while offline arrives on the other node, unasked', async () => {
    const [nodeA, nodeB] = fleet.nodes as [(typeof fleet.nodes)[0], (typeof fleet.nodes)[0]]
    const secret = await fleet.addDevice('porch-s')
    const first = await connectSessionDevice(nodeA.mqttPort, 'porch-s', secret)
    expect(first.isSessionPresent).toBe(false)
    // As the agent does before it sends anything: a new session's subscriptions reach Redis (and every
    // node) a round trip after CONNACK.
    await first.client.subscribeAsync([topics.ack('porch-s'), topics.command('porch-s')], { qos: 1 })
    const event = press('porch-s', 1)
    first.client.publish(topics.event('porch-s', 'high'), encodeEvent(event), { qos: 1 })
    await eventually(() => first.acked.has(event.id), 'the ack from node A')
    await first.client.endAsync()

    await nodeA.sendCommand('porch-s', {
      name: 'clip.verified',
      args: { clipId: '01JBQ0Z3XK8N7Y2W4R5T6V7A8C' },
    })
    const again = await connectSessionDevice(nodeB.mqttPort, 'porch-s', secret)
    try {
      expect(again.isSessionPresent).toBe(true)
      const commands = await eventually(
        () => again.commands.length > 0 && again.commands,
        'the queued command',
      )
      expect(commands).toEqual([{ name: 'clip.verified', args: { clipId: '01JBQ0Z3XK8N7Y2W4R5T6V7A8C' } }])
      const stored = await nodeB.store.getEvent(event.id)
      expect(stored).toMatchObject({ id: event.id, deviceId: 'porch-s', type: 'button.press' })
    } finally {
      await again.client.endAsync()
    }
  })
})
