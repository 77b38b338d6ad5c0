import type { EventEmitter } from 'node:events'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Client, Subscription } from 'aedes'
import type { FastifyInstance } from 'fastify'
import { DoorbellError } from '../shared/errors.js'
import type { Envelope, EventClass, PayloadInputOf } from '../shared/protocol/index.js'
import { DeviceEnvelopePublisher } from './broker/device-envelope-publisher.js'
import { createDoorbellBroker, type DoorbellBroker } from './broker/doorbell-broker.js'
import { type MqttListeners, startMqttListeners } from './broker/mqtt-listeners.js'
import { TokenBucketRateLimiter } from './broker/token-bucket.js'
import { ClipRecovery } from './clips/clip-recovery.js'
import type { ClipStore } from './clips/clip-store.js'
import { FileClipStore } from './clips/file-clip-store.js'
import type { CollectorEvent } from './collector-event.js'
import type { CollectorConfig } from './config.js'
import { openCollectorEngines } from './fleet/collector-engines.js'
import { ForwardDispatcher } from './forwarding/forward-dispatcher.js'
import { type Forwarder, isForwarded } from './forwarding/forwarder.js'
import { bearerTokenAuthorizer, type HttpAuthorizer } from './http/http-auth.js'
import { buildHttpServer } from './http/http-server.js'
import { registerMediaRoutes } from './http/media-routes.js'
import { AckPublisher } from './ingest/ack-publisher.js'
import { type CommitResult, GroupCommitWriter } from './ingest/group-commit-writer.js'
import { itemDevice, itemId, type RejectReason } from './ingest/ingest-item.js'
import { PromCollectorMetrics } from './metrics/collector-metrics.js'
import { FileIdentityRegistry } from './registry/file-identity-registry.js'
import type { EventStore, StoredEvent } from './store/event-store.js'
import { retentionFromDays, sweepRetentionOnce } from './store/retention-sweep.js'

export type { CollectorEvent } from './collector-event.js'

/** Optional collaborators; defaults are the real ones. */
export interface CollectorDeps {
  readonly forwarders?: readonly Forwarder[]
  readonly onEvent?: (event: CollectorEvent) => void
  /** Every newly stored event, after its commit (alerts: heartbeats, readings, SLA of storage). */
  readonly onStored?: (events: readonly StoredEvent[]) => void
  readonly now?: () => number
  /** Adds routes to the HTTP server before it listens (the dashboard and API issues plug in here). */
  readonly registerHttpRoutes?: (
    app: FastifyInstance,
    collector: { store: EventStore },
  ) => Promise<void> | void
  /** Who may read clips and snapshots over HTTP; default: the operator's `http.apiToken` bearer token. */
  readonly authorizeMedia?: HttpAuthorizer
  /** Where clip bodies are reassembled; default: files under `<dataDir>/clips` (FileClipStore). */
  readonly clipStore?: ClipStore
}

/** A running collector. */
export interface RunningCollector {
  readonly mqttPort: number
  readonly wsPort?: number
  readonly tlsPort?: number
  readonly httpPort?: number
  readonly dataDir: string
  readonly store: EventStore
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
  /** Resolves when everything received so far is committed and acked. */
  flush(): Promise<void>
  close(): Promise<void>
}

