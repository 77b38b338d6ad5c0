import type { PushSubscriptionStore, StoredPushSubscription } from './push-subscription-store.js'

/** Push subscriptions in memory, lost with the process: the simulated store, for tests. */
export class MemoryPushSubscriptionStore implements PushSubscriptionStore {
  #items: StoredPushSubscription[] = []

  async forUser(user: string): Promise<StoredPushSubscription[]> {
    return this.#items.filter((s) => s.user === user)
  }

  async all(): Promise<StoredPushSubscription[]> {
    return [...this.#items]
  }

  async add(subscription: StoredPushSubscription): Promise<void> {
    this.#items = [...this.#items.filter((s) => s.endpoint !== subscription.endpoint), subscription]
  }

  async remove(endpoint: string): Promise<boolean> {
    const before = this.#items.length
    this.#items = this.#items.filter((s) => s.endpoint !== endpoint)
    return this.#items.length < before
  }
}
