import { mkdtempSync, rmSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import mqtt, { type MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import pg from 'pg'
import { migratePostgres } from '../collector/postgres/postgres-migrations.js'
import { newEventId, topics } from '../shared/protocol/index.js'
import { type BenchFigure, emitFigures } from './bench-figures.js'
import { insertRegistryRows, newDeviceSecrets, writeRegistryFile } from './bench-registry.js'
import { startHaproxy } from './engines/haproxy-engine.js'
import { startPostgres } from './engines/postgres-engine.js'
import { startRedis } from './engines/redis-engine.js'
import { type NodeProcess, quantile, startNode, treeCpuMs, treeRssBytes } from './fleet-processes.js'
import { connectBenchDevice } from './mqtt-device.js'
import { median } from './stats.js'

/**
 * Fleet mode's cost (docs/fleet.md, "Capacity"), every process counted: nodes, PostgreSQL (postmaster and
 * backends), Redis, HAProxy. In one run:
 *   throughput  QoS 1 readings to the ack envelope: one Level node, one PostgreSQL node, three PostgreSQL
 *               nodes behind HAProxy; msgs/s and CPU ms per 1k msgs summed over every process
 *   idle        BENCH_FLEET_IDLE devices (clean session off, subscribed to ack and command, as the agent)
 *               connected straight to three nodes: connect time, and memory per connection in the nodes
 *               and in Redis, beside one Level node holding a third of them
 *   failover    BENCH_FLEET_FAILOVER devices through HAProxy (health check every 1 s, two failures, as in
 *               deploy/collector/haproxy.fleet.cfg); a node is killed with -9; time from the kill to each
 *               of its devices' CONNACK on another node
 * This machine has 2 cores: three nodes cannot show more throughput than one, only what a message costs.
 */

const devices = Number(process.env.BENCH_DEVICES ?? 10)
const windowPerDevice = Number(process.env.BENCH_WINDOW ?? 200)
const runs = Number(process.env.BENCH_RUNS ?? 3)
const throughputMs = Number(process.env.BENCH_SECONDS ?? 5) * 1000
const warmupMs = 1000
const idleCount = Number(process.env.BENCH_FLEET_IDLE ?? 2000)
const failoverCount = Number(process.env.BENCH_FLEET_FAILOVER ?? 300)
const connectsInFlight = 100

type Setup = 'level-1' | 'postgres-1' | 'postgres-3'
const setups: readonly Setup[] = ['level-1', 'postgres-1', 'postgres-3']

const baseConfig = [
  'host: 127.0.0.1',
  'logLevel: warn',
  'mqtt: { port: 0, wsPort: null }',
  'http: { port: null }',
  'limits: { devicePublishesPerS: 1000000, devicePublishBurst: 1000000, sessions: { maxPerIdentity: 4 } }',
]

function fleetConfig(dataDir: string, postgresUrl: string, redisUrl: string): string[] {
  return [
    `dataDir: ${dataDir}`,
    ...baseConfig,
    'store: postgres',
    `postgres: { url: '${postgresUrl}', maxConnections: 8 }`,
    `redis: { url: '${redisUrl}' }`,
  ]
}

interface Device {
  readonly id: string
  readonly client: MqttClient
  outstanding: number
  seq: number
}

const capturedAt = new Date().toISOString()

async function connectDevices(port: number, secrets: Map<string, string>, count: number): Promise<Device[]> {
  const list: Device[] = []
  for (const [id, secret] of [...secrets].slice(0, count)) {
    const client = await connectBenchDevice(port, id, secret)
    await client.subscribeAsync(topics.ack(id), { qos: 1 })
    list.push({ id, client, outstanding: 0, seq: 0 })
  }
  return list
}

/** Readings with a window per device for durationMs; msgs/s acked by ack envelopes. */
async function measureThroughput(
  list: Device[],
  durationMs: number,
): Promise<{ rate: number; acked: number }> {
  let isRunning = true
  let acked = 0
  const publish = (device: Device): void => {
    const seq = device.seq++
    const payload = `{"v":1,"id":"${newEventId()}","deviceId":"${device.id}","seq":${seq},"class":"medium","type":"temperature","capturedAt":"${capturedAt}","payload":{"celsius":21.5,"sensor":"bme280-${seq % 4}"}}`
    device.outstanding += 1
    device.client.publish(topics.event(device.id, 'medium'), payload, { qos: 1 })
  }
  for (const device of list) {
    device.client.on('message', (_topic, message) => {
      const ids = (JSON.parse(message.toString()) as { payload: { ids: string[] } }).payload.ids
      device.outstanding -= ids.length
      acked += ids.length
      while (isRunning && device.outstanding < windowPerDevice) publish(device)
    })
  }
  const started = performance.now()
  for (const device of list) while (device.outstanding < windowPerDevice) publish(device)
  await new Promise((resolve) => setTimeout(resolve, durationMs))
  const count = acked
  const elapsedMs = performance.now() - started
  isRunning = false
  const deadline = Date.now() + 15_000
  while (list.some((d) => d.outstanding > 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  for (const device of list) device.client.removeAllListeners('message')
  return { rate: (count / elapsedMs) * 1000, acked: count }
}

/** The engines every PostgreSQL setup shares: durable PostgreSQL (fsync on, as the Level node fsyncs) and Redis. */
interface Engines {
  readonly postgres: Awaited<ReturnType<typeof startPostgres>>
  readonly redis: Awaited<ReturnType<typeof startRedis>>
  database(): Promise<string>
  close(): Promise<void>
}

async function startEngines(): Promise<Engines> {
  const postgres = await startPostgres({ isDurable: true, maxConnections: 100 })
  const redis = await startRedis()
  await postgres.createTemplate('bench_template', async (url) => {
    await migratePostgres(url)
  })
  let count = 0
  return {
    postgres,
    redis,
    database: () => postgres.createDatabase(`bench_${++count}`, 'bench_template'),
    async close() {
      await redis.close()
      await postgres.close()
    },
  }
}

/** A started setup: where devices connect, the PIDs whose CPU counts, and how to stop it. */
interface Running {
  readonly port: number
  readonly pids: readonly number[]
  /** The fleet's database (PostgreSQL setups). */
  readonly databaseUrl?: string
  /** The same PIDs by part: nodes, postgres, redis, haproxy. */
  readonly parts: Readonly<Record<string, readonly number[]>>
  readonly nodes: readonly NodeProcess[]
  stop(): Promise<void>
}

async function startSetup(
  setup: Setup,
  dir: string,
  engines: Engines,
  secrets: Map<string, string>,
): Promise<Running> {
  const runDir = mkdtempSync(join(dir, `${setup}-`))
  const nodeCount = setup === 'postgres-3' ? 3 : 1
  const url = setup === 'level-1' ? '' : await engines.database()
  // A Level node reads its registry file; a fleet's nodes read the registry in PostgreSQL.
  if (url) await insertRegistryRows(url, secrets)
  const nodes: NodeProcess[] = []
  for (let i = 0; i < nodeCount; i++) {
    const dataDir = join(runDir, `node${i + 1}`)
    if (!url) writeRegistryFile(dataDir, secrets)
    const lines =
      setup === 'level-1'
        ? [`dataDir: ${dataDir}`, ...baseConfig]
        : fleetConfig(dataDir, url, engines.redis.url)
    nodes.push(await startNode(join(runDir, `node${i + 1}.yaml`), lines))
  }
  const enginePids = setup === 'level-1' ? [] : [engines.postgres.process.pid, engines.redis.process.pid]
  const engineParts: Record<string, readonly number[]> =
    setup === 'level-1'
      ? {}
      : { postgres: [engines.postgres.process.pid], redis: [engines.redis.process.pid] }
  if (nodeCount === 1) {
    const node = nodes[0] as NodeProcess
    return {
      port: node.mqttPort,
      pids: [node.pid, ...enginePids],
      parts: { nodes: [node.pid], ...engineParts },
      ...(url ? { databaseUrl: url } : {}),
      nodes,
      stop: () => node.stop(),
    }
  }
  const proxy = await startHaproxy({
    services: [{ name: 'mqtt', backendPorts: nodes.map((n) => n.mqttPort) }],
  })
  return {
    port: proxy.ports.mqtt as number,
    pids: [...nodes.map((n) => n.pid), ...enginePids, proxy.process.pid],
    parts: { nodes: nodes.map((n) => n.pid), ...engineParts, haproxy: [proxy.process.pid] },
    ...(url ? { databaseUrl: url } : {}),
    nodes,
    async stop() {
      await proxy.close()
      await Promise.all(nodes.map((n) => n.stop()))
    },
  }
}

/** Bytes the events table and its indexes take per stored event (after VACUUM ANALYZE, for a true count). */
async function bytesPerEvent(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('VACUUM ANALYZE events')
    const result = await client.query<{ bytes: string; n: string }>(
      "SELECT pg_total_relation_size('events') AS bytes, (SELECT count(*) FROM events) AS n",
    )
    const row = result.rows[0]
    return Number(row?.bytes) / Number(row?.n)
  } finally {
    await client.end()
  }
}

const cpuOf = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + treeCpuMs(pid), 0)

/** Throughput figures of one setup over the runs; parts: CPU ms per 1k msgs of each part. */
interface ThroughputResult {
  readonly rates: number[]
  readonly cpuPerK: number[]
  readonly parts: Map<string, number[]>
  /** PostgreSQL: bytes of the events table with its indexes per stored event. */
  readonly bytesPerEvent: number[]
}

async function throughputRuns(dir: string, engines: Engines): Promise<Map<Setup, ThroughputResult>> {
  const secrets = newDeviceSecrets('bench', devices)
  const results = new Map<Setup, ThroughputResult>()
  for (const setup of setups)
    results.set(setup, { rates: [], cpuPerK: [], parts: new Map(), bytesPerEvent: [] })
  for (let run = 0; run < runs; run++) {
    for (const setup of setups) {
      const running = await startSetup(setup, dir, engines, secrets)
      const list = await connectDevices(running.port, secrets, devices)
      await measureThroughput(list, warmupMs)
      const partsBefore = Object.entries(running.parts).map(([name, pids]) => [name, cpuOf(pids)] as const)
      const cpuBefore = cpuOf(running.pids)
      const { rate, acked } = await measureThroughput(list, throughputMs)
      const cpuPerK = (cpuOf(running.pids) - cpuBefore) / (acked / 1000)
      const result = results.get(setup) as ThroughputResult
      result.rates.push(rate)
      result.cpuPerK.push(cpuPerK)
      for (const [name, before] of partsBefore) {
        const perK = (cpuOf(running.parts[name] ?? []) - before) / (acked / 1000)
        result.parts.set(name, [...(result.parts.get(name) ?? []), perK])
      }
      await Promise.all(list.map((d) => d.client.endAsync(true)))
      if (running.databaseUrl) result.bytesPerEvent.push(await bytesPerEvent(running.databaseUrl))
      await running.stop()
      process.stderr.write(
        `run ${run + 1}/${runs} ${setup}: ${Math.round(rate)} msgs/s, ${cpuPerK.toFixed(0)} CPU ms/1k\n`,
      )
    }
  }
  return results
}

/** What connecting the idle devices took: each device's CONNACK + SUBACK time, and connects tried again. */
interface IdleConnects {
  readonly latenciesMs: number[]
  readonly sockets: { destroy(): void }[]
  /** Attempts that failed (reset, refused) and were made again, by error code. */
  readonly retries: Map<string, number>
  /** Connections that dropped after their SUBACK, while the others were still connecting. */
  dropped: number
}

/** Connects ids as the agent does (clean session off, SUBSCRIBE ack and command) on raw sockets. */
async function connectIdle(ports: readonly number[], secrets: Map<string, string>): Promise<IdleConnects> {
  const entries = [...secrets]
  const result: IdleConnects = { latenciesMs: [], sockets: [], retries: new Map(), dropped: 0 }
  let next = 0
  const attempt = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const [deviceId, secret] = entries[index] as [string, string]
      const startedMs = performance.now()
      const socket = tcpConnect(ports[index % ports.length] as number, '127.0.0.1')
      let isSubscribed = false
      const parser = mqttPacket.parser({ protocolVersion: 4 })
      socket.on('data', (data) => parser.parse(data))
      socket.on('error', (err) => {
        if (isSubscribed) result.dropped += 1
        else reject(err)
      })
      parser.on('packet', (packet) => {
        if (packet.cmd === 'connack') {
          if (packet.returnCode !== 0) {
            socket.destroy()
            reject(
              Object.assign(new Error(`CONNACK ${packet.returnCode}`), {
                code: `connack_${packet.returnCode}`,
              }),
            )
            return
          }
          socket.write(
            mqttPacket.generate({
              cmd: 'subscribe',
              messageId: 1,
              subscriptions: [
                { topic: topics.ack(deviceId), qos: 1 },
                { topic: topics.command(deviceId), qos: 1 },
              ],
            }),
          )
        } else if (packet.cmd === 'suback') {
          isSubscribed = true
          result.latenciesMs.push(performance.now() - startedMs)
          result.sockets.push(socket)
          resolve()
        }
      })
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: false,
          clientId: deviceId,
          keepalive: 0,
          username: deviceId,
          password: Buffer.from(secret),
        }),
      )
    })
  const connectOne = async (index: number): Promise<void> => {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt(index)
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? 'error')
        result.retries.set(code, (result.retries.get(code) ?? 0) + 1)
        if (tries >= 5) throw err
        await new Promise((resolve) => setTimeout(resolve, 100 * tries))
      }
    }
  }
  const worker = async (): Promise<void> => {
    while (next < entries.length) await connectOne(next++)
  }
  await Promise.all(Array.from({ length: connectsInFlight }, worker))
  return result
}

