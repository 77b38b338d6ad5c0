import { afterAll, describe, expect, it } from 'vitest'
import type {
  PushSubscriptionStore,
  StoredPushSubscription,
} from '../../../../collector/alerts/push-subscription-store.js'
import type { StoreHarness } from './store-harness.js'

const subscription = (user: string, n: number): StoredPushSubscription => ({
  user,
  endpoint: `https://push.example.org/${user}/${n}`,
  keys: { p256dh: `p256dh-${n}`, auth: `auth-${n}` },
  createdAtMs: 1_000 + n,
})

/** The contract every PushSubscriptionStore passes (the aedes-persistence abstract-suite pattern). */
export function pushSubscriptionStoreContract(
  name: string,
  harness: StoreHarness<PushSubscriptionStore>,
): void {
  describe(`PushSubscriptionStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('holds nothing at first', async () => {
      const store = await harness.create()
      expect(await store.all()).toEqual([])
      expect(await store.forUser('alice')).toEqual([])
    })

    it("lists every subscription and each homeowner's own, oldest first", async () => {
      const store = await harness.create()
      for (const s of [subscription('alice', 1), subscription('bob', 2), subscription('alice', 3)])
        await store.add(s)
      expect(await store.all()).toEqual([
        subscription('alice', 1),
        subscription('bob', 2),
        subscription('alice', 3),
      ])
      expect(await store.forUser('alice')).toEqual([subscription('alice', 1), subscription('alice', 3)])
      expect(await store.forUser('carol')).toEqual([])
    })

    it('replaces a subscription added again with the same endpoint, even by another user', async () => {
      const store = await harness.create()
      await store.add(subscription('alice', 1))
      const renewed = { ...subscription('alice', 1), keys: { p256dh: 'new', auth: 'new' }, createdAtMs: 9 }
      await store.add(renewed)
      expect(await store.all()).toEqual([renewed])
      const taken = { ...renewed, user: 'bob' }
      await store.add(taken)
      expect(await store.forUser('alice')).toEqual([])
      expect(await store.forUser('bob')).toEqual([taken])
    })

    it('removes by endpoint and says whether there was one', async () => {
      const store = await harness.create()
      await Promise.all([store.add(subscription('alice', 1)), store.add(subscription('alice', 2))])
      expect(await store.remove(subscription('alice', 1).endpoint)).toBe(true)
      expect(await store.remove(subscription('alice', 1).endpoint)).toBe(false)
      expect(await store.all()).toEqual([subscription('alice', 2)])
    })

    it("removes a user's oldest subscriptions beyond maxPerUser, and no one else's", async () => {
      const store = await harness.create()
      await store.add(subscription('bob', 0))
      for (let n = 1; n <= 3; n++)
        expect(await store.add(subscription('alice', n), { maxPerUser: 3 })).toEqual([])
      expect(await store.add(subscription('alice', 4), { maxPerUser: 3 })).toEqual([subscription('alice', 1)])
      expect((await store.forUser('alice')).map((s) => s.endpoint)).toEqual(
        [2, 3, 4].map((n) => subscription('alice', n).endpoint),
      )
      expect(await store.forUser('bob')).toEqual([subscription('bob', 0)])
    })

    it.skipIf(!harness.reopen)('keeps every one of a burst of parallel adds across a reopen', async () => {
      const store = await harness.create()
      await Promise.all(Array.from({ length: 20 }, (_, n) => store.add(subscription('alice', n))))
      const reopened = await (harness.reopen as () => Promise<PushSubscriptionStore>)()
      expect(await reopened.forUser('alice')).toHaveLength(20)
    })

    it.skipIf(!harness.reopen)('keeps the subscriptions across a reopen', async () => {
      const store = await harness.create()
      await store.add(subscription('alice', 1))
      await store.add(subscription('bob', 2))
      await store.remove(subscription('bob', 2).endpoint)
      const reopened = await (harness.reopen as () => Promise<PushSubscriptionStore>)()
      expect(await reopened.all()).toEqual([subscription('alice', 1)])
    })
  })
}
