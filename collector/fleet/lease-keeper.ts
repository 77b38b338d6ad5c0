import type { LeaseState } from '../postgres/postgres-lease.js'

/** The lease operations a keeper needs (PostgresLease in a fleet). */
export interface Lease {
  acquire(): Promise<LeaseState>
  release(): Promise<void>
}

/** Collaborators of a LeaseKeeper. */
export interface LeaseKeeperDeps {
  readonly lease: Lease
  /** How long the lease lasts unrenewed; the keeper renews at a third of it. */
  readonly ttlMs: number
  readonly now?: () => number
  /** Leadership changed: this node now runs (or stopped running) the fleet's once-only tasks. */
  readonly onChange?: (isLeader: boolean) => void
  /** A renewal failed (PostgreSQL unreachable); leadership lapses by itself when the lease would expire. */
  readonly onError?: (err: unknown) => void
}

/**
 * Keeps asking for a lease and says whether this node holds it. A node that cannot renew stops counting
 * itself leader a safety margin before the lease expires in PostgreSQL, so two nodes never both believe
 * they lead (as long as clocks advance at about the same rate, not that they agree).
 */
export class LeaseKeeper {
  readonly #deps: LeaseKeeperDeps
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #heldUntilMs = 0
  #wasLeader = false
  #renewing: Promise<void> | undefined

  constructor(deps: LeaseKeeperDeps) {
    this.#deps = deps
    this.#now = deps.now ?? Date.now
  }

  /** True while this node holds the lease (renewed recently enough). */
  get isLeader(): boolean {
    return this.#now() < this.#heldUntilMs
  }

  /** Asks at once, then every ttlMs / 3. */
  async start(): Promise<void> {
    await this.renew()
    this.#timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.#deps.ttlMs / 3)))
    this.#timer.unref()
  }

  /** One renewal (the timer calls it; tests may too). */
  renew(): Promise<void> {
    this.#renewing ??= this.#renewOnce().finally(() => {
      this.#renewing = undefined
    })
    return this.#renewing
  }

  async #renewOnce(): Promise<void> {
    const askedAtMs = this.#now()
    try {
      const state = await this.#deps.lease.acquire()
      // Counted from before the question: the lease's expiry in PostgreSQL is at least this late.
      this.#heldUntilMs = state.kind === 'held' ? askedAtMs + (this.#deps.ttlMs * 2) / 3 : 0
    } catch (err) {
      this.#deps.onError?.(err)
    }
    this.#report()
  }

  #report(): void {
    const isLeader = this.isLeader
    if (isLeader === this.#wasLeader) return
    this.#wasLeader = isLeader
    this.#deps.onChange?.(isLeader)
  }

  /** Stops renewing and gives the lease up, so another node takes over at its next renewal. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#renewing
    const wasLeader = this.isLeader
    this.#heldUntilMs = 0
    this.#report()
    if (wasLeader) await this.#deps.lease.release().catch((err: unknown) => this.#deps.onError?.(err))
  }
}
