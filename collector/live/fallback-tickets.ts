import { randomBytes } from 'node:crypto'

/** Whose a redeemed ticket is. */
export interface FallbackTicketHolder {
  readonly viewerId: string
  readonly user: string
}

/**
 * One-time tickets that open a viewer's fallback WebSocket. A browser cannot set headers on a WebSocket,
 * and a cookie alone would let any site's page open one (cross-site WebSocket hijacking): the page asks
 * for a ticket with its session cookie and CSRF token, like every other live request, and the socket
 * presents it once, within `ttlMs`. At most `maxTickets` are outstanding; the oldest go first.
 */
export class FallbackTickets {
  readonly #tickets = new Map<string, FallbackTicketHolder & { expiresAtMs: number }>()
  readonly #ttlMs: number
  readonly #now: () => number
  readonly #maxTickets: number

  constructor(options: { ttlMs: number; now: () => number; maxTickets?: number }) {
    this.#ttlMs = options.ttlMs
    this.#now = options.now
    this.#maxTickets = options.maxTickets ?? 1024
  }

  issue(holder: FallbackTicketHolder): string {
    const ticket = randomBytes(24).toString('base64url')
    const nowMs = this.#now()
    for (const [key, held] of this.#tickets) {
      if (held.expiresAtMs > nowMs && this.#tickets.size < this.#maxTickets) break
      this.#tickets.delete(key)
    }
    this.#tickets.set(ticket, { ...holder, expiresAtMs: nowMs + this.#ttlMs })
    return ticket
  }

  /** The holder of a valid ticket, which is used up; undefined for an unknown or expired one. */
  redeem(ticket: string): FallbackTicketHolder | undefined {
    const held = this.#tickets.get(ticket)
    this.#tickets.delete(ticket)
    if (!held || held.expiresAtMs <= this.#now()) return undefined
    return { viewerId: held.viewerId, user: held.user }
  }
}
