import { describe, expect, it } from 'vitest'
import { DashboardLoginThrottle } from '../../../collector/dashboard/login-throttle.js'

const limits = {
  freeFailuresPerAddressAndAccount: 3,
  freeFailuresPerAddress: 6,
  freeFailuresPerAccount: 5,
  baseBackoffMs: 1000,
  maxBackoffMs: 60_000,
  maxAccountBackoffMs: 4000,
  forgetAfterMs: 15 * 60_000,
  maxTrackedKeys: 100,
}

describe('DashboardLoginThrottle', () => {
  it('counts an attempt before its check, so parallel attempts past the free ones are refused', () => {
    const throttle = new DashboardLoginThrottle(limits, () => 0)
    const answers = Array.from({ length: 10 }, () => throttle.begin('10.0.0.1', 'alice'))
    expect(answers.filter((a) => 'succeeded' in a)).toHaveLength(4)
    expect(answers.at(-1)).toEqual({ retryAfterMs: 1000 })
  })

  it("backs off one address's pair with doubling waits, and a success takes its count back", () => {
    let nowMs = 0
    const throttle = new DashboardLoginThrottle(limits, () => nowMs)
    for (let i = 0; i < 3; i++) expect('succeeded' in throttle.begin('10.0.0.1', 'alice')).toBe(true)
    expect('succeeded' in throttle.begin('10.0.0.1', 'alice')).toBe(true)
    expect(throttle.begin('10.0.0.1', 'alice')).toEqual({ retryAfterMs: 1000 })
    nowMs += 1000
    expect('succeeded' in throttle.begin('10.0.0.1', 'alice')).toBe(true)
    expect(throttle.begin('10.0.0.1', 'alice')).toEqual({ retryAfterMs: 2000 })
    const other = throttle.begin('10.0.0.2', 'alice')
    if (!('succeeded' in other)) throw new Error('the owner address was refused')
    other.succeeded()
    expect('succeeded' in throttle.begin('10.0.0.2', 'bob')).toBe(true)
  })

  it('caps the backoff of an account guessed from many addresses at maxAccountBackoffMs', () => {
    let nowMs = 0
    const throttle = new DashboardLoginThrottle({ ...limits, freeFailuresPerAccount: 2 }, () => nowMs)
    for (let i = 1; i <= 12; i++) {
      expect('succeeded' in throttle.begin(`10.0.1.${i}`, 'alice')).toBe(true)
      nowMs += 5000
    }
    nowMs -= 5000
    expect(throttle.begin('10.0.9.9', 'alice')).toEqual({ retryAfterMs: 4000 })
    expect('succeeded' in throttle.begin('10.0.9.9', 'bob')).toBe(true)
  })
})
