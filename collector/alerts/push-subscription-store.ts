import { z } from 'zod'
import { JsonFileWriter, readJsonFile } from '../json-file.js'

/** A browser's PushSubscription (its toJSON()), as the dashboard's service worker sends it. */
export const pushSubscriptionSchema = z.strictObject({
  /** Push services are https; plain http only on loopback (a local stand-in, as in the tests). */
  endpoint: z
    .url()
    .max(2048)
    .refine((url) => {
      const parsed = new URL(url)
      return (
        parsed.protocol === 'https:' ||
        (parsed.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(parsed.hostname))
      )
    }, 'expected an https push service endpoint'),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    /** The user agent's P-256 public key, uncompressed, base64url (65 bytes). */
    p256dh: z.string().regex(/^[A-Za-z0-9_-]{86,88}={0,2}$/),
    /** The 16-byte authentication secret, base64url. */
    auth: z.string().regex(/^[A-Za-z0-9_-]{22,24}={0,2}$/),
  }),
})

/** A subscription and the homeowner it belongs to. */
export interface StoredPushSubscription {
  readonly user: string
  readonly endpoint: string
  readonly keys: { readonly p256dh: string; readonly auth: string }
  readonly createdAtMs: number
}

/** Options of an add. */
export interface AddSubscriptionOptions {
  /** Most subscriptions the user may hold; the oldest beyond it are removed with this add. */
  readonly maxPerUser?: number
}

/**
 * Where Web Push subscriptions are kept, keyed by endpoint. Every implementation passes
 * test/collector/store/contracts/push-subscription-store.contract.ts.
 */
export interface PushSubscriptionStore {
  /** The subscriptions of one homeowner, oldest first. */
  forUser(user: string): Promise<StoredPushSubscription[]>
  /** Every subscription, oldest first. */
  all(): Promise<StoredPushSubscription[]>
  /**
   * Adds or replaces (same endpoint, whichever user had it) a subscription; the subscriptions it removed
   * to stay within maxPerUser, oldest first.
   */
  add(
    subscription: StoredPushSubscription,
    options?: AddSubscriptionOptions,
  ): Promise<StoredPushSubscription[]>
  /** Removes by endpoint; true when one was removed. */
  remove(endpoint: string): Promise<boolean>
}

/** The list after adding subscription, and what was removed to keep the user within maxPerUser. */
export function withSubscription(
  items: readonly StoredPushSubscription[],
  subscription: StoredPushSubscription,
  maxPerUser = Number.POSITIVE_INFINITY,
): { items: StoredPushSubscription[]; evicted: StoredPushSubscription[] } {
  const kept = [...items.filter((s) => s.endpoint !== subscription.endpoint), subscription]
  const own = kept.filter((s) => s.user === subscription.user)
  const evicted = own.slice(0, Math.max(0, own.length - maxPerUser))
  return { items: kept.filter((s) => !evicted.includes(s)), evicted }
}

/**
 * Subscriptions in one JSON file (`<dataDir>/alerts/push-subscriptions.json`), held in memory and
 * rewritten atomically. Changes that arrive while a write is in flight share the next one, so a burst of
 * adds costs two writes, not one each; every change resolves once a write that holds it is durable.
 */
export class FilePushSubscriptionStore implements PushSubscriptionStore {
  readonly #writer: JsonFileWriter
  #items: Promise<StoredPushSubscription[]> | undefined
  #lastWrite: Promise<void> = Promise.resolve()
  #nextWrite: Promise<void> | undefined
  #applied: Promise<unknown> = Promise.resolve()

  constructor(path: string) {
    this.#writer = new JsonFileWriter(path)
  }

  #read(): Promise<StoredPushSubscription[]> {
    this.#items ??= readJsonFile<unknown>(this.#writer.path, undefined).then((file) => {
      const subscriptions = (file as { subscriptions?: unknown } | undefined)?.subscriptions
      return Array.isArray(subscriptions) ? (subscriptions as StoredPushSubscription[]) : []
    })
    return this.#items
  }

  async forUser(user: string): Promise<StoredPushSubscription[]> {
    return (await this.#read()).filter((s) => s.user === user)
  }

  async all(): Promise<StoredPushSubscription[]> {
    return [...(await this.#read())]
  }

  async add(
    subscription: StoredPushSubscription,
    options: AddSubscriptionOptions = {},
  ): Promise<StoredPushSubscription[]> {
    const evicted = await this.#change((current) => {
      const { items, evicted } = withSubscription(current, subscription, options.maxPerUser)
      return { items, result: evicted }
    })
    await this.#save()
    return evicted
  }

  async remove(endpoint: string): Promise<boolean> {
    const isRemoved = await this.#change((current) =>
      current.some((s) => s.endpoint === endpoint)
        ? { items: current.filter((s) => s.endpoint !== endpoint), result: true }
        : { items: current, result: false },
    )
    if (isRemoved) await this.#save()
    return isRemoved
  }

  /** Applies a change to the list in memory, one after the other (each on what the previous left). */
  #change<R>(
    apply: (current: StoredPushSubscription[]) => { items: StoredPushSubscription[]; result: R },
  ): Promise<R> {
    const next = this.#applied.then(async () => {
      const { items, result } = apply(await this.#read())
      this.#items = Promise.resolve(items)
      return result
    })
    this.#applied = next.catch(() => undefined)
    return next
  }

  /** Writes the list as it is when the write starts: after the one in flight, shared by all who wait. */
  #save(): Promise<void> {
    this.#nextWrite ??= this.#lastWrite
      .catch(() => undefined)
      .then(async () => {
        this.#nextWrite = undefined
        const write = this.#writer.write({ subscriptions: await this.#read() })
        this.#lastWrite = write
        return write
      })
    return this.#nextWrite
  }
}