/** Starts the collector: store, broker, listeners, HTTP; the composition of issue 3. */
export async function startCollector(
  config: CollectorConfig,
  deps: CollectorDeps = {},
): Promise<RunningCollector> {
  const now = deps.now ?? Date.now
  const emit = (event: CollectorEvent): void => {
    try {
      deps.onEvent?.(event)
    } catch {
      // A faulty observer must not break ingest.
    }
  }
  const dataDir = resolve(config.dataDir)
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (err) {
    throw new DoorbellError('STORE_OPEN_FAILED', `${dataDir}: ${(err as Error).message}`, { cause: err })
  }
  const engines = await openCollectorEngines(config, dataDir, (err) =>
    emit({ kind: 'task_failed', task: 'engine', err }),
  )
  const { store } = engines
  const clips = deps.clipStore ?? new FileClipStore(dataDir)
  const registry = new FileIdentityRegistry(dataDir)
  const presence = new Map<string, { state: 'online' | 'offline'; atMs: number }>()

  let broker: DoorbellBroker | undefined
  const metrics = new PromCollectorMetrics({
    connectedClients: () => broker?.aedes.connectedClients ?? 0,
    ingestQueue: () => writer.queuedCount,
  })
  const reject = (reason: RejectReason, detail: { clientId?: string; deviceId?: string } = {}): void => {
    metrics.reject(reason)
    emit({ kind: 'rejected', reason, ...detail })
  }
  const dispatcher = new ForwardDispatcher({
    forwarders: deps.forwarders ?? [],
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
  const recovery = new ClipRecovery({
    store,
    clips,
    sendCommand,
    maxResends: config.limits.maxClipResends,
    onReport: (report) => {
      metrics.clipResends.inc({ outcome: report.outcome })
      emit({ kind: 'clip_resend', ...report })
    },
  })
  const pendingTasks = new Set<Promise<unknown>>()
  const track = (task: string, promise: Promise<unknown>): void => {
    const tracked = promise.catch((err: unknown) => emit({ kind: 'task_failed', task, err }))
    pendingTasks.add(tracked)
    void tracked.finally(() => pendingTasks.delete(tracked))
  }

  const onCommitted = (result: CommitResult): void => {
    if (result.stored.length > 0 || result.storedChunks.length > 0)
      metrics.commits.observe(result.durationMs / 1000)
    const byClass: Record<EventClass, number> = { high: 0, medium: 0, low: 0 }
    for (const event of result.stored) {
      byClass[event.class] += 1
      if (isForwarded(event)) dispatcher.dispatch(event)
    }
    if (result.stored.length > 0 && deps.onStored) {
      try {
        deps.onStored(result.stored)
      } catch (err) {
        emit({ kind: 'task_failed', task: 'onStored', err })
      }
    }
    for (const eventClass of ['high', 'medium', 'low'] as const) {
      if (byClass[eventClass] > 0) metrics.stored(eventClass, byClass[eventClass])
    }
    if (result.storedChunks.length > 0) metrics.storedChunks.inc(result.storedChunks.length)
    if (result.duplicateCount > 0) metrics.duplicates.inc(result.duplicateCount)
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
    const touchedClips = new Map(result.storedChunks.map((c) => [c.clipId, c.deviceId]))
    for (const event of result.stored) {
      if (event.type === 'clip.manifest') touchedClips.set(event.payload.clipId, event.deviceId)
      if (event.type === 'clip.unavailable')
        track('clip', recovery.unavailable(event.deviceId, event.payload))
    }
    for (const [clipId, deviceId] of touchedClips) {
      track(
        'clip',
        recovery.check(deviceId, clipId).then((verdict) => {
          if (verdict) emit({ kind: 'clip', deviceId, clipId, verdict })
        }),
      )
    }
  }

  const retention = retentionFromDays(config.retentionDays)
  const writer = new GroupCommitWriter({
    store,
    clips,
    clipRetentionMs: retention.low,
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

  broker = await createDoorbellBroker({
    registry,
    rateLimiter: new TokenBucketRateLimiter(
      { perSecond: config.limits.devicePublishesPerS, burst: config.limits.devicePublishBurst },
      now,
    ),
    connectTimeoutMs: config.limits.connectTimeoutMs,
    ...(engines.broker ? { engines: engines.broker } : {}),
    now,
    onRejected: reject,
    onIngest: (decoded) => {
      for (const rejection of decoded.rejections) {
        reject(rejection.reason, { deviceId: rejection.deviceId })
        writer.reject(rejection)
      }
      // Backpressure: when the store cannot keep up, refuse with retry instead of growing memory.
      const isOverloaded = writer.queuedCount >= config.store.maxQueuedItems
      for (const item of decoded.items) {
        if (!isOverloaded) {
          writer.submit(item)
          continue
        }
        const deviceId = itemDevice(item)
        const id = itemId(item)
        reject('overloaded', { deviceId })
        writer.reject({ deviceId, id, code: 'COLLECTOR_BUSY', isRetryable: true, reason: 'overloaded' })
      }
    },
    onPresence: (deviceId, state) => {
      presence.set(deviceId, { state, atMs: now() })
      emit({ kind: 'presence', deviceId, state })
      // A clip.resend queued while the device was away is lost if the collector restarted: ask again.
      if (state === 'online') track('clip', recovery.deviceOnline(deviceId))
    },
  })
  const aedes = broker.aedes
  aedes.on('clientReady', (client: Client) => emit({ kind: 'client_connected', clientId: client.id }))
  aedes.on('clientDisconnect', (client: Client) => emit({ kind: 'client_disconnected', clientId: client.id }))
  aedes.on('clientError', (client: Client, err: Error) => {
    if (isParserError(err)) reject('malformed_packet', { clientId: client.id })
    emit({ kind: 'client_error', clientId: client.id, err })
  })
  aedes.on('connectionError', (_client: Client, err: Error) => {
    if (isParserError(err)) reject('malformed_packet')
  })
  // Emitted after the subscriptions are in place: what is published now reaches the new subscriber.
  aedes.on('subscribe', (subscriptions: Subscription[], client: Client) => {
    const principal = broker?.principalOf(client)
    if (principal?.kind !== 'service') return
    // aedes reports a refused filter with qos 128 (SUBACK failure, MQTT 3.1.1 section 3.9.3).
    const filters = subscriptions.filter((s) => (s.qos as number) !== 128).map((s) => s.topic)
    if (filters.length > 0)
      emit({ kind: 'service_subscribed', user: principal.name, clientId: client.id, filters })
  })
  // aedes emits 'error' for persistence failures; unhandled, an EventEmitter 'error' would end the process.
  const brokerEvents: EventEmitter = aedes
  brokerEvents.on('error', (err: Error) => emit({ kind: 'task_failed', task: 'broker', err }))

  let listeners: MqttListeners
  try {
    listeners = await startMqttListeners(aedes, {
      host: config.host,
      tcpPort: config.mqtt.port,
      wsPort: config.mqtt.wsPort,
      ...(config.mqtt.tls ? { tls: config.mqtt.tls } : {}),
      maxPacketBytes: config.limits.maxPacketBytes,
      onRefused: (reason) => reject(reason),
      onTlsFailure: () => reject('tls_handshake'),
    })
  } catch (err) {
    await broker.close()
    await store.close()
    await engines.close()
    throw err
  }

  let isClosing = false
  let http: FastifyInstance | undefined
  let httpPort: number | undefined
  if (config.http.port !== null) {
    http = buildHttpServer({
      registry: metrics.registry,
      health: () => ({ store: store.isOpen, mqtt: !isClosing && !aedes.closed }),
    })
    // Plugins added by registerHttpRoutes (the dashboard's OpenAPI generator) see the routes after them.
    await deps.registerHttpRoutes?.(http, { store })
    await registerMediaRoutes(http, {
      store,
      clips,
      clipsRoot: join(dataDir, 'clips'),
      authorize: deps.authorizeMedia ?? bearerTokenAuthorizer(config.http.apiToken),
    })
    await http.listen({ port: config.http.port, host: config.host })
    const address = http.server.address()
    httpPort = typeof address === 'object' && address ? address.port : undefined
  }

  let registryRevision = registry.revision
  const registryTimer = setInterval(() => {
    try {
      registry.reloadIfChanged()
      if (registry.revision === registryRevision) return
      registryRevision = registry.revision
      broker?.cutRevokedClients()
      emit({ kind: 'registry_changed', enabledDeviceIds: registry.enabledDeviceIds() })
    } catch (err) {
      emit({ kind: 'task_failed', task: 'registry', err })
    }
  }, 2000)
  registryTimer.unref()

  const sweep = async (): Promise<void> => {
    const counts = await sweepRetentionOnce(store, clips, now(), retention)
    if (counts.deletedCount > 0 || counts.deletedClipCount > 0) emit({ kind: 'retention', ...counts })
  }
  const retentionTimer = setInterval(() => track('retention', sweep()), config.retentionSweepIntervalMs)
  retentionTimer.unref()
  track('retention', sweep())

  const flush = async (): Promise<void> => {
    await writer.flush()
    while (pendingTasks.size > 0) await Promise.all([...pendingTasks])
  }

  return {
    mqttPort: listeners.tcpPort,
    ...(listeners.wsPort === undefined ? {} : { wsPort: listeners.wsPort }),
    ...(listeners.tlsPort === undefined ? {} : { tlsPort: listeners.tlsPort }),
    ...(httpPort === undefined ? {} : { httpPort }),
    ...(http ? { http } : {}),
    dataDir,
    store,
    clips,
    metrics,
    presence,
    enabledDeviceIds: () => registry.enabledDeviceIds(),
    flush,
    publish: (topic, payload, options) => publish(topic, payload, options?.retain ?? false),
    sendCommand,
    async close() {
      if (isClosing) return
      isClosing = true
      clearInterval(registryTimer)
      clearInterval(retentionTimer)
      await listeners.close()
      await writer.flush()
      // Acks of the last commits are queued for offline sessions; bounded so a stuck task cannot hang exit.
      await Promise.race([
        Promise.allSettled([...pendingTasks]),
        new Promise((resolveWait) => setTimeout(resolveWait, 2000).unref()),
      ])
      await broker?.close()
      await dispatcher.close()
      await http?.close()
      await store.close()
      await engines.close()
    },
  }
}

/** aedes' own conditions: reported elsewhere (connect_timeout) or not bad input. */
const notInputErrors = new Set([
  'keep alive timeout',
  'connect did not arrive in time',
  'Client queue limit reached',
])

/**
 * True for a packet the MQTT parser refused: a plain Error. Socket errors carry a code, refused
 * logins a CONNACK returnCode (counted as auth_*), and aedes' timers are not input.
 */
function isParserError(err: Error & { code?: unknown; returnCode?: unknown }): boolean {
  return err.code === undefined && err.returnCode === undefined && !notInputErrors.has(err.message)
}
