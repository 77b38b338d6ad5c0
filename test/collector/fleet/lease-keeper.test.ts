import { describe, expect, it } from 'vitest'
import { type Lease, LeaseKeeper } from '../../../collector/fleet/lease-keeper.js'
import type { LeaseState } from '../../../collector/postgres/postgres-lease.js'

/** A lease whose answers the test sets; `failing` makes acquire reject, as an unreachable database does. */
class ScriptedLease implements Lease {
  answer: LeaseState | 'failing' = { kind: 'held', epoch: 1 }
  releases = 0
  async acquire(): Promise<LeaseState> {
    if (this.answer === 'failing') throw new Error('connection refused')
    return this.answer
  }
  async release(): Promise<void> {
    this.releases += 1
  }
}

describe('LeaseKeeper', () => {
  it('stops counting itself leader before the lease expires when it cannot renew', async () => {
    let nowMs = 0
    const lease = new ScriptedLease()
    const changes: boolean[] = []
    const errors: unknown[] = []
    const keeper = new LeaseKeeper({
      lease,
      ttlMs: 30_000,
      now: () => nowMs,
      onChange: (isLeader) => changes.push(isLeader),
      onError: (err) => errors.push(err),
    })
    await keeper.renew()
    expect(keeper.isLeader).toBe(true)
    lease.answer = 'failing'
    nowMs = 10_000
    await keeper.renew()
    expect(keeper.isLeader).toBe(true)
    // Two thirds of the TTL after the last successful ask: the database still holds it for this node for
    // another third, but the node has already stepped down.
    nowMs = 20_000
    expect(keeper.isLeader).toBe(false)
    await keeper.renew()
    expect(changes).toEqual([true, false])
    expect(errors).toHaveLength(2)
  })

  it('follows the lease to another node, and releases it on stop only when it holds it', async () => {
    let nowMs = 0
    const lease = new ScriptedLease()
    const keeper = new LeaseKeeper({ lease, ttlMs: 30_000, now: () => nowMs })
    await keeper.renew()
    lease.answer = { kind: 'elsewhere', holder: 'node-2' }
    nowMs = 1000
    await keeper.renew()
    expect(keeper.isLeader).toBe(false)
    await keeper.stop()
    expect(lease.releases).toBe(0)
    lease.answer = { kind: 'held', epoch: 2 }
    await keeper.renew()
    await keeper.stop()
    expect(lease.releases).toBe(1)
    expect(keeper.isLeader).toBe(false)
  })
})
