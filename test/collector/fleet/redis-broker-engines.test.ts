import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisEngine, startRedis } from '../../../bench/engines/redis-engine.js'
import { openRedisBrokerEngines } from '../../../collector/fleet/redis-broker-engines.js'
import { eventually } from '../../support/eventually.js'

describe('Redis broker engines', () => {
  let redis: RedisEngine
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.close()
  })

  it('stops without an unhandled rejection when Redis dies before it answers QUIT (a node exited 1 on SIGTERM)', async () => {
    const unhandled: unknown[] = []
    const record = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', record)
    try {
      const engines = await openRedisBrokerEngines(redis.url, () => {})
      const bus = engines.mq as unknown as { pubConn: { status: string }; subConn: { status: string } }
      await eventually(
        () => bus.pubConn.status === 'ready' && bus.subConn.status === 'ready',
        'the bus connected',
      )
      // Redis stops answering, the bus sends QUIT, then Redis dies: the QUIT is never answered.
      process.kill(redis.process.pid, 'SIGSTOP')
      const mq = engines.mq as unknown as { close(cb: () => void): void }
      mq.close(() => {})
      await new Promise((resolve) => setTimeout(resolve, 200))
      await redis.kill9()
      await new Promise((resolve) => setTimeout(resolve, 500))
      void engines.close()
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(unhandled.map((err) => String((err as Error).message))).toEqual([])
    } finally {
      process.off('unhandledRejection', record)
      await redis.start()
    }
  })
})
