import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { eventually } from '../../support/eventually.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetNodes, startFleetNodes } from './fleet-nodes.js'

type Http = NonNullable<FleetNodes['nodes'][number]['http']>

/** Failed dashboard logins are counted in Redis, so the limits hold for the fleet, not for each node. */
describe('the dashboard login throttle of a fleet', () => {
  const postgres = usePostgresSuite()
  let redis: RedisEngine
  let fleet: FleetNodes
  let nodes: [Http, Http]

  beforeAll(async () => {
    redis = await startRedis()
    fleet = await startFleetNodes(2, await postgres.freshDatabase(), redis.url, { http: { port: 0 } })
    nodes = fleet.nodes.map((node) => node.http) as [Http, Http]
    for (const name of ['alice', 'bob', 'carol', 'dave'])
      await fleet.nodes[0]?.stores.homeowners.add(name, `${name} correct password`, 'owner')
  }, 90_000)

  afterAll(async () => {
    await fleet?.close()
    await redis?.close()
  })

  const login = (node: Http, name: string, password: string, remoteAddress: string) =>
    node.inject({ method: 'POST', url: '/api/login', payload: { name, password }, remoteAddress })

  it('gives a password guesser spread over two nodes the free failures of one, and lets the owner in from another address', async () => {
    // limits.dashboardLogin: 5 failures of one address for one account are free, the 6th is checked and
    // starts the backoff; the 7th is refused unchecked, on whichever node it reaches.
    const codes: number[] = []
    for (let i = 0; i < 8; i++)
      codes.push((await login(nodes[i % 2] as Http, 'alice', `guess ${i}`, '203.0.113.7')).statusCode)
    expect(codes).toEqual([401, 401, 401, 401, 401, 401, 429, 429])
    const refused = await login(nodes[1], 'alice', 'alice correct password', '203.0.113.7')
    expect(refused.statusCode).toBe(429)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    const owner = await login(nodes[1], 'alice', 'alice correct password', '198.51.100.20')
    expect(owner.statusCode).toBe(200)
    expect((await login(nodes[0], 'alice', 'alice correct password', '198.51.100.20')).statusCode).toBe(200)
  })

  it('counts parallel guesses on both nodes before their passwords are checked, so no more than the free ones reach the check', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(nodes[i % 2] as Http, 'bob', `guess ${i}`, '203.0.113.8')),
    )
    const codes = answers.map((answer) => answer.statusCode)
    expect(codes.filter((code) => code === 401)).toHaveLength(6)
    expect(codes.filter((code) => code === 429)).toHaveLength(14)
  })

  it("takes a success's count back on every node: the owner who mistyped on one node and signed in on the other has all the free failures again", async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++)
        expect((await login(nodes[0], 'carol', `typo ${i}`, '203.0.113.9')).statusCode).toBe(401)
      expect((await login(nodes[1], 'carol', 'carol correct password', '203.0.113.9')).statusCode).toBe(200)
    }
  })

  it('refuses a dashboard login with 503, REDIS_UNAVAILABLE and a retry while Redis is away, counted, rather than letting guesses through uncounted', async () => {
    await redis.stop()
    try {
      const started = Date.now()
      const refused = await login(nodes[0], 'dave', 'dave correct password', '198.51.100.30')
      expect(Date.now() - started).toBeLessThan(3000)
      expect(refused.statusCode).toBe(503)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.json<{ code: string }>().code).toBe('REDIS_UNAVAILABLE')
      const metrics = await fleet.nodes[0]?.metrics.registry.metrics()
      expect(metrics).toMatch(/^doorbell_collector_http_store_unavailable_total [1-9]/m)
      expect(metrics).not.toMatch(/^doorbell_collector_dashboard_logins_total\{result="ok"\} [1-9]/m)
    } finally {
      await redis.start()
    }
    await eventually(
      async () =>
        (await login(nodes[0], 'dave', 'dave correct password', '198.51.100.30')).statusCode === 200,
      'a login once Redis is back',
      15_000,
    )
  }, 30_000)

  it('refuses a dashboard login with 503 within redis.commandTimeoutMs while Redis accepts but does not answer', async () => {
    // SIGSTOP: the connection stays open and the script is never answered, as with a Redis stuck on its disk.
    process.kill(redis.process.pid, 'SIGSTOP')
    try {
      const started = Date.now()
      const refused = await login(nodes[1], 'dave', 'dave correct password', '198.51.100.31')
      const elapsedMs = Date.now() - started
      expect(refused.statusCode).toBe(503)
      expect(refused.json<{ code: string }>().code).toBe('REDIS_UNAVAILABLE')
      // redis.commandTimeoutMs is 2000 by default.
      expect(elapsedMs).toBeGreaterThanOrEqual(1900)
      expect(elapsedMs).toBeLessThan(4000)
    } finally {
      process.kill(redis.process.pid, 'SIGCONT')
    }
    await eventually(
      async () =>
        (await login(nodes[1], 'dave', 'dave correct password', '198.51.100.31')).statusCode === 200,
      'a login once Redis answers again',
      15_000,
    )
  }, 30_000)
})
