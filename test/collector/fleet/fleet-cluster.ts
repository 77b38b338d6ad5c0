import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findProgram } from '../../../bench/engines/engine-binaries.js'
import { freeLoopbackPort } from '../../../bench/engines/free-port.js'
import { type HaproxyEngine, startHaproxy } from '../../../bench/engines/haproxy-engine.js'
import { PostgresDatabase } from '../../../collector/postgres/postgres-database.js'
import { PostgresIdentityRegistry } from '../../../collector/postgres/postgres-identity-registry.js'
import { migratePostgres } from '../../../collector/postgres/postgres-migrations.js'
import { type CollectorProcess, startCollectorProcess } from '../../faults/support/collector-process.js'

/** `doorbell-collector` processes of one fleet behind HAProxy (TCP mode), each restartable on its port. */
export interface FleetCluster {
  /** The balancer's MQTT port: where devices connect. */
  readonly mqttPort: number
  /** The running process of each node (replaced by restart). */
  readonly nodes: readonly CollectorProcess[]
  /** The secret of each device, registered in the fleet's registry (PostgreSQL). */
  readonly secrets: ReadonlyMap<string, string>
  /** Each node's own MQTT port (HAProxy's backends), to reach one node directly. */
  readonly nodePorts: readonly number[]
  /** Each node's config file (doorbell-admin --config reaches the fleet's PostgreSQL with it). */
  readonly configFiles: readonly string[]
  /** kill -9 node i. */
  kill9(i: number): Promise<void>
  /** Starts node i again on its port and data folder. */
  restart(i: number): Promise<void>
  /** The node whose log shows clientId's latest connection. */
  nodeOf(clientId: string): number | undefined
  close(): Promise<void>
}

/** Options of a fleet cluster. */
export interface FleetClusterOptions {
  readonly dir: string
  readonly nodeCount: number
  readonly postgresUrl: string
  readonly redisUrl: string
  readonly deviceIds: readonly string[]
  /** Extra YAML lines for every node's config. */
  readonly extraConfig?: readonly string[]
  /** Each node serves HTTP (the dashboard and API) on a port of its own, with this bearer token; off by default. */
  readonly apiToken?: string
}

/** Node processes die with the test process (the kernel kills them), so a killed run leaves none behind. */
const dieWithParent = findProgram('setpriv')
  ? [findProgram('setpriv') as string, '--pdeathsig', 'KILL', '--']
  : []

/** Registers the devices in the fleet's registry (as doorbell-admin does), starts the nodes, then HAProxy. */
export async function startFleetCluster(options: FleetClusterOptions): Promise<FleetCluster> {
  const dataDirs = Array.from({ length: options.nodeCount }, (_, i) => join(options.dir, `node${i + 1}`))
  for (const dataDir of dataDirs) mkdirSync(dataDir, { recursive: true })
  const secrets = await registerDevices(options.postgresUrl, options.deviceIds)
  const ports: number[] = []
  const configs: string[] = []
  for (const [i, dataDir] of dataDirs.entries()) {
    const port = await freeLoopbackPort()
    ports.push(port)
    const config = join(options.dir, `node${i + 1}.yaml`)
    writeFileSync(
      config,
      [
        `dataDir: ${dataDir}`,
        'host: 127.0.0.1',
        `mqtt: { port: ${port}, wsPort: null }`,
        options.apiToken ? `http: { port: 0, apiToken: '${options.apiToken}' }` : 'http: { port: null }',
        'store: { engine: postgres, isSyncWrite: false }',
        `postgres: { url: '${options.postgresUrl}', maxConnections: 4 }`,
        `redis: { url: '${options.redisUrl}' }`,
        ...(options.extraConfig ?? []),
      ].join('\n'),
    )
    configs.push(config)
  }
  const nodes: CollectorProcess[] = []
  let proxy: HaproxyEngine | undefined
  try {
    for (const config of configs) nodes.push(await startCollectorProcess(config, 30_000, dieWithParent))
    proxy = await startHaproxy({ services: [{ name: 'mqtt', backendPorts: ports }] })
  } catch (err) {
    await Promise.all(nodes.map((node) => node.stop()))
    throw err
  }
  const started = proxy
  return {
    mqttPort: started.ports.mqtt as number,
    nodes,
    secrets,
    configFiles: configs,
    nodePorts: ports,
    async kill9(i) {
      await nodes[i]?.kill9()
    },
    async restart(i) {
      nodes[i] = await startCollectorProcess(configs[i] as string, 30_000, dieWithParent)
    },
    nodeOf(clientId) {
      let latest: { node: number; atMs: number } | undefined
      for (const [node, process] of nodes.entries()) {
        for (const line of process.lines) {
          if (!line.includes(clientId)) continue
          const entry = JSON.parse(line) as { msg?: string; clientId?: string; time?: string }
          if (entry.msg !== 'client connected' || entry.clientId !== clientId) continue
          const atMs = Date.parse(entry.time ?? '')
          if (!latest || atMs >= latest.atMs) latest = { node, atMs }
        }
      }
      return latest?.node
    },
    async close() {
      await started.close()
      await Promise.all(nodes.map((node) => node.stop()))
    },
  }
}

/** Adds the devices to the fleet's registry in PostgreSQL, its schema brought up to date first. */
async function registerDevices(url: string, deviceIds: readonly string[]): Promise<Map<string, string>> {
  await migratePostgres(url)
  const db = await PostgresDatabase.open(
    { url, maxConnections: 1, connectTimeoutMs: 5000, statementTimeoutMs: 10_000 },
    () => {},
  )
  try {
    const registry = await PostgresIdentityRegistry.open(db)
    const secrets = new Map<string, string>()
    for (const deviceId of deviceIds) secrets.set(deviceId, await registry.addDevice(deviceId))
    return secrets
  } finally {
    await db.close()
  }
}
