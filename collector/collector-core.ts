import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Envelope, PayloadInputOf } from '../shared/protocol/index.js'
import type { Quotas } from './access/quotas.js'
import { endpointRulesFrom } from './access/quotas.js'
import { type RoutePermissions, routePermissions, withExposure } from './access/route-permissions.js'
import { reportBrokerEvents } from './broker/broker-events.js'
import { DeviceEnvelopePublisher } from './broker/device-envelope-publisher.js'
import { createDoorbellBroker, type DoorbellBroker } from './broker/doorbell-broker.js'
import { LoginLimiter } from './broker/login-limiter.js'
import { type MqttListeners, startMqttListeners } from './broker/mqtt-listeners.js'
import { PreAuthBudget } from './broker/pre-auth-budget.js'
import { TokenBucketRateLimiter } from './broker/token-bucket.js'
import type { ClipStore } from './clips/clip-store.js'
import type { CollectorConfig } from './config.js'
import type { CollectorEvent } from './events/collector-event.js'
import { CollectorEventBus } from './events/event-bus.js'
import type { CollectorExtension } from './extensions/extension.js'
import { ExtensionHost } from './extensions/extension-host.js'
import { ForwardDispatcher } from './forwarding/forward-dispatcher.js'
import { type Forwarder, isForwarded } from './forwarding/forwarder.js'
import { buildHttpServer } from './http/http-server.js'
import { registerMediaRoutes } from './http/media-routes.js'
import { AckPublisher } from './ingest/ack-publisher.js'
import type { CommitResult } from './ingest/commit-result.js'
import { GroupCommitWriter } from './ingest/group-commit-writer.js'
import type { RejectReason } from './ingest/ingest-item.js'
import { PromCollectorMetrics } from './metrics/collector-metrics.js'
import { RegistryWatcher } from './registry/registry-watcher.js'
import type { CollectorStores } from './store/collector-stores.js'
import type { EventStore } from './store/event-store.js'
import { retentionFromDays } from './store/retention-sweep.js'

/** What the core is built from: collector/main.ts's composition. */
export interface CoreDeps {
  readonly stores: CollectorStores
  /** Started in this order before the collector takes input, stopped in the reverse order. */
  readonly extensions: readonly CollectorExtension[]
  /** Forwarders beside the extensions' own (the demo's console). */
  readonly forwarders: readonly Forwarder[]
  /** Listeners of every bus event (main.ts's log; tests' recorders), after each kind's listeners. */
  readonly observers: readonly ((event: CollectorEvent) => void)[]
  readonly quotas: Quotas
  readonly routePermissions?: RoutePermissions
  readonly now: () => number
}

/** A running collector. */
export interface RunningCollector {
  readonly mqttPort: number
  readonly wsPort?: number
  readonly tlsPort?: number
  readonly httpPort?: number
  readonly dataDir: string
  readonly stores: CollectorStores
  /** The event store (stores.events). */
  readonly store: EventStore
  /** The clip store (stores.clips). */
  readonly clips: ClipStore
  readonly metrics: PromCollectorMetrics
  readonly http?: FastifyInstance
  /** Ids of the registered devices that may connect (enabled), sorted; see the registry_changed event. */
  enabledDeviceIds(): string[]
  /** Last known presence of each device. */
  readonly presence: ReadonlyMap<string, { state: 'online' | 'offline'; atMs: number }>
  /** Publishes from the collector itself (not subject to device ACLs), e.g. retained discovery configs. */
  publish(topic: string, payload: Buffer, options?: { retain?: boolean }): Promise<void>
  /** Publishes a command envelope to a device (QoS 1, queued while it is offline with a session). */
  sendCommand(deviceId: string, payload: PayloadInputOf<'command'>): Promise<Envelope<'command'>>
  /** Resolves when everything received so far is committed and acked, and the tasks it started are done. */
  flush(): Promise<void>
  close(): Promise<void>
}

/**
 * The collector's core: the aedes broker with the ingest steps as its hooks, group commit, acks, the
 * forwarders, the MQTT listeners, the HTTP server with media routes, and the bus the extensions listen
 * on. After each commit it counts, acks, forwards, and tells the bus (`stored`, `committed`); everything
 * else a commit leads to (alerts, clip checks, the dashboard's live view) is an extension's listener.
 */
