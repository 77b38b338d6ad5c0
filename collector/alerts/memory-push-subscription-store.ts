import {
  type AddSubscriptionOptions,
  type PushSubscriptionStore,
  type StoredPushSubscription,
  withSubscription,
} from './push-subscription-store.js'

/** Push subscriptions in memory, lost with the process: the simulated store, for tests. */
export class MemoryPushSubscriptionStore implements PushSubscriptionStore {
  #items: StoredPushSubscription[] = []

  async forUser(user: string): Promise<StoredPushSubscription[]> {
    return this.#items.filter((s) => s.user === user)
  }

  async all(): Promise<StoredPushSubscription[]> {
    return [...this.#items]
  }

  async add(
    subscription: StoredPushSubscription,
    options: AddSubscriptionOptions = {},
  ): Promise<StoredPushSubscription[]> {
    const { items, evicted } = withSubscription(this.#items, subscription, options.maxPerUser)
    this.#items = items
    return evicted
  }

  async remove(endpoint: string): Promise<boolean> {
    const before = this.#items.length
    this.#items = this.#items.filter((s) => s.endpoint !== endpoint)
    return this.#items.length < before
  }
}
