import { quotasFrom } from '../access/quotas.js'
import type { CollectorConfig } from '../config.js'
import { openRedisByteBudget, type RedisByteBudget } from './redis-byte-budget.js'
import { RedisLoginFeed } from './redis-login-feed.js'
import { openRedisLoginThrottle, type RedisLoginThrottle } from './redis-login-throttle.js'

/** The limits a fleet counts in Redis rather than in each node's memory, so N nodes do not give N times them. */
export interface RedisThrottles {
  /** limits.dashboardLogin: every attempt counted in Redis before its password is checked. */
  readonly loginThrottle: RedisLoginThrottle
  /** limits.login: each node's tables, fed with the others' failures. */
  readonly loginFeed: RedisLoginFeed
  /** limits.deviceBytesPerDay: each node's copy of a device's bucket, synced with the fleet's. */
  readonly storageBudget: RedisByteBudget
  /** Sends the budgets' unsent bytes and ends the connections. */
  close(): Promise<void>
}

/** Connects the throttles, each on a connection of its own; one that cannot connect closes those before it. */
export async function openRedisThrottles(
  config: CollectorConfig,
  url: string,
  nodeId: string,
  onError: (err: Error) => void,
): Promise<RedisThrottles> {
  const { commandTimeoutMs, byteBudgetSyncMs } = config.redis
  const loginThrottle = await openRedisLoginThrottle(url, config.limits.dashboardLogin, {
    connectTimeoutMs: config.postgres.connectTimeoutMs,
    commandTimeoutMs,
    onError,
  })
  let loginFeed: RedisLoginFeed
  try {
    loginFeed = await RedisLoginFeed.open(url, nodeId, onError)
  } catch (err) {
    loginThrottle.close()
    throw err
  }
  let storageBudget: RedisByteBudget
  try {
    storageBudget = await openRedisByteBudget(
      url,
      { ...quotasFrom(config).deviceBytes, syncMs: byteBudgetSyncMs, commandTimeoutMs },
      onError,
    )
  } catch (err) {
    loginFeed.close()
    loginThrottle.close()
    throw err
  }
  return {
    loginThrottle,
    loginFeed,
    storageBudget,
    async close() {
      await storageBudget.close()
      loginFeed.close()
      loginThrottle.close()
    },
  }
}
