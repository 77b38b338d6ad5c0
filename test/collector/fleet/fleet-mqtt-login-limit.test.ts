import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { loginLimitChannel } from '../../../collector/fleet/redis-login-feed.js'
import { login } from '../broker/raw-mqtt.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetNodes, startFleetNodes } from './fleet-nodes.js'

/** A login's outcome: its CONNACK return code, or 'closed' (closed at accept, the address backed off). */
async function attempt(port: number, username: string, password: string, address: string) {
  const { client, connack } = await login(
    port,
    {
      clientId: `${username}:${Math.random().toString(36).slice(2)}`,
      username,
      password: Buffer.from(password),
    },
    address,
  )
  client.end()
  return connack === 'closed' ? 'closed' : (connack.returnCode ?? -1)
}

/** Another node hears a failure through Redis pub/sub in milliseconds; a guesser's next try waits that long. */
const feedDelay = () => new Promise((resolve) => setTimeout(resolve, 100))

/** MQTT login failures are told to every node, so the limits hold for the fleet, not for each node. */
describe('the MQTT login limiter of a fleet', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes
  let ports: [number, number]
  const secrets = new Map<string, string>()
  let listener: Redis
  const published: string[] = []

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url)
    ports = fleet.nodes.map((node) => node.mqttPort) as [number, number]
    for (const id of ['porch', 'garage', 'gate', ...Array.from({ length: 20 }, (_, i) => `d${i}`)])
      secrets.set(id, await fleet.addDevice(id))
    listener = new Redis(redis.url)
    await listener.subscribe(loginLimitChannel)
    listener.on('message', (_channel: string, text: string) => published.push(text))
  }, 90_000)

  afterAll(async () => {
    listener?.disconnect()
    await fleet?.close()
    await redis?.close()
  })

  it('backs off a guesser spread over two nodes after the free failures of one', async () => {
    // limits.login.freeFailures: 5 failures are free, the 6th is checked and starts the backoff; from the
    // 7th the address is closed at accept, on whichever node it reaches.
    const outcomes: (number | 'closed')[] = []
    for (let i = 0; i < 8; i++) {
      outcomes.push(await attempt(ports[i % 2] as number, 'gate', `guess ${i}`, '127.0.0.5'))
      await feedDelay()
    }
    expect(outcomes).toEqual([4, 4, 4, 4, 4, 4, 'closed', 'closed'])
    // The genuine device elsewhere is not held back by the guesser.
    expect(await attempt(ports[1], 'gate', secrets.get('gate') as string, '127.0.0.9')).toBe(0)
  })

  it('keeps a doorbell logging in on the other node from the address a guesser behind its router is backed off from', async () => {
    const secret = secrets.get('porch') as string
    expect(await attempt(ports[0], 'porch', secret, '127.0.0.6')).toBe(0)
    // The guesser shares the doorbell's address and tries the other node only.
    for (let i = 0; i < 8; i++) {
      expect(await attempt(ports[1], 'garage', `guess ${i}`, '127.0.0.6')).toBe(4)
      await feedDelay()
    }
    expect(await attempt(ports[1], 'porch', secret, '127.0.0.6')).toBe(0)
  })

  it('publishes nothing for a reconnect storm of genuine devices: a clean login costs no round trip', async () => {
    const before = published.length
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        attempt(ports[i % 2] as number, `d${i}`, secrets.get(`d${i}`) as string, `127.0.1.${i + 1}`),
      ),
    )
    expect(outcomes.every((code) => code === 0)).toBe(true)
    await feedDelay()
    expect(published.slice(before)).toEqual([])
    // A failure is told (one message), so the other node counts it.
    await attempt(ports[0], 'd0', 'wrong', '127.0.1.1')
    await feedDelay()
    expect(published.slice(before).map((text) => JSON.parse(text).event)).toEqual([
      { kind: 'failed', address: '127.0.1.1', identity: 'd0' },
    ])
  })
})
