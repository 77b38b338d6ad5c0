import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import mqttPacket from 'mqtt-packet'
import { ExponentialBackoff } from '../agent/uplink/backoff.js'
import { hashGeneratedSecret, newSecret } from '../collector/registry/secret-hash.js'
import { topics } from '../shared/protocol/index.js'

/**
 * Many doorbells on raw sockets, for the connection benchmarks: an MQTT.js client holds far more than a
 * socket, and 10,000 of them would measure the client process, not the broker. Each device connects as
 * the agent does (client id = device id, clean: false, keepalive, a retained offline will), subscribes to
 * its ack and command topics after CONNACK, and retries with the agent's own ExponentialBackoff
 * (agent/uplink/backoff.ts) when its connection closes. Device i connects from its own loopback address
 * (127.1.x.y), as devices of different homes would, so per-address limits see one device per address.
 */

export interface CrowdDevice {
  readonly index: number
  readonly id: string
  readonly secret: string
}

/** Devices crowd-0 .. crowd-(count-1) with fresh secrets, and the collector's registry.json holding them. */
export function makeCrowd(count: number, dataDir: string): CrowdDevice[] {
  const devices: CrowdDevice[] = []
  const records: Record<string, object> = {}
  const createdAt = new Date().toISOString()
  for (let index = 0; index < count; index++) {
    const id = `crowd-${index}`
    const secret = newSecret()
    devices.push({ index, id, secret })
    records[id] = { deviceId: id, secretHash: hashGeneratedSecret(secret), isDisabled: false, createdAt }
  }
  // One write of the registry's file format (FileIdentityRegistry would rewrite the file per device).
  writeFileSync(join(dataDir, 'registry.json'), JSON.stringify({ version: 1, devices: records, users: {} }), {
    mode: 0o600,
  })
  return devices
}

/** The loopback source address of device index (up to 62,500 devices). */
export function crowdAddress(index: number): string {
  return `127.1.${Math.floor(index / 250)}.${1 + (index % 250)}`
}

export interface CrowdOptions {
  readonly port: number
  /** Send username/password (the collector); the reference brokers run anonymous. */
  readonly withCredentials: boolean
  readonly keepaliveS: number
  /** The agent's backoff settings (its config defaults: 1 s doubling to 60 s). */
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number }
  /** Random in [0, 1) for the jitter. */
  readonly random?: () => number
}

type Phase = 'waiting' | 'connecting' | 'connected' | 'stopped'

/** One device's connection and its retry schedule. */
class CrowdConnection {
  phase: Phase = 'waiting'
  socket: Socket | undefined
  timer: NodeJS.Timeout | undefined
  /** When its current connection got CONNACK 0 (performance.now()). */
  connectedAt = Number.NaN
  attempts = 0
  readonly backoff: ExponentialBackoff

  constructor(
    readonly device: CrowdDevice,
    readonly crowd: Crowd,
  ) {
    this.backoff = new ExponentialBackoff(crowd.options.backoff, crowd.options.random)
  }
}

/** Counters of the crowd, for the benchmark's table. */
export interface CrowdCounts {
  connected: number
  attempts: number
  refused: number
  closedEarly: number
}

export class Crowd {
  readonly options: CrowdOptions
  readonly #connections: CrowdConnection[]
  readonly #packets = new Map<number, { connect: Buffer; subscribe: Buffer }>()
  readonly counts: CrowdCounts = { connected: 0, attempts: 0, refused: 0, closedEarly: 0 }
  /** performance.now() of every CONNACK 0, in arrival order. */
  readonly connectTimes: number[] = []
  #onConnected: (() => void) | undefined

  constructor(devices: readonly CrowdDevice[], options: CrowdOptions) {
    this.options = options
    this.#connections = devices.map((device) => new CrowdConnection(device, this))
  }

  get size(): number {
    return this.#connections.length
  }

