// aedes-persistence-redis ships no type declarations; the collector needs only its factory.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis'

  interface AedesPersistenceRedisOptions {
    /** An ioredis connection to use instead of one made from the other options. */
    readonly conn?: Redis
    /** Offline messages handed over at most on one CONNECT (default 1000). */
    readonly maxSessionDelivery?: number
  }
  /** An aedes persistence (sessions, subscriptions, offline queues, retained, wills) on Redis. */
  interface AedesPersistenceRedis {
    setup(broker: unknown): Promise<void>
    destroy(): Promise<void>
  }
  export default function aedesPersistenceRedis(options?: AedesPersistenceRedisOptions): AedesPersistenceRedis
}
