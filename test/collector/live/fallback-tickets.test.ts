import { describe, expect, it } from 'vitest'
import { FallbackTickets } from '../../../collector/live/fallback-tickets.js'

describe('FallbackTickets', () => {
  const holder = { viewerId: 'v'.repeat(22), user: 'alice' }

  it('opens one socket per ticket: a second use of the same ticket is refused', () => {
    const tickets = new FallbackTickets({ ttlMs: 10_000, now: () => 0 })
    const ticket = tickets.issue(holder)
    expect(tickets.redeem(ticket)).toEqual(holder)
    expect(tickets.redeem(ticket)).toBeUndefined()
  })

  it('refuses an expired ticket and a made-up one', () => {
    let nowMs = 0
    const tickets = new FallbackTickets({ ttlMs: 10_000, now: () => nowMs })
    const ticket = tickets.issue(holder)
    nowMs = 10_000
    expect(tickets.redeem(ticket)).toBeUndefined()
    expect(tickets.redeem('made-up')).toBeUndefined()
  })

  it('keeps at most maxTickets outstanding, dropping the oldest', () => {
    const tickets = new FallbackTickets({ ttlMs: 10_000, now: () => 0, maxTickets: 3 })
    const issued = [1, 2, 3, 4, 5].map((n) => tickets.issue({ ...holder, user: `u${n}` }))
    expect(issued.map((t) => tickets.redeem(t)?.user)).toEqual([undefined, undefined, 'u3', 'u4', 'u5'])
  })
})