interface IdleResult {
  readonly totalS: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly nodeBytesPer: number
  readonly redisBytesPer: number
  /** Connect attempts made again, by error code, and connections dropped after their SUBACK. */
  readonly retries: string
}

async function idleRun(
  dir: string,
  engines: Engines,
  setup: 'level-1' | 'postgres-3',
  count: number,
): Promise<IdleResult> {
  const secrets = newDeviceSecrets('idle', count)
  const running = await startSetup(setup, dir, engines, secrets)
  const redis = new Redis(engines.redis.url)
  const redisUsed = async (): Promise<number> =>
    Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0)
  try {
    const nodePids = running.nodes.map((n) => n.pid)
    const rssOf = (): number => nodePids.reduce((sum, pid) => sum + treeRssBytes(pid), 0)
    const rssBefore = rssOf()
    const redisBefore = await redisUsed()
    const startedMs = performance.now()
    const { latenciesMs, sockets, retries, dropped } = await connectIdle(
      running.nodes.map((n) => n.mqttPort),
      secrets,
    )
    const totalS = (performance.now() - startedMs) / 1000
    // Let the nodes settle (timers, session writes) before their memory is read.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const nodeBytesPer = (rssOf() - rssBefore) / count
    const redisBytesPer = setup === 'level-1' ? 0 : ((await redisUsed()) - redisBefore) / count
    for (const socket of sockets) socket.destroy()
    latenciesMs.sort((a, b) => a - b)
    const retryText = [...retries].map(([code, n]) => `${code} ${n}`).join(', ')
    return {
      retries: `${retryText || 'none'}; dropped after SUBACK ${dropped}`,
      totalS,
      p50Ms: quantile(latenciesMs, 0.5),
      p99Ms: quantile(latenciesMs, 0.99),
      nodeBytesPer,
      redisBytesPer,
    }
  } finally {
    redis.disconnect()
    await running.stop()
  }
}

