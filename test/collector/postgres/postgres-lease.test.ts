import { describe, expect, it } from 'vitest'
import { PostgresLease } from '../../../collector/postgres/postgres-lease.js'
import { usePostgresSuite } from './postgres-suite.js'

describe('PostgresLease', () => {
  const suite = usePostgresSuite()

  async function leases(ttlMs: number, count = 3): Promise<PostgresLease[]> {
    const url = await suite.freshDatabase()
    const out: PostgresLease[] = []
    for (let i = 0; i < count; i++)
      out.push(
        new PostgresLease(await suite.connect(url), { name: 'retention', holder: `node-${i + 1}`, ttlMs }),
      )
    return out
  }

  it('is held by one of three nodes asking at once, and renewed by it alone', async () => {
    const nodes = await leases(60_000)
    const first = await Promise.all(nodes.map((lease) => lease.acquire()))
    expect(first.filter((state) => state.kind === 'held')).toHaveLength(1)
    const holder = first.findIndex((state) => state.kind === 'held')
    const again = await Promise.all(nodes.map((lease) => lease.acquire()))
    expect(again.map((state) => state.kind)).toEqual(first.map((state) => state.kind))
    expect(again[holder]).toEqual(first[holder])
    expect(again.find((state) => state.kind === 'elsewhere')).toEqual({
      kind: 'elsewhere',
      holder: `node-${holder + 1}`,
    })
  })

  it('passes to another node once the holder stops renewing, with a higher epoch', async () => {
    const [a, b] = (await leases(300, 2)) as [PostgresLease, PostgresLease]
    const held = await a.acquire()
    expect(held).toEqual({ kind: 'held', epoch: 1 })
    expect((await b.acquire()).kind).toBe('elsewhere')
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(await b.acquire()).toEqual({ kind: 'held', epoch: 2 })
    expect(await a.acquire()).toEqual({ kind: 'elsewhere', holder: 'node-2' })
  })

  it('passes at once when the holder releases it', async () => {
    const [a, b] = (await leases(60_000, 2)) as [PostgresLease, PostgresLease]
    await a.acquire()
    await a.release()
    expect((await b.acquire()).kind).toBe('held')
  })
})
