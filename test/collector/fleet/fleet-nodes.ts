import mqtt, { type MqttClient } from 'mqtt'
import { type CollectorOptions, type ComposedCollector, startCollector } from '../../../collector/main.js'
import { topics } from '../../../shared/protocol/index.js'
import { tempDir, testConfig } from '../collector-harness.js'

/** In-process collector nodes of one fleet: one PostgreSQL database, one Redis, a data folder each. */
export interface FleetNodes {
  readonly nodes: ComposedCollector[]
  /** Registers a device in the fleet's registry through one node, waits until every node knows it, returns its secret. */
  addDevice(deviceId: string): Promise<string>
  /** Registers a read-only service user on every node and returns its secret. */
  addUser(name: string): Promise<string>
  close(): Promise<void>
}

/** Starts count collectors with store: postgres on postgresUrl and redisUrl, with overrides in each config. */
export async function startFleetNodes(
  count: number,
  postgresUrl: string,
  redisUrl: string,
  overrides: Parameters<typeof testConfig>[1] = {},
  /** Options of node index, whose data folder is dataDir (a test's fault-injecting store). */
  optionsOf: (index: number, dataDir: string) => CollectorOptions = () => ({}),
): Promise<FleetNodes> {
  const dirs = Array.from({ length: count }, () => tempDir('fleet-node'))
  const nodes: ComposedCollector[] = []
  try {
    for (const [index, dir] of dirs.entries()) {
      nodes.push(
        await startCollector(
          testConfig(dir.path, {
            http: { port: null },
            store: { engine: 'postgres', isSyncWrite: false },
            ...overrides,
            postgres: { url: postgresUrl, maxConnections: 4, ...overrides.postgres },
            redis: { url: redisUrl },
          }),
          optionsOf(index, dir.path),
        ),
      )
    }
  } catch (err) {
    await Promise.all(nodes.map((node) => node.close()))
    for (const dir of dirs) dir.cleanup()
    throw err
  }
  return {
    nodes,
    async addDevice(deviceId) {
      const secret = await (nodes[0] as ComposedCollector).stores.registry.addDevice(deviceId)
      // The other nodes hear of it through PostgreSQL's NOTIFY, within milliseconds.
      const deadlineMs = Date.now() + 5000
      while (!nodes.every((node) => node.stores.registry.isDeviceEnabled(deviceId))) {
        if (Date.now() > deadlineMs) throw new Error(`${deviceId} did not reach every node's registry`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      return secret
    },
    async addUser(name) {
      const secret = await (nodes[0] as ComposedCollector).stores.registry.addUser(name)
      const deadlineMs = Date.now() + 5000
      while (!nodes.every((node) => node.stores.registry.isActive({ kind: 'service', name }))) {
        if (Date.now() > deadlineMs) throw new Error(`${name} did not reach every node's registry`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      return secret
    },
    async close() {
      await Promise.all(nodes.map((node) => node.close()))
      for (const dir of dirs) dir.cleanup()
    },
  }
}

/** What a device with a persistent session received. */
export interface SessionDevice {
  readonly client: MqttClient
  readonly isSessionPresent: boolean
  readonly acked: Set<string>
  readonly commands: { name: string; args?: unknown }[]
}

/** Connects as deviceId with clean session off (as the agent does), without subscribing to anything. */
export async function connectSessionDevice(
  port: number,
  deviceId: string,
  secret: string,
): Promise<SessionDevice> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: deviceId,
    username: deviceId,
    password: secret,
    clean: false,
    reconnectPeriod: 0,
    protocolVersion: 4,
  })
  const acked = new Set<string>()
  const commands: SessionDevice['commands'] = []
  client.on('message', (topic, message) => {
    const envelope = JSON.parse(message.toString()) as { payload: { ids?: string[]; name?: string } }
    if (topic === topics.command(deviceId))
      commands.push(envelope.payload as SessionDevice['commands'][number])
    else for (const id of envelope.payload.ids ?? []) acked.add(id)
  })
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', (packet) => resolve(packet))
    client.once('error', reject)
  })
  return { client, isSessionPresent: connack.sessionPresent, acked, commands }
}