  #packetsOf(device: CrowdDevice): { connect: Buffer; subscribe: Buffer } {
    let made = this.#packets.get(device.index)
    if (made) return made
    const { withCredentials, keepaliveS } = this.options
    made = {
      connect: mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: false,
        clientId: device.id,
        keepalive: keepaliveS,
        ...(withCredentials ? { username: device.id, password: Buffer.from(device.secret) } : {}),
        will: {
          topic: topics.status(device.id),
          payload: Buffer.from('{"state":"offline"}'),
          qos: 1,
          retain: true,
        },
      }),
      subscribe: mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: topics.ack(device.id), qos: 1 },
          { topic: topics.command(device.id), qos: 1 },
        ],
      }),
    }
    this.#packets.set(device.index, made)
    return made
  }

  /** Every device connects now (no delay): the worst case of a storm. */
  connectAllNow(): void {
    for (const connection of this.#connections) this.#open(connection)
  }

  /** Connects devices first to last, at most `perBatch` at a time waiting on each other (no storm). */
  async connectGradually(from: number, to: number, perBatch = 200): Promise<void> {
    for (let start = from; start < to; start += perBatch) {
      const batch = this.#connections.slice(start, Math.min(to, start + perBatch))
      const target = this.counts.connected + batch.length
      for (const connection of batch) this.#open(connection)
      await this.waitFor(target, 60_000)
    }
  }

  /** Resolves once `count` devices are connected, or after timeoutMs; true when they are. */
  waitFor(count: number, timeoutMs: number): Promise<boolean> {
    if (this.counts.connected >= count) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onConnected = undefined
        resolve(false)
      }, timeoutMs)
      this.#onConnected = () => {
        if (this.counts.connected < count) return
        clearTimeout(timer)
        this.#onConnected = undefined
        resolve(true)
      }
    })
  }

  #open(connection: CrowdConnection): void {
    if (connection.phase === 'stopped') return
    connection.phase = 'connecting'
    connection.attempts += 1
    this.counts.attempts += 1
    const packets = this.#packetsOf(connection.device)
    const socket = connect({
      host: '127.0.0.1',
      port: this.options.port,
      localAddress: crowdAddress(connection.device.index),
    })
    connection.socket = socket
    socket.setNoDelay(true)
    socket.on('connect', () => socket.write(packets.connect))
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (packet) => {
      if (packet.cmd !== 'connack') return
      if (packet.returnCode !== 0) {
        this.counts.refused += 1
        socket.destroy()
        return
      }
      connection.phase = 'connected'
      connection.connectedAt = performance.now()
      connection.backoff.reset()
      this.connectTimes.push(connection.connectedAt)
      this.counts.connected += 1
      socket.write(packets.subscribe)
      this.#onConnected?.()
    })
    parser.on('error', () => socket.destroy())
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.on('error', () => {})
    socket.on('close', () => this.#closed(connection, socket))
  }

  #closed(connection: CrowdConnection, socket: Socket): void {
    if (connection.socket !== socket) return
    connection.socket = undefined
    if (connection.phase === 'stopped') return
    if (connection.phase === 'connected') this.counts.connected -= 1
    else this.counts.closedEarly += 1
    connection.phase = 'waiting'
    // What the agent's uplink does on a close (agent/uplink/mqtt-uplink.ts #onClosed).
    connection.timer = setTimeout(() => this.#open(connection), connection.backoff.next())
  }

  /** Ends every connection with DISCONNECT (no wills) and stops retrying. */
  async stop(): Promise<void> {
    const disconnect = mqttPacket.generate({ cmd: 'disconnect' })
    const closing: Promise<void>[] = []
    for (const connection of this.#connections) {
      connection.phase = 'stopped'
      clearTimeout(connection.timer)
      const socket = connection.socket
      if (!socket || socket.destroyed) continue
      closing.push(
        new Promise((resolve) => {
          socket.once('close', () => resolve())
          socket.end(disconnect)
          setTimeout(() => socket.destroy(), 2_000).unref()
        }),
      )
    }
    await Promise.all(closing)
  }
}
