import { randomBytes } from 'node:crypto'
import type { MQEmitter } from 'mqemitter'
import { DoorbellError } from '../../shared/errors.js'
import { interestAnnouncer, keepUplinksLocal, type RedisBus } from './local-uplink-bus.js'
import { UplinkInterestRegistry } from './uplink-interest.js'

/**
 * aedes' message bus and persistence on Redis, so the brokers of every node act as one: a message
 * published on any node (an ack, a command) reaches the subscriber on whichever node it is connected to
 * (mqemitter-redis), and sessions, offline QoS 1 queues and retained messages live in Redis, so a device
 * that reconnects through the load balancer to another node keeps its session (aedes-persistence-redis).
 */
export interface RedisBrokerEngines {
  /** aedes' `mq` option. */
  readonly mq: MQEmitter
  /** aedes' `persistence` option. */
  readonly persistence: unknown
  /** Ends the persistence's connections; call after the broker closed (aedes closes mq itself). */
  close(): Promise<void>
}

/** The password of a redis URL replaced, for messages. */
function redactedRedisUrl(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}

/** How the bus routes device uplinks (local-uplink-bus.ts). */
export interface RedisBusOptions {
  /** This node in the fleet's registry of uplink listeners; default a random id. */
  readonly nodeId?: string
  /** How long a node's registered interest in uplinks lasts unrenewed (redis.uplinkInterestTtlMs). */
  readonly uplinkInterestTtlMs?: number
}

/**
 * Connects both to Redis; REDIS_UNAVAILABLE names the URL when it cannot be reached within connectTimeoutMs.
 * The modules are loaded here, not at the top of the collector, so the embedded default never loads them.
 * onError hears connection errors after start (Redis restarting); ioredis reconnects by itself.
 */
export async function openRedisBrokerEngines(
  url: string,
  onError: (err: Error) => void,
  connectTimeoutMs = 5000,
  options: RedisBusOptions = {},
): Promise<RedisBrokerEngines> {
  const [{ Redis }, { default: mqemitterRedis }, { default: aedesPersistenceRedis }] = await Promise.all([
    import('ioredis'),
    import('mqemitter-redis'),
    import('aedes-persistence-redis'),
  ])
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
  })
  try {
    await probe.connect()
    await probe.ping()
  } catch (err) {
    throw new DoorbellError('REDIS_UNAVAILABLE', `${redactedRedisUrl(url)}: ${(err as Error).message}`, {
      cause: err,
    })
  } finally {
    probe.disconnect()
  }
  // The bus's connections are made here rather than by mqemitter-redis: given a connection string it
  // drops its other options (auto-pipelining among them), and its close() leaves the promise of each QUIT
  // unhandled, so a QUIT that Redis never answers (it died, or the socket was cut) ended the process.
  const pubConn = withQuietQuit(new Redis(url, { enableAutoPipelining: true }))
  const subConn = withQuietQuit(new Redis(url))
  // matchEmptyLevels as aedes' own default bus has it: `a/#` also matches `a` (MQTT-4.7.1-3).
  const mq = mqemitterRedis({ pubConn, subConn, matchEmptyLevels: true }) as unknown as MQEmitter & {
    state: { on(event: 'error', listener: (err: Error) => void): void }
  }
  mq.state.on('error', onError)
  const bus = mq as unknown as RedisBus
  const registry = new UplinkInterestRegistry({
    redis: pubConn,
    announce: interestAnnouncer(bus),
    nodeId: options.nodeId ?? randomBytes(8).toString('hex'),
    ttlMs: options.uplinkInterestTtlMs ?? 60_000,
    onError,
  })
  keepUplinksLocal(bus, registry)
  const conn = new Redis(url)
  conn.on('error', onError)
  const persistence = aedesPersistenceRedis({ conn })
  serializeSubscriptionWrites(persistence as unknown as SubscriptionWriter)
  return {
    mq,
    persistence,
    async close() {
      await persistence.destroy().catch(() => {})
      conn.disconnect()
    },
  }
}

/** The connection, with a quit() that resolves even when Redis never answers it (the link is gone anyway). */
function withQuietQuit<C extends { quit(): Promise<unknown> }>(conn: C): C {
  const quit = conn.quit.bind(conn)
  conn.quit = () => quit().catch(() => 'OK')
  return conn
}

/** The one persistence method serializeSubscriptionWrites wraps. */
interface SubscriptionWriter {
  addSubscriptions(client: { id: string }, subs: readonly object[]): Promise<unknown>
}

/**
 * Makes aedes-persistence-redis' addSubscriptions safe for what aedes 1.2 asks of it. aedes calls it once
 * per topic of a SUBSCRIBE, each time with the packet's whole list (aedes issue #458), and the persistence
 * then waits for its own broadcast keyed by client and first topic: two writes in flight with one key leave
 * one waiting for ever, so a SUBSCRIBE to ack and command in one packet (as the agent sends) never got its
 * SUBACK, nor did the session subscription made at connect while the agent's own was in flight. Here a
 * repeated call with the same list shares the first call's write, and writes of one client run one at a time.
 */
export function serializeSubscriptionWrites(persistence: SubscriptionWriter): void {
  const write = persistence.addSubscriptions.bind(persistence)
  const inFlight = new WeakMap<object, Promise<unknown>>()
  const tails = new Map<string, Promise<unknown>>()
  persistence.addSubscriptions = (client, subs) => {
    const same = inFlight.get(subs)
    if (same) return same
    const previous = tails.get(client.id) ?? Promise.resolve()
    const run = previous.then(
      () => write(client, subs),
      () => write(client, subs),
    )
    inFlight.set(subs, run)
    tails.set(client.id, run)
    const forget = (): void => {
      if (tails.get(client.id) === run) tails.delete(client.id)
    }
    run.then(forget, forget)
    return run
  }
}
