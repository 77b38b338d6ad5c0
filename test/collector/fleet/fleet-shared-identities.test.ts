import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { topics } from '../../../shared/protocol/index.js'
import { eventually } from '../../support/eventually.js'
import { run, tempDir } from '../collector-harness.js'
import { usePostgresSuite } from '../postgres/postgres-suite.js'
import { type FleetCluster, startFleetCluster } from './fleet-cluster.js'
import { connectSessionDevice, type FleetNodes, startFleetNodes } from './fleet-nodes.js'

const adminJs = join(import.meta.dirname, '..', '..', '..', 'dist', 'collector', 'admin', 'main.js')

/** The registry, homeowners and dashboard sessions are the fleet's: one change reaches every node. */
describe('identities shared by a fleet through PostgreSQL', () => {
  const postgres = usePostgresSuite()
  const dir = tempDir('fleet-identities')
  let redis: RedisEngine

  beforeAll(async () => {
    redis = await startRedis()
  }, 60_000)

  afterAll(async () => {
    await redis?.close()
    dir.cleanup()
  })

  describe('devices, on node processes behind HAProxy', () => {
    let cluster: FleetCluster

    beforeAll(async () => {
      cluster = await startFleetCluster({
        dir: dir.path,
        nodeCount: 2,
        postgresUrl: await postgres.freshDatabase(),
        redisUrl: redis.url,
        deviceIds: ['porch'],
      })
    }, 90_000)

    afterAll(async () => {
      await cluster?.close()
    })

    it('cuts a device rotated through doorbell-admin on the node it is connected to within 2 s, and lets the new secret in on the other node', async () => {
      const secret = cluster.secrets.get('porch') as string
      const device = await connectSessionDevice(cluster.nodePorts[0] as number, 'porch', secret)
      device.client.on('error', () => {})
      let cutAtMs: number | undefined
      device.client.on('close', () => {
        cutAtMs ??= Date.now()
      })
      await device.client.subscribeAsync(topics.ack('porch'), { qos: 1 })
      const adminStartedAtMs = Date.now()
      const rotation = await run(process.execPath, [
        adminJs,
        '--config',
        cluster.configFiles[0] as string,
        'devices',
        'rotate',
        'porch',
      ])
      const rotatedAtMs = Date.now()
      expect(rotation.code, rotation.stderr).toBe(0)
      const newSecret = rotation.stdout.match(/secret: (\S+)/)?.[1] as string
      await eventually(() => cutAtMs !== undefined, 'the rotated device cut off', 5000)
      // The cut comes from the commit's NOTIFY, usually before the admin process has even exited.
      const cutMs = (cutAtMs as number) - rotatedAtMs
      process.stdout.write(
        `FLEET-ROTATION-CUT doorbell-admin ran ${rotatedAtMs - adminStartedAtMs} ms; cut ${cutMs} ms after it returned\n`,
      )
      expect(cutMs).toBeLessThan(2000)
      await device.client.endAsync(true)
      const other = cluster.nodePorts[1] as number
      await expect(connectSessionDevice(other, 'porch', secret)).rejects.toThrow(/Not authorized|Bad user/i)
      const again = await connectSessionDevice(other, 'porch', newSecret)
      expect(again.client.connected).toBe(true)
      await again.client.endAsync()
    })

    it('cuts a device disabled through the other node’s config, and lets a removed one in on no node', async () => {
      const admin = (node: number, ...args: string[]) =>
        run(process.execPath, [adminJs, '--config', cluster.configFiles[node] as string, 'devices', ...args])
      const added = await admin(1, 'add', 'gate')
      expect(added.code, added.stderr).toBe(0)
      const secret = added.stdout.match(/secret: (\S+)/)?.[1] as string
      const port = cluster.nodePorts[0] as number
      const device = await eventually(
        () => connectSessionDevice(port, 'gate', secret).catch(() => undefined),
        'the new device let in on the first node',
        5000,
      )
      device.client.on('error', () => {})
      let isCut = false
      device.client.on('close', () => {
        isCut = true
      })
      expect((await admin(1, 'disable', 'gate')).code).toBe(0)
      await eventually(() => isCut, 'the disabled device cut off on the first node', 2000)
      await device.client.endAsync(true)
      expect((await admin(0, 'enable', 'gate')).code).toBe(0)
      expect((await admin(0, 'remove', 'gate')).code).toBe(0)
      for (const nodePort of cluster.nodePorts)
        await expect(connectSessionDevice(nodePort, 'gate', secret)).rejects.toThrow(
          /Not authorized|Bad user/i,
        )
      expect((await admin(1, 'list', '--json')).stdout).not.toContain('gate')
    })
  })

  describe('homeowners and dashboard sessions, on in-process nodes', () => {
    let fleet: FleetNodes
    let postgresUrl: string

    beforeAll(async () => {
      postgresUrl = await postgres.freshDatabase()
      fleet = await startFleetNodes(2, postgresUrl, redis.url, { http: { port: 0 } })
    }, 60_000)

    afterAll(async () => {
      await fleet?.close()
    })

    it('signs a homeowner added through doorbell-admin in on one node, keeps the session on the other, and ends it on both at logout', async () => {
      const adminConfig = join(dir.path, 'admin.yaml')
      writeFileSync(
        adminConfig,
        `store: postgres\npostgres: { url: '${postgresUrl}' }\nredis: { url: '${redis.url}' }\n`,
      )
      const added = await run('env', [
        'DOORBELL_PASSWORD=correct-horse-battery',
        process.execPath,
        adminJs,
        '--config',
        adminConfig,
        'homeowners',
        'add',
        'alice',
        '--role',
        'owner',
      ])
      expect(added.code, added.stderr).toBe(0)
      const [first, second] = fleet.nodes.map((node) => node.http) as [
        NonNullable<(typeof fleet.nodes)[0]['http']>,
        NonNullable<(typeof fleet.nodes)[0]['http']>,
      ]
      const login = await first.inject({
        method: 'POST',
        url: '/api/login',
        payload: { name: 'alice', password: 'correct-horse-battery' },
      })
      expect(login.statusCode).toBe(200)
      const cookie = String(login.headers['set-cookie']).split(';')[0] as string
      const csrf = login.json<{ csrfToken: string }>().csrfToken
      const onSecond = await second.inject({ method: 'GET', url: '/api/session', headers: { cookie } })
      expect(onSecond.statusCode).toBe(200)
      expect(onSecond.json<{ user: string }>().user).toBe('alice')
      const logout = await second.inject({
        method: 'POST',
        url: '/api/logout',
        headers: { cookie, 'x-csrf-token': csrf },
      })
      expect(logout.statusCode).toBe(204)
      const afterLogout = await first.inject({ method: 'GET', url: '/api/session', headers: { cookie } })
      expect(afterLogout.statusCode).toBe(401)
      // The accounts are no file of a node's: neither data folder holds them.
      expect((await fleet.nodes[1]?.stores.homeowners.list())?.map((h) => h.name)).toEqual(['alice'])
    })

    it('refuses a dashboard login with 503 and a retry while PostgreSQL is away, counted, and lets it in once it is back', async () => {
      const http = fleet.nodes[0]?.http as NonNullable<(typeof fleet.nodes)[0]['http']>
      const login = () =>
        http.inject({
          method: 'POST',
          url: '/api/login',
          payload: { name: 'alice', password: 'correct-horse-battery' },
        })
      await postgres.engine.stop()
      try {
        const refused = await login()
        expect(refused.statusCode).toBe(503)
        expect(refused.headers['retry-after']).toBe('1')
        expect(refused.json<{ code: string }>().code).toBe('POSTGRES_UNAVAILABLE')
        const metrics = await fleet.nodes[0]?.metrics.registry.metrics()
        expect(metrics).toMatch(/^doorbell_collector_http_store_unavailable_total [1-9]/m)
      } finally {
        await postgres.engine.start()
      }
      await eventually(
        async () => (await login()).statusCode === 200,
        'a login once PostgreSQL is back',
        10_000,
      )
    }, 30_000)
  })
})
