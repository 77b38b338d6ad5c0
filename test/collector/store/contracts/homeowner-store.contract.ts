import { afterAll, describe, expect, it } from 'vitest'
import type { HomeownerStore, StoredHomeowner } from '../../../../collector/dashboard/homeowner-store.js'
import type { StoreHarness } from './store-harness.js'

const account = (name: string, role: StoredHomeowner['role'] = 'viewer'): StoredHomeowner => ({
  name,
  role,
  createdAt: '2026-01-01T00:00:00.000Z',
  passwordHash: `scrypt$hash-of-${name}`,
})

/** The contract every HomeownerStore passes (the aedes-persistence abstract-suite pattern). */
export function homeownerStoreContract(name: string, harness: StoreHarness<HomeownerStore>): void {
  describe(`HomeownerStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('holds no account at first', async () => {
      const store = await harness.create()
      expect(await store.list()).toEqual([])
      expect(await store.get('alice')).toBeUndefined()
    })

    it('adds accounts, lists them in the order added, and refuses a name taken', async () => {
      const store = await harness.create()
      expect(await store.add(account('bob'))).toBe(true)
      expect(await store.add(account('alice', 'owner'))).toBe(true)
      expect(await store.add({ ...account('bob', 'owner'), passwordHash: 'other' })).toBe(false)
      expect(await store.list()).toEqual([account('bob'), account('alice', 'owner')])
      expect(await store.get('bob')).toEqual(account('bob'))
    })

    it('keeps every account added at once', async () => {
      const store = await harness.create()
      const names = ['a1', 'a2', 'a3', 'a4', 'a5']
      expect(await Promise.all(names.map((n) => store.add(account(n))))).toEqual(names.map(() => true))
      expect((await store.list()).map((h) => h.name).sort()).toEqual(names)
    })

    it('replaces an existing account only', async () => {
      const store = await harness.create()
      await store.add(account('carol'))
      const changed = {
        ...account('carol', 'owner'),
        passwordHash: 'new',
        passwordChangedAt: '2026-02-01T00:00:00.000Z',
      }
      expect(await store.replace(changed)).toBe(true)
      expect(await store.get('carol')).toEqual(changed)
      expect(await store.replace(account('nobody'))).toBe(false)
      expect(await store.get('nobody')).toBeUndefined()
    })

    it('removes an account and says whether there was one', async () => {
      const store = await harness.create()
      await store.add(account('dave'))
      await store.add(account('erin'))
      expect(await store.remove('dave')).toBe(true)
      expect(await store.remove('dave')).toBe(false)
      expect(await store.list()).toEqual([account('erin')])
    })

    it.skipIf(!harness.reopen)('keeps the accounts across a reopen', async () => {
      const store = await harness.create()
      await store.add(account('frank', 'owner'))
      const reopened = await (harness.reopen as () => Promise<HomeownerStore>)()
      expect(await reopened.list()).toEqual([account('frank', 'owner')])
    })
  })
}
