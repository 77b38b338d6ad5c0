import type { Redis } from 'ioredis'
import { z } from 'zod'
import type { LoginLimitEvent, LoginLimitFeed } from '../broker/login-limiter.js'

/** The channel the nodes of a fleet tell each other their MQTT login failures on. */
export const loginLimitChannel = 'doorbell:mqtt-login'

const key = z.string().min(1).max(512)
const message = z.strictObject({
  node: z.string(),
  event: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.enum(['failed', 'succeeded']), address: key, identity: key }),
    z.strictObject({ kind: z.literal('good'), address: key }),
  ]),
})

/**
 * The MQTT login limiter's feed over Redis pub/sub: each node publishes its failures (and the few
 * successes that take failures back) and applies the others'. Pub/sub rather than counters in Redis
 * keeps every CONNECT's check in memory, as on one node, with no round trip on a login's path; a publish
 * is pipelined and not awaited. While Redis is away events are dropped, not queued: each node then still
 * limits by its own counts (a guesser gets at most the free failures of each node, as before the feed),
 * and devices keep logging in. A node started later knows only what it hears from then on.
 */
export class RedisLoginFeed implements LoginLimitFeed {
  readonly #pub: Redis
  readonly #sub: Redis
  readonly #nodeId: string
  readonly #onError: (err: Error) => void
  readonly #listeners: ((event: LoginLimitEvent) => void)[] = []

  private constructor(pub: Redis, sub: Redis, nodeId: string, onError: (err: Error) => void) {
    this.#pub = pub
    this.#sub = sub
    this.#nodeId = nodeId
    this.#onError = onError
    sub.on('message', (channel: string, text: string) => {
      if (channel === loginLimitChannel) this.#receive(text)
    })
  }

  /** Connects both connections and subscribes; onError hears connection errors and malformed messages. */
  static async open(url: string, nodeId: string, onError: (err: Error) => void): Promise<RedisLoginFeed> {
    const { Redis } = await import('ioredis')
    // No offline queue: an event published while Redis is away is dropped rather than sent late in a burst.
    const pub = new Redis(url, {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    })
    const sub = new Redis(url, { lazyConnect: true })
    pub.on('error', onError)
    sub.on('error', onError)
    try {
      await pub.connect()
      await sub.connect()
      await sub.subscribe(loginLimitChannel)
    } catch (err) {
      pub.disconnect()
      sub.disconnect()
      throw err
    }
    return new RedisLoginFeed(pub, sub, nodeId, onError)
  }

  publish(event: LoginLimitEvent): void {
    this.#pub
      .publish(loginLimitChannel, JSON.stringify({ node: this.#nodeId, event }))
      .catch((err: Error) => this.#onError(err))
  }

  onEvent(listener: (event: LoginLimitEvent) => void): void {
    this.#listeners.push(listener)
  }

  #receive(text: string): void {
    let parsed: z.infer<typeof message>
    try {
      parsed = message.parse(JSON.parse(text))
    } catch (err) {
      this.#onError(new Error(`malformed message on ${loginLimitChannel}: ${(err as Error).message}`))
      return
    }
    if (parsed.node === this.#nodeId) return
    for (const listener of this.#listeners) listener(parsed.event)
  }

  /** Ends both connections. */
  close(): void {
    this.#pub.disconnect()
    this.#sub.disconnect()
  }
}