export async function startCollectorCore(config: CollectorConfig, deps: CoreDeps): Promise<RunningCollector> {
  const { stores, now } = deps
  const { events: store, clips, registry } = stores
  let broker: DoorbellBroker | undefined
  const { login, preAuth: preAuthLimits, sessions: sessionLimits } = config.limits
  const loginLimiter = new LoginLimiter(login, now, stores.loginFeed)
  const preAuth = new PreAuthBudget(preAuthLimits)
  const metrics = new PromCollectorMetrics({
    connectedClients: () => broker?.aedes.connectedClients ?? 0,
    ingestQueue: () => writer.queuedCount,
    sessions: () => broker?.sessionCount() ?? 0,
    preAuthBytes: () => preAuth.totalBytes,
  })
  const bus = new CollectorEventBus({
    countFailure: (listener, event) => metrics.listenerFailures.inc({ listener, event }),
  })
  for (const observer of deps.observers) bus.onAny('observer', observer)
  const emit = (event: CollectorEvent): void => bus.emit(event)
  const presence = new Map<string, { state: 'online' | 'offline'; atMs: number }>()
  const reject = (reason: RejectReason, detail: { clientId?: string; deviceId?: string } = {}): void => {
    metrics.reject(reason)
    emit({ kind: 'rejected', reason, ...detail })
  }
  const dispatcher = new ForwardDispatcher({
    forwarders: deps.forwarders,
    queueLimit: config.forwarding.queueLimit,
    onOutcome: (outcome) => {
      metrics.forwards.inc({ forwarder: outcome.forwarder, outcome: outcome.kind })
      emit({ kind: 'forward', outcome })
    },
  })
  const publish = (topic: string, payload: Buffer, retain = false): Promise<void> =>
    new Promise<void>((resolveAck, rejectAck) => {
      if (!broker) return rejectAck(new Error('broker not started'))
      broker.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, (err?: Error) =>
        err ? rejectAck(err) : resolveAck(),
      )
    })
  const acks = new AckPublisher(publish)
  const commands = new DeviceEnvelopePublisher((topic, payload) => publish(topic, payload), 'command')
  const sendCommand = (deviceId: string, payload: PayloadInputOf<'command'>): Promise<Envelope<'command'>> =>
    commands.send(deviceId, payload)
  const pendingTasks = new Set<Promise<unknown>>()
  const track = (task: string, promise: Promise<unknown>): void => {
    const tracked = promise.catch((err: unknown) => emit({ kind: 'task_failed', task, err }))
    pendingTasks.add(tracked)
    void tracked.finally(() => pendingTasks.delete(tracked))
  }

  const onCommitted = (result: CommitResult): void => {
    metrics.countCommit(result)
    for (const event of result.stored) if (isForwarded(event)) dispatcher.dispatch(event)
    if (result.stored.length > 0) emit({ kind: 'stored', events: result.stored })
    for (const refusal of result.refused) reject(refusal.reason, { deviceId: refusal.deviceId })
    for (const ack of result.acks) {
      track(
        'ack',
        acks.publish(ack).then(
          (sent) => metrics.acks.inc(sent),
          (err: unknown) => emit({ kind: 'ack_failed', deviceId: ack.deviceId, err }),
        ),
      )
    }
    emit({ kind: 'committed', result })
  }
  const writer = new GroupCommitWriter({
    store,
    clips,
    clipRetentionMs: retentionFromDays(config.retentionDays).low,
    now,
    maxBatchItems: config.store.maxBatchEvents,
    maxConcurrentCommits: config.store.maxConcurrentCommits,
    lingerMs: config.store.lingerMs,
    onCommitted,
    onCommitFailed: (err, itemCount) => {
      metrics.commitFailures.inc()
      emit({ kind: 'commit_failed', err, itemCount })
    },
  })

  const endpointRules = endpointRulesFrom(config)
  broker = await createDoorbellBroker({
    registry,
    rateLimiter: new TokenBucketRateLimiter(deps.quotas.devicePublishes, now),
    storageQuota: stores.storageBudget ?? new TokenBucketRateLimiter(deps.quotas.deviceBytes, now),
    maxClockAheadMs: config.limits.maxClockAheadMs,
    connectTimeoutMs: endpointRules.connectTimeoutMs,
    credentialChecks: deps.quotas.credentialChecks,
    loginLimiter,
    sessions: sessionLimits,
    onSessionDropped: (what, reason, count) => metrics.sessionDrops.inc({ what, reason }, count),
    now,
    onRejected: reject,
    sink: writer,
    maxQueuedItems: config.store.maxQueuedItems,
    ...(stores.broker ? { engines: stores.broker } : {}),
    onPresence: (deviceId, state) => {
      presence.set(deviceId, { state, atMs: now() })
      emit({ kind: 'presence', deviceId, state })
    },
    onLiveSignal: (deviceId, payload) => emit({ kind: 'live_signal', deviceId, payload }),
  })
  const aedes = broker.aedes
  reportBrokerEvents(broker, { emit, reject })

  let isClosing = false
  const http =
    config.http.port === null
      ? undefined
      : await buildHttpServer({
          registry: metrics.registry,
          health: () => ({ store: store.isOpen, mqtt: !isClosing && !aedes.closed }),
          isMetricsServed: config.http.metricsAccess !== 'off',
          isOpenApiServed: config.http.openApiAccess !== 'off',
          trustProxy: config.http.trustProxy,
          access: {
            apiToken: config.http.apiToken,
            sessions: stores.sessions,
            homeowners: stores.homeowners,
            routes: withExposure(deps.routePermissions ?? routePermissions, config.http),
          },
        })
  if (http) await registerMediaRoutes(http, { store, clips, clipsRoot: join(stores.dataDir, 'clips') })

  const extensions = new ExtensionHost(bus)
  const mqtt = {
    publish: (topic: string, payload: Buffer, options?: { retain?: boolean }) =>
      publish(topic, payload, options?.retain ?? false),
    sendCommand,
    enabledDeviceIds: () => registry.enabledDeviceIds(),
  }
  let listeners: MqttListeners
  let httpPort: number | undefined
  try {
    await extensions.startAll(deps.extensions, {
      config,
      quotas: deps.quotas,
      stores,
      mqtt,
      http,
      metrics: metrics.registry,
      now,
      addForwarder: (forwarder) => dispatcher.add(forwarder),
      track,
    })
    listeners = await startMqttListeners(aedes, {
      host: config.host,
      tcpPort: config.mqtt.port,
      wsPort: config.mqtt.wsPort,
      ...(config.mqtt.tls ? { tls: config.mqtt.tls } : {}),
      maxPacketBytes: endpointRules.maxPacketBytes,
      listenBacklog: config.mqtt.listenBacklog,
      preAuth,
      isAddressBlocked: (address) => loginLimiter.isAddressBlocked(address),
      onRefused: (reason) => reject(reason),
      onTlsFailure: () => reject('tls_handshake'),
    })
    if (http && config.http.port !== null) {
      await http.listen({ port: config.http.port, host: config.host })
      const address = http.server.address()
      httpPort = typeof address === 'object' && address ? address.port : undefined
    }
  } catch (err) {
    await extensions.stopAll()
    await broker.close()
    await http?.close()
    throw err
  }

  const registryWatcher = new RegistryWatcher({
    registry,
    onChanged: () => {
      broker?.cutRevokedClients()
      emit({ kind: 'registry_changed', enabledDeviceIds: registry.enabledDeviceIds() })
    },
    onError: (err) => emit({ kind: 'task_failed', task: 'registry', err }),
  })

  return {
    mqttPort: listeners.tcpPort,
    ...(listeners.wsPort === undefined ? {} : { wsPort: listeners.wsPort }),
    ...(listeners.tlsPort === undefined ? {} : { tlsPort: listeners.tlsPort }),
    ...(httpPort === undefined ? {} : { httpPort }),
    ...(http ? { http } : {}),
    dataDir: stores.dataDir,
    stores,
    store,
    clips,
    metrics,
    presence,
    enabledDeviceIds: () => registry.enabledDeviceIds(),
    async flush() {
      await writer.flush()
      while (pendingTasks.size > 0) await Promise.all([...pendingTasks])
    },
    publish: mqtt.publish,
    sendCommand,
    async close() {
      if (isClosing) return
      isClosing = true
      await registryWatcher.stop()
      emit({ kind: 'stopping' })
      await listeners.close()
      await writer.flush()
      // Acks of the last commits are queued for offline sessions; bounded so a stuck task cannot hang exit.
      await Promise.race([
        Promise.allSettled([...pendingTasks]),
        new Promise((resolveWait) => setTimeout(resolveWait, 2000).unref()),
      ])
      await extensions.stopAll()
      await broker?.close()
      await dispatcher.close()
      await http?.close()
    },
  }
}
