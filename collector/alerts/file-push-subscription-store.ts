import { JsonFileWriter, readJsonFile } from '../json-file.js'
import {
  type AddSubscriptionOptions,
  type PushSubscriptionStore,
  type StoredPushSubscription,
  withSubscription,
} from './push-subscription-store.js'

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