/** Devices through HAProxy; node 1 is killed; ms from the kill to each of its devices' next CONNACK. */
async function failoverRun(
  dir: string,
  engines: Engines,
): Promise<{ affected: number; p50Ms: number; p99Ms: number }> {
  const secrets = newDeviceSecrets('fo', failoverCount)
  const runDir = mkdtempSync(join(dir, 'failover-'))
  const url = await engines.database()
  await insertRegistryRows(url, secrets)
  const nodes: NodeProcess[] = []
  for (let i = 0; i < 3; i++) {
    const dataDir = join(runDir, `node${i + 1}`)
    nodes.push(
      await startNode(join(runDir, `node${i + 1}.yaml`), fleetConfig(dataDir, url, engines.redis.url)),
    )
  }
  const proxy = await startHaproxy({
    services: [{ name: 'mqtt', backendPorts: nodes.map((n) => n.mqttPort) }],
    checkIntervalMs: 1000,
  })
  const clients: { client: MqttClient; closedAtMs?: number; backAtMs?: number }[] = []
  try {
    for (const [id, secret] of secrets) {
      const entry: (typeof clients)[number] = {
        client: mqtt.connect(`mqtt://127.0.0.1:${proxy.ports.mqtt}`, {
          clientId: id,
          username: id,
          password: secret,
          clean: false,
          protocolVersion: 4,
          // As the agent's uplink: reconnect at once, then every 100 ms.
          reconnectPeriod: 100,
          connectTimeout: 2000,
        }),
      }
      entry.client.on('error', () => {})
      await new Promise<void>((resolve) => entry.client.once('connect', () => resolve()))
      clients.push(entry)
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    let killedAtMs = 0
    for (const entry of clients) {
      entry.client.on('close', () => {
        if (killedAtMs > 0) entry.closedAtMs ??= Date.now()
      })
      entry.client.on('connect', () => {
        if (entry.closedAtMs !== undefined) entry.backAtMs ??= Date.now()
      })
    }
    killedAtMs = Date.now()
    await nodes[0]?.kill9()
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      const affected = clients.filter((c) => c.closedAtMs !== undefined)
      if (
        affected.length > 0 &&
        affected.every((c) => c.backAtMs !== undefined) &&
        Date.now() - killedAtMs > 3000
      )
        break
    }
    const times = clients
      .filter((c) => c.closedAtMs !== undefined)
      .map((c) => (c.backAtMs ?? Number.POSITIVE_INFINITY) - killedAtMs)
      .sort((a, b) => a - b)
    return { affected: times.length, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) }
  } finally {
    await Promise.all(clients.map((c) => c.client.endAsync(true)))
    await proxy.close()
    await Promise.all(nodes.map((n) => n.stop()))
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-fleet-'))
  const engines = await startEngines()
  try {
    const throughput = await throughputRuns(dir, engines)
    const idleFleet = await idleRun(dir, engines, 'postgres-3', idleCount)
    const idleLevel = await idleRun(dir, engines, 'level-1', Math.round(idleCount / 3))
    const failover = await failoverRun(dir, engines)
    const stored = [
      ...(throughput.get('postgres-1')?.bytesPerEvent ?? []),
      ...(throughput.get('postgres-3')?.bytesPerEvent ?? []),
    ]
    const level = throughput.get('level-1')
    const levelRate = median(level?.rates ?? [])
    const levelCpu = median(level?.cpuPerK ?? [])
    const lines = [
      `Fleet cost, every process counted. Throughput: QoS 1 medium readings to the ack envelope, ${devices} devices, window ${windowPerDevice}, ${throughputMs / 1000} s per run after ${warmupMs / 1000} s warm-up, median of ${runs} runs; PostgreSQL with fsync on, the Level node fsyncing each commit.`,
      '',
      '| setup | msgs/s (median) | vs one Level node | CPU ms per 1k msgs, all processes | vs one Level node | of which nodes / PostgreSQL / Redis / HAProxy | goal |',
      '|---|---:|---:|---:|---:|---|---|',
    ]
    const figures: BenchFigure[] = []
    for (const setup of setups) {
      const r = throughput.get(setup)
      const rate = median(r?.rates ?? [])
      const cpu = median(r?.cpuPerK ?? [])
      const goal = setup === 'postgres-3' ? '≤ 2x CPU' : ''
      const parts = ['nodes', 'postgres', 'redis', 'haproxy']
        .map((name) => {
          const values = r?.parts.get(name)
          return values ? median(values).toFixed(0) : '-'
        })
        .join(' / ')
      lines.push(
        `| ${setup} | ${Math.round(rate)} | ${(rate / levelRate).toFixed(2)}x | ${cpu.toFixed(0)} | ${(cpu / levelCpu).toFixed(2)}x | ${parts} | ${goal} |`,
      )
      const ref = setup === 'level-1' ? {} : { reference: 'one Level node' }
      figures.push(
        {
          name: `fleet ${setup} msgs/s`,
          value: rate,
          unit: 'msgs/s',
          better: 'higher',
          ...ref,
          ...(setup === 'level-1' ? {} : { referenceValue: levelRate }),
        },
        {
          name: `fleet ${setup} CPU per 1k msgs`,
          value: cpu,
          unit: 'ms',
          better: 'lower',
          ...ref,
          ...(setup === 'level-1' ? {} : { referenceValue: levelCpu }),
        },
      )
    }
    lines.push(
      '',
      `PostgreSQL: ${Math.round(median(stored))} bytes per stored reading (events table with its indexes, median of the PostgreSQL runs).`,
      '',
      `Idle devices (clean session off, SUBSCRIBE to ack and command, ${connectsInFlight} connects in flight), straight to the nodes:`,
      '',
      '| setup | devices | connect all, s | connects/s | CONNACK+SUBACK p50 ms | p99 ms | node RSS per connection | Redis per connection | connects tried again |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    )
    for (const [name, r, count] of [
      ['3 PostgreSQL nodes', idleFleet, idleCount],
      ['one Level node (reference)', idleLevel, Math.round(idleCount / 3)],
    ] as const) {
      lines.push(
        `| ${name} | ${count} | ${r.totalS.toFixed(1)} | ${Math.round(count / r.totalS)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${(r.nodeBytesPer / 1024).toFixed(1)} KiB | ${(r.redisBytesPer / 1024).toFixed(1)} KiB | ${r.retries} |`,
      )
    }
    figures.push(
      {
        name: 'fleet idle connect p99',
        value: idleFleet.p99Ms,
        unit: 'ms',
        better: 'lower',
        reference: 'one Level node',
        referenceValue: idleLevel.p99Ms,
      },
      {
        name: 'fleet idle node bytes per connection',
        value: idleFleet.nodeBytesPer,
        unit: 'B',
        better: 'lower',
        reference: 'one Level node',
        referenceValue: idleLevel.nodeBytesPer,
      },
      {
        name: 'fleet idle Redis bytes per connection',
        value: idleFleet.redisBytesPer,
        unit: 'B',
        better: 'lower',
      },
      {
        name: 'fleet failover p99',
        value: failover.p99Ms,
        unit: 'ms',
        better: 'lower',
        reference: 'goal',
        referenceValue: 5000,
      },
    )
    lines.push(
      '',
      `Failover: ${failoverCount} devices through HAProxy (check every 1 s, fall 2), node 1 killed with -9; ${failover.affected} devices were on it.`,
      '',
      '| kill -9 to CONNACK on another node | p50 ms | p99 ms | goal |',
      '|---|---:|---:|---|',
      `| ${failover.affected} devices | ${Math.round(failover.p50Ms)} | ${Math.round(failover.p99Ms)} | p99 ≤ 5000 |`,
    )
    process.stdout.write(`${lines.join('\n')}\n`)
    emitFigures('fleet', figures)
  } finally {
    await engines.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
