import { parseTopic, topicRoot } from '../../shared/protocol/index.js'

/*
 * What a device sends (events, batches, chunks, status, live signalling) is consumed by the ingest of the
 * node it reached, in aedes' authorizePublish, before aedes hands it to the bus; no other node needs it.
 * Only a service user subscribed to those topics does, and it may be connected to any node. So a node
 * keeps a device's uplink off Redis while no node of the fleet has a listener that could match one, and
 * the nodes tell each other when they have: a sorted set in Redis (member: node id, score: when the
 * entry lapses) and a notice on the bus whenever a node's interest begins, ends or is renewed.
 * Anything not known for sure (at start, after Redis reconnected, after a failed read) counts as
 * interest: the uplink goes through Redis, as every message did before.
 */

/** The sorted set of nodes with a listener for device uplinks (score: the entry's lapse time, ms). */
export const uplinkInterestKey = 'doorbell:bus:uplink-interest'
/** The bus topic a node announces a change of its interest on ($SYS: no MQTT client may subscribe to it). */
export const uplinkInterestTopic = '$SYS/doorbell/uplink-interest'

const uplinkKinds: ReadonlySet<string> = new Set(['event', 'batch', 'chunk', 'status', 'live'])
const rootLevels = topicRoot.split('/')

/** True for a topic a device publishes on (doorbell/v1/<device>/event/<class>, .../status, ...). */
export function isUplinkTopic(topic: string): boolean {
  if (!topic.startsWith(`${topicRoot}/`)) return false
  try {
    return uplinkKinds.has(parseTopic(topic).kind)
  } catch {
    return false
  }
}

/**
 * True when a subscription filter could match an uplink topic. Errs towards true: a filter with a
 * wildcard counts as soon as its first levels fit doorbell/v1 (doorbell/v1/+/ack too), which only costs
 * the fleet the Redis publish it would have made anyway.
 */
export function mayMatchUplink(filter: string): boolean {
  if (!filter.includes('+') && !filter.includes('#')) return isUplinkTopic(filter)
  const levels = filter.split('/')
  for (let i = 0; i < rootLevels.length; i++) {
    const level = levels[i]
    if (level === '#') return true
    if (level === undefined) return false
    if (level !== '+' && level !== rootLevels[i]) return false
  }
  return true
}

/** What a node knows of the fleet's interest in uplinks. */
export type FleetInterest = 'unknown' | 'none' | 'some'

/** The Redis commands the registry uses (an ioredis connection that is not in subscriber mode). */
export interface InterestRedis {
  zadd(key: string, score: number, member: string): Promise<unknown>
  zrem(key: string, member: string): Promise<unknown>
  zremrangebyscore(key: string, min: string, max: number): Promise<unknown>
  zcount(key: string, min: number, max: string): Promise<number>
}

/** Collaborators of an UplinkInterestRegistry. */
export interface UplinkInterestDeps {
  readonly redis: InterestRedis
  /** Publishes a notice to every node (through Redis); resolves once Redis took it. */
  readonly announce: () => Promise<void>
  /** Unique per node process. */
  readonly nodeId: string
  /** How long an entry lasts unrenewed (a node that died stops costing the others after this). */
  readonly ttlMs: number
  readonly onError: (err: Error) => void
  readonly now?: () => number
}

/**
 * This node's side of the fleet-wide registry: its own listeners (counted), and what it last read of
 * every node's. isUplinkLocal() is the routing decision for one uplink.
 */
export class UplinkInterestRegistry {
  readonly #deps: UplinkInterestDeps
  readonly #now: () => number
  #fleet: FleetInterest = 'unknown'
  #localCount = 0
  #registered: Promise<void> | undefined
  #readSeq = 0
  #timer: NodeJS.Timeout | undefined

  constructor(deps: UplinkInterestDeps) {
    this.#deps = deps
    this.#now = deps.now ?? Date.now
  }

  /** What this node last learned of the fleet (its own listeners included). */
  get fleet(): FleetInterest {
    return this.#fleet
  }

  /** True when an uplink may stay on this node: no node of the fleet, this one included, listens for it. */
  isUplinkLocal(): boolean {
    return this.#fleet === 'none' && this.#localCount === 0
  }

  /** Starts the periodic renewal and read; call once the notice topic is subscribed. */
  start(): void {
    const everyMs = Math.max(100, Math.floor(this.#deps.ttlMs / 3))
    this.#timer = setInterval(() => {
      if (this.#localCount > 0) this.#registered = this.#register()
      this.read()
    }, everyMs)
    this.#timer.unref()
    this.read()
  }

  /**
   * A listener that may match uplinks was added here. Resolves once every node has been told (the
   * notice is in Redis), so its SUBACK follows the fleet's knowledge of it.
   */
  addListener(): Promise<void> {
    this.#localCount += 1
    if (this.#localCount === 1 || !this.#registered) this.#registered = this.#register()
    return this.#registered
  }

  /** Such a listener went; the last one takes this node's entry out of the fleet's set. */
  removeListener(): void {
    if (this.#localCount === 0) return
    this.#localCount -= 1
    if (this.#localCount > 0) return
    this.#registered = undefined
    void this.#deps.redis
      .zrem(uplinkInterestKey, this.#deps.nodeId)
      .then(() => this.#deps.announce())
      .catch((err: Error) => this.#deps.onError(err))
  }

  /** A notice from a node (this one too): another's interest may have begun, so assume it until read. */
  heardNotice(): void {
    this.#fleet = 'some'
    this.read()
  }

  /** The bus lost its Redis connection: notices may have been missed meanwhile. */
  forget(): void {
    this.#fleet = 'unknown'
  }

  /** Reads the fleet's entries that have not lapsed (dropping those that have); the latest read wins. */
  read(): void {
    const seq = ++this.#readSeq
    const nowMs = this.#now()
    const { redis } = this.#deps
    void Promise.all([
      redis.zremrangebyscore(uplinkInterestKey, '-inf', nowMs),
      redis.zcount(uplinkInterestKey, nowMs, '+inf'),
    ]).then(
      ([, count]) => {
        if (seq === this.#readSeq) this.#fleet = count > 0 ? 'some' : 'none'
      },
      (err: Error) => {
        if (seq === this.#readSeq) this.#fleet = 'unknown'
        this.#deps.onError(err)
      },
    )
  }

  /** Stops the timer and takes this node's entry out (the others would see it lapse anyway). */
  close(): Promise<void> {
    clearInterval(this.#timer)
    if (this.#localCount === 0) return Promise.resolve()
    this.#localCount = 0
    return this.#deps.redis.zrem(uplinkInterestKey, this.#deps.nodeId).then(
      () => {},
      () => {},
    )
  }

  async #register(): Promise<void> {
    try {
      await this.#deps.redis.zadd(uplinkInterestKey, this.#now() + this.#deps.ttlMs, this.#deps.nodeId)
      await this.#deps.announce()
    } catch (err) {
      // Redis is away: so is every node's subscription; the renewal tries again.
      this.#deps.onError(err as Error)
    }
  }
}
