import { isIP } from 'node:net'
import { z } from 'zod'
import { loadConfig } from '../shared/config/load-config.js'
import { maxPacketBytes } from '../shared/protocol/index.js'
import { alertsConfigSchema } from './alerts/alerts-config.js'
import { dashboardConfigSchema } from './dashboard/dashboard-config.js'
import {
  checkFleetFields,
  postgresConfigSchema,
  redisConfigSchema,
  storeEngines,
  storeShorthand,
} from './fleet/fleet-config.js'
import { collectorLiveConfigSchema } from './live/live-config.js'

const port = z.number().int().min(0).max(65_535)
const DAY_MS = 24 * 60 * 60 * 1000

/** An IP address or a CIDR block (address/prefix length). */
const proxyAddress = z.string().refine(
  (value) => {
    const [address = '', prefix, ...rest] = value.split('/')
    const version = isIP(address)
    if (version === 0 || rest.length > 0) return false
    if (prefix === undefined) return true
    const bits = Number(prefix)
    return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128)
  },
  { message: 'expected an IP address or CIDR block, e.g. 127.0.0.1 or 10.0.0.0/8' },
)

/** Schema of the collector's configuration; every field has a default so it runs with no file. */
export const collectorConfigSchema = z
  .strictObject({
    /** Folder holding the Level store, the device registry and clip files. */
    dataDir: z.string().min(1).default('./data/collector'),
    /** Host every listener binds to. */
    host: z.string().min(1).default('0.0.0.0'),
    /** pino level of the collector's log. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    mqtt: z
      .strictObject({
        /** MQTT over TCP; 0 picks a free port. */
        port: port.default(1883),
        /** MQTT over WebSocket (path /mqtt); 0 picks a free port, null disables it. */
        wsPort: port.nullable().default(8083),
        /**
         * Connections the kernel queues for each MQTT listener before they are accepted. After a restart
         * every device connects at once; with Node's default of 511 the kernel drops the SYNs beyond it and
         * those devices wait for their SYN retry (1 s, then 3 s, 7 s). Linux caps it at net.core.somaxconn.
         */
        listenBacklog: z.number().int().min(1).max(65_535).default(4096),
        /** MQTT over TLS; enabled when certFile and keyFile are set. */
        tls: z
          .strictObject({
            port: port.default(8883),
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
            /** CA for client certificates; when set, a device may authenticate by certificate (CN = device id). */
            caFile: z.string().min(1).optional(),
          })
          .optional(),
      })
      .prefault({}),
    http: z
      .strictObject({
        /** Health and metrics (and later the dashboard); 0 picks a free port, null disables it. */
        port: port.nullable().default(8080),
        /**
         * The operator's one bearer token, for every operator route: media (/api/clips, snapshots) and the
         * alerts API (/api/devices/health, /api/stats/visitors, /api/alerts/dead-letters, /api/push/*).
         * Homeowner sessions work without it; unset, only sessions get in (everything else: 401).
         */
        apiToken: z.string().min(16).optional(),
        /**
         * Who may read GET /metrics (device ids, counts, rejections): `public` (anyone who reaches the port),
         * `operator` (the bearer token above) or `off` (404).
         */
        metricsAccess: z.enum(['public', 'operator', 'off']).default('operator'),
        /**
         * Reverse proxies whose X-Forwarded-For is believed, as addresses or CIDR blocks (e.g. `127.0.0.1`,
         * `10.0.0.0/8`). Without it (false) the client address is the socket's: behind a proxy every client
         * then shares the proxy's address and its login limits. Never list addresses clients connect from.
         */
        trustProxy: z.union([z.literal(false), z.array(proxyAddress).min(1)]).default(false),
        /** Who may read GET /api/openapi.json: `public`, `operator` (the token, or a homeowner session) or `off`. */
        openApiAccess: z.enum(['public', 'operator', 'off']).default('operator'),
      })
      .prefault({}),
    limits: z
      .strictObject({
        /** Largest MQTT packet accepted; the connection is cut as soon as a larger one is declared. */
        maxPacketBytes: z.number().int().min(1024).default(maxPacketBytes),
        /** Time a new connection has to send CONNECT. */
        connectTimeoutMs: z.number().int().min(100).default(10_000),
        /** Sustained publishes per second allowed per device (token bucket refill). */
        devicePublishesPerS: z.number().positive().default(200),
        /** Burst of publishes a device may send above its sustained rate. */
        devicePublishBurst: z.number().int().positive().default(2000),
        /**
         * Bytes one device may have stored per day (events, snapshots and clip chunks as sent), a token
         * bucket refilled over 24 h; over it, publishes are refused with retry. With the retention, it
         * bounds the storage one device can take.
         */
        deviceBytesPerDay: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(1024 * 1024 * 1024),
        /** How far ahead of the collector's clock an event's id or capture time may be; beyond, refused with retry. */
        maxClockAheadMs: z
          .number()
          .int()
          .min(1000)
          .default(10 * 60_000),
        /**
         * Times a device is asked (`clip.resend`) to upload a clip again whose chunks all arrived but whose
         * whole file failed the manifest's sha256; after that the clip stays corrupt (docs/media.md).
         */
        maxClipResends: z.number().int().min(0).max(10).default(3),
        /** Failed MQTT logins, per client address (IPv6: per /64) and per claimed identity (docs/collector.md). */
        login: z
          .strictObject({
            /** Failures a key may have before it is backed off. */
            freeFailures: z.number().int().min(1).default(5),
            /** First backoff; doubles with each further failure, up to maxBackoffMs. */
            baseBackoffMs: z.number().int().min(10).default(1000),
            maxBackoffMs: z.number().int().min(10).default(60_000),
            /** A key with no failure for this long starts afresh. */
            forgetAfterMs: z
              .number()
              .int()
              .min(1000)
              .default(15 * 60_000),
            /** Addresses and identities remembered each; the least recently failed are forgotten first. */
            maxTrackedKeys: z.number().int().min(100).default(10_000),
            /** Slow checks of legacy scrypt hashes (before their upgrade) at once, and waiting. */
            maxSlowChecks: z.number().int().min(1).default(2),
            maxSlowChecksWaiting: z.number().int().min(0).default(64),
          })
          .prefault({}),
        /** Live timeline streams (GET /api/events/stream); a new one past a cap closes an older one. */
        liveStreams: z
          .strictObject({
            /** Streams one dashboard session (one browser) may hold; its oldest is closed. */
            perSession: z.number().int().min(1).default(4),
            /** Streams one homeowner may hold over all sessions; their oldest is closed. */
            perUser: z.number().int().min(1).default(10),
            /** Streams of everyone; the oldest of the user holding the most is closed. */
            total: z.number().int().min(1).default(100),
          })
          .prefault({}),
        /** Web Push subscriptions one homeowner may hold; a new one beyond it replaces their oldest. */
        pushSubscriptionsPerUser: z.number().int().min(1).max(1000).default(10),
        /** Failed dashboard logins (POST /api/login), counted before the password is checked (docs/dashboard.md). */
        dashboardLogin: z
          .strictObject({
            /** Failures one address (IPv6: its /64) may have for one account before that pair is backed off. */
            freeFailuresPerAddressAndAccount: z.number().int().min(1).default(5),
            /** Failures one address may have over all accounts before it is backed off. */
            freeFailuresPerAddress: z.number().int().min(1).default(50),
            /** Failures of one account from all addresses together before the account is backed off. */
            freeFailuresPerAccount: z.number().int().min(1).default(20),
            /** First backoff, doubling with each further failure, up to maxBackoffMs. */
            baseBackoffMs: z.number().int().min(10).default(1000),
            maxBackoffMs: z
              .number()
              .int()
              .min(10)
              .default(15 * 60_000),
            /** Longest backoff of an account as a whole, so strangers' guesses keep its owner out this long at most. */
            maxAccountBackoffMs: z.number().int().min(10).default(60_000),
            /** A key with no failure for this long starts afresh. */
            forgetAfterMs: z
              .number()
              .int()
              .min(1000)
              .default(15 * 60_000),
            /** Keys remembered per table (pairs, addresses, accounts). */
            maxTrackedKeys: z.number().int().min(100).default(10_000),
          })
          .prefault({}),
        /** Connections not yet answered CONNACK 0. */
        preAuth: z
          .strictObject({
            /** Bytes one connection may send before it is authenticated (its CONNECT and anything pipelined). */
            maxBytesPerConnection: z
              .number()
              .int()
              .min(512)
              .default(16 * 1024),
            /** Bytes all unauthenticated connections together may hold; past it, the largest is cut. */
            maxTotalBytes: z
              .number()
              .int()
              .min(64 * 1024)
              .default(8 * 1024 * 1024),
            /** Unauthenticated connections at once from one address (IPv6: one /64). */
            maxConnectionsPerAddress: z.number().int().min(1).default(64),
          })
          .prefault({}),
        /** MQTT sessions: per identity, queued messages, expiry of offline ones. */
        sessions: z
          .strictObject({
            /** Sessions one identity may hold (its own client id and `<id>:<suffix>`), connected or offline. */
            maxPerIdentity: z.number().int().min(1).default(4),
            /** QoS 1 and 2 messages one persistent session may have queued or in flight; more are dropped. */
            maxQueuedMessages: z.number().int().min(1).default(100),
            /** A persistent session offline this long is removed with its queue. */
            offlineExpiryMs: z
              .number()
              .int()
              .min(1000)
              .default(7 * DAY_MS),
          })
          .prefault({}),
      })
      .prefault({}),
    store: z.preprocess(
      storeShorthand,
      z
        .strictObject({
          /** Where durable state lives: level (embedded, one process) or postgres (a fleet; docs/fleet.md). */
          engine: z.enum(storeEngines).default('level'),
          /** fsync each group commit (survives power loss, not only kill -9). */
          isSyncWrite: z.boolean().default(true),
          /** Most envelopes in one group commit. */
          maxBatchEvents: z.number().int().min(1).max(20_000).default(2000),
          /** Items waiting for a commit beyond which new events are refused with retry (backpressure). */
          maxQueuedItems: z.number().int().min(100).default(50_000),
          /** Medium and low events wait up to this long to share a commit (fewer fsyncs); high never waits. */
          lingerMs: z.number().int().min(0).max(1000).default(0),
          /** Group commits in flight at once; acks still go out in commit order. */
          maxConcurrentCommits: z.number().int().min(1).max(8).default(2),
        })
        .prefault({}),
    ),
    /** PostgreSQL of a fleet (`store: postgres`). */
    postgres: postgresConfigSchema.prefault({}),
    /** Redis of a fleet: the nodes' brokers share sessions, offline queues and messages there. */
    redis: redisConfigSchema.prefault({}),
    /** How long each class is kept, in days; 0 keeps it forever. */
    retentionDays: z
      .strictObject({
        high: z.number().nonnegative().default(365),
        medium: z.number().nonnegative().default(30),
        low: z.number().nonnegative().default(14),
      })
      .prefault({}),
    /** How often the retention sweep runs. */
    retentionSweepIntervalMs: z
      .number()
      .int()
      .min(1000)
      .default(DAY_MS / 24),
    forwarding: z
      .strictObject({
        /** Events waiting per forwarder before the oldest are dropped (and counted). */
        queueLimit: z.number().int().min(1).default(1000),
      })
      .prefault({}),
    /** Notifications, SLAs, device health and analytics (docs/alerts.md). */
    alerts: alertsConfigSchema.prefault({}),
    /** The homeowner web app (docs/dashboard.md). */
    dashboard: dashboardConfigSchema.prefault({}),
    /** Live view and two-way talk (docs/live.md). */
    live: collectorLiveConfigSchema.prefault({}),
  })
  .superRefine(checkFleetFields)

/** The validated, frozen collector configuration. */
export type CollectorConfig = z.output<typeof collectorConfigSchema>

/** Fields that existed once; a config still setting one fails to load, told what to use instead. */
const removedFields = {
  'alerts.apiToken': 'removed: use http.apiToken instead, the one operator token for every route',
}

/** Loads the collector config from an optional YAML file plus DOORBELL_* environment overrides. */
export function loadCollectorConfig(
  file: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): CollectorConfig {
  return loadConfig({ schema: collectorConfigSchema, file, env, removedFields })
}

/** The defaults with some fields changed, for tests and the demo. */
export function collectorConfig(overrides: z.input<typeof collectorConfigSchema> = {}): CollectorConfig {
  return collectorConfigSchema.parse(overrides)
}
