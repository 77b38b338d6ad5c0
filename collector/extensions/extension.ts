import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Envelope, PayloadInputOf } from '../../shared/protocol/index.js'
import type { Quotas } from '../access/quotas.js'
import type { CollectorConfig } from '../config.js'
import type { CollectorEvent, CollectorEventKind, CollectorEventOf } from '../events/collector-event.js'
import type { Forwarder } from '../forwarding/forwarder.js'
import type { CollectorStores } from '../store/collector-stores.js'

/** An extension's view of the bus: its listeners are removed when it stops. */
export interface ExtensionBus {
  on<K extends CollectorEventKind>(kind: K, listener: (event: CollectorEventOf<K>) => void): void
  emit(event: CollectorEvent): void
}

/** Publishing through the collector's own broker (not subject to device ACLs). */
export interface MqttSurface {
  /** Publishes at QoS 1, e.g. retained discovery configs. */
  publish(topic: string, payload: Buffer, options?: { retain?: boolean }): Promise<void>
  /** Publishes a command envelope to a device (QoS 1, queued while it is offline with a session). */
  sendCommand(deviceId: string, payload: PayloadInputOf<'command'>): Promise<Envelope<'command'>>
  /** Ids of the registered devices that may connect (enabled), sorted; see the registry_changed event. */
  enabledDeviceIds(): string[]
}

/** What an extension is given when it starts. */
export interface ExtensionContext {
  readonly config: CollectorConfig
  /** Limits of what one principal may use (access/quotas.ts). */
  readonly quotas: Quotas
  /** Every store of the collector (store/collector-stores.ts). */
  readonly stores: CollectorStores
  readonly bus: ExtensionBus
  readonly mqtt: MqttSurface
  /**
   * The HTTP server before it listens, to add routes (each needs its line in access/route-permissions.ts);
   * undefined when `http.port` is null.
   */
  readonly http: FastifyInstance | undefined
  /** The Prometheus registry behind GET /metrics, for the extension's own metrics. */
  readonly metrics: Registry
  readonly now: () => number
  /** Hands stored high-class events (and media relating to them) to a forwarder, through its own queue. */
  addForwarder(forwarder: Forwarder): void
  /** Keeps a background task in view: `flush()` waits for it and a failure is reported as task_failed. */
  track(task: string, promise: Promise<unknown>): void
}

/**
 * One feature of the collector, in the way zigbee2mqtt builds features under lib/extension/: it starts
 * with the context (subscribes to the bus, adds routes, forwarders and metrics) and stops on shutdown.
 * Extensions start in the order collector/main.ts lists them, before the collector takes input, and
 * stop in the reverse order after the last commit.
 */
export interface CollectorExtension {
  /** Short stable name: the owner of its bus listeners, in logs and the listener-failure metric. */
  readonly name: string
  start(ctx: ExtensionContext): void | Promise<void>
  stop(): void | Promise<void>
}
