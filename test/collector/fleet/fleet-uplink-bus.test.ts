import { Redis } from 'ioredis'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import {
  mayMatchUplink,
  UplinkInterestRegistry,
  uplinkInterestKey,
} from '../../../collector/fleet/uplink-interest.js'
import { encodeEvent, topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { reading } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { connectSessionDevice, type FleetNodes, type SessionDevice, startFleetNodes } from './fleet-nodes.js'

/** Sends readings from device and waits for their acks; returns their ids. */
async function sendReadings(device: SessionDevice, deviceId: string, fromSeq: number, count: number) {
  const ids: string[] = []
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    const event = reading(deviceId, seq)
    ids.push(event.id)
    device.client.publish(topics.event(deviceId, 'medium'), encodeEvent(event), { qos: 1 })
  }
  await eventually(() => ids.every((id) => device.acked.has(id)), 'the acks')
  return ids
}

describe('device uplinks on the fleet bus', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes
  let observer: Redis
  let reader: Redis
  /** Uplink topics Redis carried (a raw Redis subscriber sees every PUBLISH on them). */
  const carried: string[] = []

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url)
    reader = new Redis(redis.url)
    observer = new Redis(redis.url)
    observer.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => {
      const topic = channel.toString()
      if (topic.includes('/event/')) carried.push(topic)
    })
    await observer.psubscribe('doorbell/v1/*')
  }, 60_000)

  afterAll(async () => {
    observer?.disconnect()
    reader?.disconnect()
    await fleet?.close()
    await redis?.close()
  })

  it('keeps a device’s readings off Redis while no node has a listener for them', async () => {
    const [nodeA] = fleet.nodes as [(typeof fleet.nodes)[0]]
    const secret = await fleet.addDevice('porch-local')
    const device = await connectSessionDevice(nodeA.mqttPort, 'porch-local', secret)
    try {
      await device.client.subscribeAsync(topics.ack('porch-local'), { qos: 1 })
      await sendReadings(device, 'porch-local', 1, 20)
      expect(carried).toEqual([])
      expect(await reader.zcard(uplinkInterestKey)).toBe(0)
    } finally {
      await device.client.endAsync()
    }
  })

  it('delivers a reading sent to node B to a service user subscribed on node A, from its SUBACK on', async () => {
    const [nodeA, nodeB] = fleet.nodes as [(typeof fleet.nodes)[0], (typeof fleet.nodes)[0]]
    const deviceSecret = await fleet.addDevice('porch-seen')
    const userSecret = await fleet.addUser('dashboard')
    const device = await connectSessionDevice(nodeB.mqttPort, 'porch-seen', deviceSecret)
    const service = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodeA.mqttPort}`, {
      clientId: 'dashboard',
      username: 'dashboard',
      password: userSecret,
      reconnectPeriod: 0,
    })
    const seen: string[] = []
    service.on('message', (_topic, message) => {
      seen.push((JSON.parse(message.toString()) as { id: string }).id)
    })
    try {
      await device.client.subscribeAsync(topics.ack('porch-seen'), { qos: 1 })
      await service.subscribeAsync(topics.allDevices('event'), { qos: 1 })
      // Sent right after the SUBACK, to the other node: it must already know of the listener.
      const ids = await sendReadings(device, 'porch-seen', 1, 10)
      await eventually(() => ids.every((id) => seen.includes(id)), 'the readings at the service user')
      expect(seen).toEqual(ids)
    } finally {
      await service.endAsync()
    }
    try {
      // The listener gone, readings stay off Redis again.
      await eventually(async () => (await reader.zcard(uplinkInterestKey)) === 0, 'no interest')
      await new Promise((resolve) => setTimeout(resolve, 200))
      const before = carried.length
      await sendReadings(device, 'porch-seen', 11, 10)
      expect(carried.length).toBe(before)
    } finally {
      await device.client.endAsync()
    }
  })

  it('forgets the interest of a node that died without taking it back, once its entry lapses', async () => {
    let nowMs = 1_000_000
    const connection = new Redis(redis.url)
    const deps = {
      redis: connection,
      announce: async () => {},
      ttlMs: 3000,
      onError: () => {},
      now: () => nowMs,
    }
    const dead = new UplinkInterestRegistry({ ...deps, nodeId: 'dead-node' })
    const alive = new UplinkInterestRegistry({ ...deps, nodeId: 'alive-node' })
    try {
      await dead.addListener()
      alive.read()
      await eventually(() => alive.fleet === 'some', 'the dead node’s interest seen')
      expect(alive.isUplinkLocal()).toBe(false)
      nowMs += 3001
      alive.read()
      await eventually(() => alive.fleet === 'none', 'its entry lapsed')
      expect(alive.isUplinkLocal()).toBe(true)
      expect(await connection.zcard(uplinkInterestKey)).toBe(0)
    } finally {
      connection.disconnect()
    }
  })

  it('counts every filter that could match an uplink as interest, and no other', () => {
    for (const filter of [
      'doorbell/v1/#',
      'doorbell/v1/+/event/+',
      '+/v1/porch/status',
      '#',
      'doorbell/v1/a/live',
    ])
      expect(mayMatchUplink(filter), filter).toBe(true)
    for (const filter of [
      'doorbell/v1/a/ack',
      'doorbell/v1/a/command',
      'homeassistant/#',
      '$SYS/+/new/clients',
    ])
      expect(mayMatchUplink(filter), filter).toBe(false)
  })
})
