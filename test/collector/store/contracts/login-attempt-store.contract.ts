import { afterAll, describe, expect, it } from 'vitest'
import type { LoginAttemptStore } from '../../../../collector/dashboard/login-attempt-store.js'
import type { StoreHarness } from './store-harness.js'

const windowMs = 60_000

/** The contract every LoginAttemptStore passes (the aedes-persistence abstract-suite pattern). */
export function loginAttemptStoreContract(name: string, harness: StoreHarness<LoginAttemptStore>): void {
  describe(`LoginAttemptStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('counts failures per key in the window begun by the first', async () => {
      const store = await harness.create()
      await store.addFailure(['user:a', 'ip:1'], 1_000, windowMs)
      await store.addFailure(['user:a'], 2_000, windowMs)
      await store.addFailure(['user:a'], 30_000, windowMs)
      expect(await store.read(['user:a', 'ip:1', 'user:b'], 30_000, windowMs)).toEqual([
        { count: 3, sinceMs: 1_000 },
        { count: 1, sinceMs: 1_000 },
        undefined,
      ])
    })

    it('reads a window as gone once it ended, and starts a new one with the next failure', async () => {
      const store = await harness.create()
      await store.addFailure(['k'], 1_000, windowMs)
      await store.addFailure(['k'], 2_000, windowMs)
      expect(await store.read(['k'], 1_000 + windowMs - 1, windowMs)).toEqual([{ count: 2, sinceMs: 1_000 }])
      expect(await store.read(['k'], 1_000 + windowMs, windowMs)).toEqual([undefined])
      await store.addFailure(['k'], 1_000 + windowMs + 5, windowMs)
      expect(await store.read(['k'], 1_000 + windowMs + 5, windowMs)).toEqual([
        { count: 1, sinceMs: 1_000 + windowMs + 5 },
      ])
    })

    it('counts failures added at once', async () => {
      const store = await harness.create()
      await Promise.all(Array.from({ length: 20 }, () => store.addFailure(['k'], 1_000, windowMs)))
      expect(await store.read(['k'], 1_000, windowMs)).toEqual([{ count: 20, sinceMs: 1_000 }])
    })

    it("clears one key's failures and leaves the others", async () => {
      const store = await harness.create()
      await store.addFailure(['user:a', 'ip:1'], 1_000, windowMs)
      await store.clear('user:a')
      await store.clear('never-seen')
      expect(await store.read(['user:a', 'ip:1'], 1_000, windowMs)).toEqual([
        undefined,
        { count: 1, sinceMs: 1_000 },
      ])
    })
  })
}
