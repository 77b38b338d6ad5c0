import type { HomeownerStore, StoredHomeowner } from './homeowner-store.js'

/** Dashboard accounts in memory, lost with the process: the simulated store, for tests. */
export class MemoryHomeownerStore implements HomeownerStore {
  #items: StoredHomeowner[] = []

  async get(name: string): Promise<StoredHomeowner | undefined> {
    return this.#items.find((h) => h.name === name)
  }

  async list(): Promise<StoredHomeowner[]> {
    return [...this.#items]
  }

  async add(account: StoredHomeowner): Promise<boolean> {
    if (this.#items.some((h) => h.name === account.name)) return false
    this.#items = [...this.#items, account]
    return true
  }

  async replace(account: StoredHomeowner): Promise<boolean> {
    if (!this.#items.some((h) => h.name === account.name)) return false
    this.#items = this.#items.map((h) => (h.name === account.name ? account : h))
    return true
  }

  async remove(name: string): Promise<boolean> {
    const before = this.#items.length
    this.#items = this.#items.filter((h) => h.name !== name)
    return this.#items.length < before
  }
}
