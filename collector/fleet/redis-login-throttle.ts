import type { Redis } from 'ioredis'
import { DoorbellError } from '../../shared/errors.js'
import { addressGroup } from '../broker/address-group.js'
import type {
  DashboardLoginLimits,
  LoginAttempt,
  LoginRefusal,
  LoginThrottle,
} from '../dashboard/login-throttle.js'

/**
 * Counts one attempt in the three tables (KEYS: pair, address, account), or refuses it unchanged, in one
 * step: parallel attempts on every node meet the limits as sequential ones on one node do. Each key is a
 * hash {count, untilMs} that expires forgetAfterMs after its last failure (a key with no failure for that
 * long starts afresh). Redis's own clock is the fleet's one clock for the backoffs, whatever the nodes'
 * clocks say. ARGV: forgetAfterMs, baseBackoffMs, then free failures and longest backoff per table.
 * Answers 0 (counted) or the milliseconds to wait.
 */
const beginScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, 3 do
  local untilMs = tonumber(redis.call('HGET', KEYS[i], 'untilMs') or '0')
  if untilMs - now > wait then wait = untilMs - now end
end
if wait > 0 then return wait end
local forget = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
for i = 1, 3 do
  local count = redis.call('HINCRBY', KEYS[i], 'count', 1)
  local over = count - tonumber(ARGV[1 + 2 * i])
  local untilMs = 0
  if over > 0 then untilMs = now + math.floor(math.min(tonumber(ARGV[2 + 2 * i]), base * 2 ^ math.min(over - 1, 30))) end
  redis.call('HSET', KEYS[i], 'untilMs', untilMs)
  redis.call('PEXPIRE', KEYS[i], forget)
end
return 0
`

/**
 * Takes back the failure counted ahead of a check that succeeded: the pair (KEYS[1]) starts afresh, the
 * address and account (KEYS[2], KEYS[3]) lose one failure, and their backoff once back within their free
 * failures (ARGV: free failures of the address, of the account).
 */
const succeededScript = `
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local count = redis.call('HINCRBY', KEYS[i], 'count', -1)
    if count <= 0 then redis.call('DEL', KEYS[i])
    elseif count <= tonumber(ARGV[i - 1]) then redis.call('HSET', KEYS[i], 'untilMs', 0) end
  end
end
return 0
`

interface ThrottleCommands {
  dashboardLoginBegin(...args: (string | number)[]): Promise<number>
  dashboardLoginSucceeded(...args: (string | number)[]): Promise<number>
}

const keyPrefix = 'doorbell:dashboard-login'

/**
 * The dashboard login throttle of a fleet: the counters of DashboardLoginThrottle, with its limits and
 * semantics (counted before the password check, a success takes it back), in Redis, so a guesser spread
 * over N nodes behind the balancer gets the free failures of one. Keys expire forgetAfterMs after their
 * last failure, which bounds what Redis holds; maxTrackedKeys bounds only the in-memory table. With Redis
 * unreachable a login is refused (REDIS_UNAVAILABLE, answered 503 with a retry) rather than let through
 * uncounted: failing open would hand a guesser unlimited tries for as long as it can keep Redis away.
 */
export class RedisLoginThrottle implements LoginThrottle {
  readonly #redis: Redis & ThrottleCommands
  readonly #limits: DashboardLoginLimits
  readonly #onError: (err: Error) => void

  /** Over a connection of its own (see openRedisLoginThrottle); onError hears a success that could not be taken back. */
  constructor(redis: Redis, limits: DashboardLoginLimits, onError: (err: Error) => void) {
    redis.defineCommand('dashboardLoginBegin', { numberOfKeys: 3, lua: beginScript })
    redis.defineCommand('dashboardLoginSucceeded', { numberOfKeys: 3, lua: succeededScript })
    this.#redis = redis as Redis & ThrottleCommands
    this.#limits = limits
    this.#onError = onError
  }

  async begin(address: string | undefined, account: string): Promise<LoginRefusal | LoginAttempt> {
    const limits = this.#limits
    const group = addressGroup(address)
    const keys = [
      `${keyPrefix}:pair:${JSON.stringify([group, account])}`,
      `${keyPrefix}:address:${group}`,
      `${keyPrefix}:account:${account}`,
    ]
    let retryAfterMs: number
    try {
      retryAfterMs = await this.#redis.dashboardLoginBegin(
        ...keys,
        limits.forgetAfterMs,
        limits.baseBackoffMs,
        limits.freeFailuresPerAddressAndAccount,
        limits.maxBackoffMs,
        limits.freeFailuresPerAddress,
        limits.maxBackoffMs,
        limits.freeFailuresPerAccount,
        Math.min(limits.maxAccountBackoffMs, limits.maxBackoffMs),
      )
    } catch (err) {
      throw new DoorbellError('REDIS_UNAVAILABLE', `dashboard login throttle: ${(err as Error).message}`, {
        cause: err,
      })
    }
    if (retryAfterMs > 0) return { retryAfterMs }
    return {
      succeeded: async () => {
        // The password was right: a lost undo leaves one failure counted until it expires, which is
        // no reason to turn the owner away.
        await this.#redis
          .dashboardLoginSucceeded(...keys, limits.freeFailuresPerAddress, limits.freeFailuresPerAccount)
          .catch((err: Error) => this.#onError(err))
      },
    }
  }

  /** Ends the connection. */
  close(): void {
    this.#redis.disconnect()
  }
}

/**
 * Connects the throttle's own connection: no offline queue and no retries, so while Redis is away a
 * login is refused at once instead of waiting for a reconnect, and commandTimeoutMs bounds a Redis that
 * accepts but does not answer. ioredis reconnects by itself; onError hears its connection errors.
 */
export async function openRedisLoginThrottle(
  url: string,
  limits: DashboardLoginLimits,
  options: {
    readonly connectTimeoutMs: number
    readonly commandTimeoutMs: number
    readonly onError: (err: Error) => void
  },
): Promise<RedisLoginThrottle> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  })
  redis.on('error', options.onError)
  try {
    await redis.connect()
  } catch (err) {
    redis.disconnect()
    throw new DoorbellError('REDIS_UNAVAILABLE', (err as Error).message, { cause: err })
  }
  return new RedisLoginThrottle(redis, limits, options.onError)
}
