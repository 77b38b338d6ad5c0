import { describe, expect, it } from 'vitest'
import { MemoryLoginAttemptStore } from '../../../collector/dashboard/memory-login-attempt-store.js'
import { loginAttemptStoreContract } from '../store/contracts/login-attempt-store.contract.js'

loginAttemptStoreContract('memory', {
  async create() {
    return new MemoryLoginAttemptStore()
  },
})

describe('MemoryLoginAttemptStore', () => {
  it('forgets the oldest keys beyond maxKeys', async () => {
    const store = new MemoryLoginAttemptStore({ maxKeys: 2 })
    await store.addFailure(['k1'], 0, 60_000)
    await store.addFailure(['k2'], 0, 60_000)
    await store.addFailure(['k3'], 0, 60_000)
    expect(await store.read(['k1', 'k2', 'k3'], 0, 60_000)).toEqual([
      undefined,
      { count: 1, sinceMs: 0 },
      { count: 1, sinceMs: 0 },
    ])
  })
})
