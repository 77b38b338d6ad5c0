/** A bounded set of recently stored ids (insertion order eviction), to answer most duplicate checks. */
export class RecentIdCache {
  readonly #capacity: number
  readonly #ids = new Set<string>()

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  add(id: string): void {
    if (this.#capacity === 0 || this.#ids.has(id)) return
    this.#ids.add(id)
    if (this.#ids.size > this.#capacity) {
      const oldest = this.#ids.values().next().value
      if (oldest !== undefined) this.#ids.delete(oldest)
    }
  }
}
