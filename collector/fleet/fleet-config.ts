import { z } from 'zod'

/**
 * The fleet fields of the collector config: which engine stores state (`store.engine`, or the shorthand
 * `store: postgres`), and where PostgreSQL and Redis are. Level, the embedded default, needs neither;
 * PostgreSQL mode needs both, since the brokers of the nodes meet in Redis (docs/fleet.md).
 */

/** Where durable state lives: embedded Level (one process) or PostgreSQL (any number of nodes). */
export const storeEngines = ['level', 'postgres'] as const
/** One of storeEngines. */
export type StoreEngine = (typeof storeEngines)[number]

/** A URL whose scheme is one of schemes and that names a host. */
function serverUrl(schemes: readonly string[], example: string) {
  return z.string().refine(
    (text) => {
      try {
        const url = new URL(text)
        return schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== ''
      } catch {
        return false
      }
    },
    { message: `expected a URL like ${example} (scheme ${schemes.join(' or ')})` },
  )
}

/** The `postgres` section. */
export const postgresConfigSchema = z.strictObject({
  /** postgres://user:password@host:5432/database; required with `store: postgres`. */
  url: serverUrl(['postgres', 'postgresql'], 'postgres://doorbell:secret@db:5432/doorbell').optional(),
  /** Connections in this node's pool; every node has its own, so PostgreSQL sees nodes x this. */
  maxConnections: z.number().int().min(2).max(200).default(10),
  /** Time to open one connection before the attempt fails and is retried. */
  connectTimeoutMs: z.number().int().min(100).default(5000),
  /** Longest statement; a stuck query fails (its events are nacked with retry) instead of hanging ingest. */
  statementTimeoutMs: z.number().int().min(100).default(30_000),
  /**
   * How often a node looks for alerts to route and deliveries to send that no commit of its own announced
   * (those of a node that died, retries that came due); its own presses are routed at once.
   */
  alertPollMs: z.number().int().min(20).max(60_000).default(500),
  /** Deliveries this node sends at once from the fleet's outbox, each holding one pooled connection. */
  alertSenders: z.number().int().min(1).max(32).default(2),
  /**
   * How long the lease of a once-per-fleet task (the retention sweep) lasts unrenewed: a node that dies
   * holding it is replaced after at most this long.
   */
  leaseTtlMs: z.number().int().min(1000).max(600_000).default(15_000),
  /** How often a node writes what it heard from devices (events, status, last wills) for the fleet's health view. */
  healthFlushMs: z.number().int().min(100).max(60_000).default(1000),
  /**
   * Bytes of the local clip copies a node serves the dashboard from (the bodies are in PostgreSQL); past it
   * the least recently served copies are removed, to be written again from the rows when asked for.
   */
  clipCopyMaxBytes: z
    .number()
    .int()
    .min(64 * 1024 * 1024)
    .default(2 * 1024 * 1024 * 1024),
  /** How long sent and dead deliveries stay in the outbox (the fleet's record of what went out). */
  finishedDeliveriesKeepMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 60 * 60 * 1000),
})

/** The `redis` section. */
export const redisConfigSchema = z.strictObject({
  /** redis://[:password@]host:6379[/db] or rediss:// (TLS); required with `store: postgres`. */
  url: serverUrl(['redis', 'rediss'], 'redis://redis:6379').optional(),
  /**
   * How long a node's registration as a listener for device uplinks (a service user subscribed to event
   * topics on it) lasts unrenewed; renewed every third of it. Until a dead node's lapses, the others
   * still publish uplinks to Redis for it (docs/fleet.md, "What is shared").
   */
  uplinkInterestTtlMs: z.number().int().min(3000).max(600_000).default(60_000),
  /** Longest wait for a throttle's answer (a dashboard login's count); past it the login is refused with a retry. */
  commandTimeoutMs: z.number().int().min(100).max(60_000).default(2000),
  /** How often a node sends the bytes its devices spent of limits.deviceBytesPerDay and learns the fleet's balance. */
  byteBudgetSyncMs: z.number().int().min(50).max(60_000).default(1000),
})

/** `store: postgres` is short for `store: { engine: postgres }`. */
export function storeShorthand(value: unknown): unknown {
  return typeof value === 'string' ? { engine: value } : value
}

/** The parts of the collector config the fleet rules look at. */
interface FleetFields {
  readonly store: { readonly engine: StoreEngine }
  readonly postgres: { readonly url?: string | undefined }
  readonly redis: { readonly url?: string | undefined }
}

/**
 * Cross-field rules: PostgreSQL mode needs both URLs; Level mode refuses them, since an operator who set
 * them expects a fleet and would otherwise get one lone embedded node.
 */
export function checkFleetFields(config: FleetFields, ctx: z.RefinementCtx): void {
  const isPostgres = config.store.engine === 'postgres'
  for (const [section, url] of [
    ['postgres', config.postgres.url],
    ['redis', config.redis.url],
  ] as const) {
    if (isPostgres && url === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [section, 'url'],
        message: 'required when store.engine is postgres',
      })
    if (!isPostgres && url !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [section, 'url'],
        message: 'used only with store.engine postgres (the default, level, keeps everything in dataDir)',
      })
  }
}
