import { describe, expect, it } from 'vitest'
import { LoginThrottle } from '../../../collector/dashboard/login-throttle.js'

describe('LoginThrottle', () => {
  it('blocks a key after maxFailures within the window and frees it when the window ends', async () => {
    let nowMs = 1_000_000
    const throttle = new LoginThrottle({ maxFailures: 3, windowMs: 60_000 }, () => nowMs)
    for (let i = 0; i < 3; i++) {
      expect(await throttle.retryAfterMs(['user:a'])).toBe(0)
      await throttle.fail(['user:a', 'ip:1'])
    }
    expect(await throttle.retryAfterMs(['user:a'])).toBe(60_000)
    expect(await throttle.retryAfterMs(['user:b', 'ip:1'])).toBe(60_000)
    nowMs += 30_000
    expect(await throttle.retryAfterMs(['user:a'])).toBe(30_000)
    nowMs += 30_000
    expect(await throttle.retryAfterMs(['user:a', 'ip:1'])).toBe(0)
  })

  it('clears the account on success and forgets the oldest keys beyond maxKeys', async () => {
    const throttle = new LoginThrottle({ maxFailures: 1, windowMs: 60_000, maxKeys: 2 }, () => 0)
    await throttle.fail(['user:a'])
    await throttle.succeed('user:a')
    expect(await throttle.retryAfterMs(['user:a'])).toBe(0)
    await throttle.fail(['k1'])
    await throttle.fail(['k2'])
    await throttle.fail(['k3'])
    expect(await throttle.retryAfterMs(['k1'])).toBe(0)
    expect(await throttle.retryAfterMs(['k3'])).toBe(60_000)
  })
})
