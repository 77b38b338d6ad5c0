/** A bounded set of recently stored ids (oldest evicted first), to answer most duplicate checks. */
export class RecentIdCache {
  readonly #ring: (string | undefined)[]
  readonly #ids = new Set<string>()
  #next = 0

  constructor(capacity: number) {
    this.#ring = new Array<string | undefined>(capacity)
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  add(id: string): void {
    if (this.#ring.length === 0 || this.#ids.has(id)) return
    const evicted = this.#ring[this.#next]
    if (evicted !== undefined) this.#ids.delete(evicted)
    this.#ring[this.#next] = id
    this.#ids.add(id)
    this.#next = (this.#next + 1) % this.#ring.length
  }
}
