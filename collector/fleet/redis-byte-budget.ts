import type { Redis } from 'ioredis'
import type { TokenBucketOptions } from '../broker/token-bucket.js'

/**
 * Spends ARGV[3] bytes of a device's bucket (KEYS[1]: {tokens, atMs}) after refilling it at ARGV[1] bytes a
 * millisecond up to ARGV[2], by Redis's clock, and answers what is left. It may go below zero (the nodes
 * together spent more than was left between two syncs): the device then waits that much longer, down to
 * minus a day's bytes. A bucket untouched for the time it takes to refill from there is full, so it expires.
 */
const spendScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perMs = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or burst)
local atMs = tonumber(redis.call('HGET', KEYS[1], 'atMs') or now)
tokens = math.floor(math.max(-burst, math.min(burst, tokens + (now - atMs) * perMs) - tonumber(ARGV[3])))
redis.call('HSET', KEYS[1], 'tokens', tokens, 'atMs', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(2 * burst / perMs))
return tokens
`

interface BudgetCommands {
  deviceBytesSpend(key: string, perMs: number, burst: number, spent: number): Promise<number>
}

interface LocalBucket {
  tokens: number
  atMs: number
  /** Bytes taken here since the last sync was sent. */
  pending: number
  lastSyncMs: number
}

const keyPrefix = 'doorbell:device-bytes'

/**
 * limits.deviceBytesPerDay for a fleet: each node takes bytes from its own copy of a device's bucket, as
 * on one node, so a publish waits for no round trip, and every syncMs sends what it took to Redis, which
 * keeps the fleet's bucket and answers its level; the copy is set to it. A device new to this node, or
 * back after syncMs or more, has its copy synced at once, so moving to another node through the balancer
 * gives it at most one round trip of bytes beyond its budget, not another day's. While Redis is away each
 * node keeps counting on its own copy (a device then gets at most a day's bytes on each node): refusing every
 * device's events for a Redis outage would hold up the whole fleet for a limit meant for one device.
 */
export class RedisByteBudget {
  readonly #redis: Redis & BudgetCommands
  readonly #options: TokenBucketOptions
  readonly #syncMs: number
  readonly #now: () => number
  readonly #onError: (err: Error) => void
  readonly #buckets = new Map<string, LocalBucket>()
  readonly #dirty = new Set<string>()
  readonly #timer: NodeJS.Timeout

  /** Over a connection of its own; onError hears a sync Redis did not answer. */
  constructor(
    redis: Redis,
    options: TokenBucketOptions & { readonly syncMs: number },
    onError: (err: Error) => void,
    now: () => number = Date.now,
  ) {
    redis.defineCommand('deviceBytesSpend', { numberOfKeys: 1, lua: spendScript })
    this.#redis = redis as Redis & BudgetCommands
    this.#options = { perSecond: options.perSecond, burst: options.burst }
    this.#syncMs = options.syncMs
    this.#onError = onError
    this.#now = now
    this.#timer = setInterval(() => this.#syncDirty(), options.syncMs)
    this.#timer.unref()
  }

  /** Takes bytes of deviceId's budget; false, taking none, when it has not that many left. */
  tryTake(deviceId: string, bytes: number): boolean {
    const nowMs = this.#now()
    let bucket = this.#buckets.get(deviceId)
    if (!bucket) {
      bucket = { tokens: this.#options.burst, atMs: nowMs, pending: 0, lastSyncMs: Number.NEGATIVE_INFINITY }
      this.#buckets.set(deviceId, bucket)
    }
    const refill = ((nowMs - bucket.atMs) / 1000) * this.#options.perSecond
    bucket.tokens = Math.min(this.#options.burst, bucket.tokens + refill)
    bucket.atMs = nowMs
    const isStale = nowMs - bucket.lastSyncMs >= this.#syncMs
    if (bucket.tokens < bytes) {
      if (isStale) void this.#sync(deviceId, bucket)
      return false
    }
    bucket.tokens -= bytes
    bucket.pending += bytes
    if (isStale) void this.#sync(deviceId, bucket)
    else this.#dirty.add(deviceId)
    return true
  }

  #syncDirty(): void {
    for (const deviceId of this.#dirty) {
      const bucket = this.#buckets.get(deviceId)
      if (bucket) void this.#sync(deviceId, bucket)
    }
    this.#dirty.clear()
  }

  async #sync(deviceId: string, bucket: LocalBucket): Promise<void> {
    const spent = bucket.pending
    bucket.pending = 0
    bucket.lastSyncMs = this.#now()
    this.#dirty.delete(deviceId)
    try {
      const left = await this.#redis.deviceBytesSpend(
        `${keyPrefix}:${deviceId}`,
        this.#options.perSecond / 1000,
        this.#options.burst,
        spent,
      )
      // What this node took while the answer was on its way is not in it yet.
      bucket.tokens = left - bucket.pending
      bucket.atMs = this.#now()
    } catch (err) {
      this.#onError(err as Error)
    }
  }

  /** Sends what is still unsent, then ends the connection. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    const pending = [...this.#dirty].map((deviceId) => {
      const bucket = this.#buckets.get(deviceId)
      return bucket ? this.#sync(deviceId, bucket) : Promise.resolve()
    })
    await Promise.all(pending)
    this.#redis.disconnect()
  }
}

/** Connects the budget's own connection: pipelined, no offline queue (a sync while Redis is away is dropped). */
export async function openRedisByteBudget(
  url: string,
  options: TokenBucketOptions & { readonly syncMs: number; readonly commandTimeoutMs: number },
  onError: (err: Error) => void,
): Promise<RedisByteBudget> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
  })
  redis.on('error', onError)
  try {
    await redis.connect()
  } catch (err) {
    redis.disconnect()
    throw err
  }
  return new RedisByteBudget(redis, options, onError)
}
