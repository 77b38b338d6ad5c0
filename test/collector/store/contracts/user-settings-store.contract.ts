import { afterAll, describe, expect, it } from 'vitest'
import type { UserSettings, UserSettingsStore } from '../../../../collector/dashboard/user-settings-store.js'
import type { StoreHarness } from './store-harness.js'

const quiet: UserSettings = {
  channels: ['phone'],
  kinds: ['press'],
  quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Paris', allowKinds: ['press'] },
}
const loud: UserSettings = { channels: ['phone', 'hook'], kinds: ['press', 'motion'], quietHours: null }

/** The contract every UserSettingsStore passes (the aedes-persistence abstract-suite pattern). */
export function userSettingsStoreContract(name: string, harness: StoreHarness<UserSettingsStore>): void {
  describe(`UserSettingsStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('holds no settings at first', async () => {
      expect(await (await harness.create()).all()).toEqual({})
    })

    it("saves each user's settings, a later save replacing the earlier", async () => {
      const store = await harness.create()
      await store.set('alice', quiet)
      await store.set('bob', loud)
      await store.set('alice', loud)
      expect(await store.all()).toEqual({ alice: loud, bob: loud })
    })

    it('keeps every save made at once', async () => {
      const store = await harness.create()
      await Promise.all(['a', 'b', 'c', 'd'].map((user) => store.set(user, quiet)))
      expect(Object.keys(await store.all()).sort()).toEqual(['a', 'b', 'c', 'd'])
    })

    it.skipIf(!harness.reopen)('keeps the settings across a reopen', async () => {
      const store = await harness.create()
      await store.set('alice', quiet)
      const reopened = await (harness.reopen as () => Promise<UserSettingsStore>)()
      expect(await reopened.all()).toEqual({ alice: quiet })
    })
  })
}
