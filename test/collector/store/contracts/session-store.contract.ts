import { afterAll, describe, expect, it } from 'vitest'
import type { SessionStore, StoredSession } from '../../../../collector/dashboard/session-store.js'
import type { StoreHarness } from './store-harness.js'

const session = (tokenHash: string, user: string, expiresAtMs: number): StoredSession => ({
  tokenHash,
  user,
  role: 'viewer',
  csrfToken: `csrf-${tokenHash}`,
  createdAtMs: expiresAtMs - 1000,
  expiresAtMs,
})

/** The contract every SessionStore passes (the aedes-persistence abstract-suite pattern). */
export function sessionStoreContract(name: string, harness: StoreHarness<SessionStore>): void {
  describe(`SessionStore contract: ${name}`, () => {
    afterAll(async () => {
      await harness.close?.()
    })

    it('finds a session by its token hash, and nothing for another hash', async () => {
      const store = await harness.create()
      await store.put(session('h1', 'alice', 5000))
      await store.put(session('h2', 'bob', 5000))
      expect(await store.get('h1')).toEqual(session('h1', 'alice', 5000))
      expect(await store.get('h3')).toBeUndefined()
    })

    it('returns an expired session too (expiry is the caller’s), until deleteExpired', async () => {
      const store = await harness.create()
      await Promise.all([
        store.put(session('old', 'alice', 1000)),
        store.put(session('edge', 'alice', 2000)),
        store.put(session('new', 'alice', 3000)),
      ])
      expect(await store.get('old')).toEqual(session('old', 'alice', 1000))
      await store.deleteExpired(2000)
      expect(await store.get('old')).toBeUndefined()
      expect(await store.get('edge')).toBeUndefined()
      expect(await store.get('new')).toEqual(session('new', 'alice', 3000))
    })

    it('deletes one session, and an unknown hash is no error', async () => {
      const store = await harness.create()
      await store.put(session('h1', 'alice', 5000))
      await store.put(session('h2', 'alice', 5000))
      await store.delete('h1')
      await store.delete('nope')
      expect(await store.get('h1')).toBeUndefined()
      expect(await store.get('h2')).toBeDefined()
    })

    it.skipIf(!harness.reopen)('keeps the sessions across a reopen', async () => {
      const store = await harness.create()
      await store.put(session('h1', 'alice', 5000))
      await store.put(session('h2', 'bob', 6000))
      await store.delete('h2')
      const reopened = await (harness.reopen as () => Promise<SessionStore>)()
      expect(await reopened.get('h1')).toEqual(session('h1', 'alice', 5000))
      expect(await reopened.get('h2')).toBeUndefined()
    })
  })
}
