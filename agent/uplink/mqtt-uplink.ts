import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { parseTopic, topics } from '../../shared/protocol/index.js'
import type { Clock, TimerHandle } from '../clock/clock.js'
import { type BackoffOptions, ExponentialBackoff } from './backoff.js'
import type { Uplink, UplinkEvents } from './uplink.js'

/** Connection settings of the MQTT uplink (the `mqtt` section of the agent config). */
export interface MqttUplinkOptions {
  /** mqtt://host:1883 or mqtts://host:8883. */
  readonly url: string
  /** Also the MQTT client id (stable, for the persistent session) and the default username. */
  readonly deviceId: string
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** PEM of the one CA trusted for mqtts (pinned: the system store is not used). */
  readonly ca?: Buffer | undefined
  readonly keepaliveS: number
  readonly connectTimeoutMs: number
  readonly backoff: BackoffOptions
}

/** Collaborators of the MQTT uplink. */
export interface MqttUplinkDeps {
  readonly clock: Clock
  readonly options: MqttUplinkOptions
  /** The retained status message for a state (a protocol v1 status envelope). */
  readonly statusMessage: (state: 'online' | 'offline') => Buffer
  /** Random in [0, 1) for the backoff jitter. */
  readonly random?: () => number
  /** MQTT.js connect, replaceable in tests. */
  readonly connect?: (url: string, options: IClientOptions) => MqttClient
}

/**
 * The uplink over MQTT.js v5. MQTT.js only retries at a fixed reconnectPeriod, so it runs with
 * reconnectPeriod 0 and this class makes a fresh client per attempt after an exponential backoff with
 * jitter. clean:false with clientId = deviceId keeps the session, so acks sent while the device was away
 * are queued by the broker (MQTT 3.1.1 section 3.1.2.4). The last will and the retained status on connect
 * give presence.
 */
export class MqttUplink extends EventEmitter<UplinkEvents> implements Uplink {
  readonly #deps: MqttUplinkDeps
  readonly #backoff: ExponentialBackoff
  #client: MqttClient | undefined
  #reconnectTimer: TimerHandle | undefined
  #isOnline = false
  #isClosing = false

  constructor(deps: MqttUplinkDeps) {
    super()
    this.#deps = deps
    this.#backoff = new ExponentialBackoff(deps.options.backoff, deps.random)
  }

  get isOnline(): boolean {
    return this.#isOnline
  }

  get queuedBytes(): number {
    // MQTT.js writes each packet straight to its stream; what the socket has not handed to the OS waits here.
    return (this.#client?.stream as Partial<Socket> | undefined)?.writableLength ?? 0
  }

  start(): void {
    this.#isClosing = false
    this.#connect()
  }

  async publish(topic: string, payload: Buffer): Promise<void> {
    const client = this.#client
    if (!client || !this.#isOnline) throw new Error('uplink is offline')
    await client.publishAsync(topic, payload, { qos: 1 })
  }

  async close(): Promise<void> {
    this.#isClosing = true
    this.#deps.clock.clearTimeout(this.#reconnectTimer)
    const client = this.#client
    this.#client = undefined
    if (!client) return
    if (this.#isOnline) {
      const status = topics.status(this.#deps.options.deviceId)
      await Promise.race([
        client.publishAsync(status, this.#deps.statusMessage('offline'), { qos: 1, retain: true }),
        new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
      ]).catch(() => undefined)
    }
    this.#isOnline = false
    await client.endAsync(false).catch(() => undefined)
  }

  #connect(): void {
    const { options } = this.#deps
    const deviceId = options.deviceId
    const connect = this.#deps.connect ?? mqtt.connect
    const client = connect(options.url, {
      clientId: deviceId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs,
      keepalive: options.keepaliveS,
      resubscribe: false,
      queueQoSZero: false,
      // mqtt-packet's cache of all 65,536 packet-id buffers holds 6 MiB of heap for good; a Pi sends a
      // few packets a second and can write each id itself.
      writeCache: false,
      username: options.username ?? deviceId,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.ca ? { ca: options.ca, rejectUnauthorized: true } : {}),
      will: {
        topic: topics.status(deviceId),
        payload: this.#deps.statusMessage('offline'),
        qos: 1,
        retain: true,
      },
    })
    this.#client = client
    client.on('connect', () => {
      // A press is one small packet: do not let Nagle hold it back waiting for the previous ACK.
      ;(client.stream as Partial<Socket>).setNoDelay?.(true)
      void this.#onConnected(client)
    })
    client.on('message', (topic, payload) => {
      try {
        const parsed = parseTopic(topic)
        if (parsed.deviceId !== deviceId) return
        if (parsed.kind === 'ack' || parsed.kind === 'command') this.emit('message', parsed.kind, payload)
      } catch {
        // Not a protocol topic: nothing the device subscribed to, ignore.
      }
    })
    client.on('error', (err) => {
      if (client === this.#client) this.emit('connectionError', err)
    })
    client.on('close', () => this.#onClosed(client))
  }

  async #onConnected(client: MqttClient): Promise<void> {
    const deviceId = this.#deps.options.deviceId
    try {
      await client.subscribeAsync([topics.ack(deviceId), topics.command(deviceId)], { qos: 1 })
      await client.publishAsync(topics.status(deviceId), this.#deps.statusMessage('online'), {
        qos: 1,
        retain: true,
      })
    } catch (err) {
      if (client === this.#client) this.emit('connectionError', err as Error)
      client.end(true)
      return
    }
    if (client !== this.#client || this.#isClosing) return
    this.#backoff.reset()
    this.#isOnline = true
    this.emit('online')
  }

  #onClosed(client: MqttClient): void {
    if (client !== this.#client || this.#isClosing) return
    this.#client = undefined
    this.#isOnline = false
    client.removeAllListeners('message')
    client.end(true)
    const delayMs = this.#backoff.next()
    this.#reconnectTimer = this.#deps.clock.setTimeout(() => {
      this.#reconnectTimer = undefined
      if (!this.#isClosing) this.#connect()
    }, delayMs)
    this.emit('offline', delayMs)
  }
}
