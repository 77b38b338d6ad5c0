import { describe, expect, it } from 'vitest'
import { ExponentialBackoff } from '../../../agent/uplink/backoff.js'

/** A small seeded generator (mulberry32), so the distribution checked is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * A street of devices loses the collector at t = 0; it is back at downMs. Each device retries on the
 * agent's backoff (the config defaults: 1 s doubling to 60 s) and every attempt before downMs is refused
 * at once. Answers when each device's first successful attempt happens.
 */
function reconnectTimes(devices: number, downMs: number, random: () => number): number[] {
  const times: number[] = []
  for (let i = 0; i < devices; i++) {
    const backoff = new ExponentialBackoff({ initialDelayMs: 1_000, maxDelayMs: 60_000 }, random)
    let at = backoff.next()
    while (at < downMs) at += backoff.next()
    times.push(at)
  }
  return times
}

function mostIn100ms(times: readonly number[]): number {
  const buckets = new Map<number, number>()
  for (const t of times) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1)
  return Math.max(...buckets.values())
}

describe('reconnect backoff across many devices', () => {
  const devices = 10_000

  it('spreads the first retries of devices cut off together over half a second, not one instant', () => {
    const times = reconnectTimes(devices, 0, seeded(1))
    expect(Math.min(...times)).toBeGreaterThanOrEqual(500)
    expect(Math.max(...times)).toBeLessThanOrEqual(1_000)
    // Uniform over the 500 ms window: each 100 ms holds about a fifth; none holds a quarter.
    expect(mostIn100ms(times)).toBeLessThan(devices * 0.25)
  })

  it('spreads the storm wider the longer the collector is down, so a restart meets a slope, not a wall', () => {
    for (const downMs of [2_000, 5_000, 15_000]) {
      const times = reconnectTimes(devices, downMs, seeded(downMs))
      const spreadMs = Math.max(...times) - Math.min(...times)
      // Each failed round doubles the window the retries land in.
      expect(spreadMs).toBeGreaterThan(downMs / 2)
      // At most about a tenth of the street in any 100 ms (the collector takes 10,000 logins in ~5 s of CPU).
      expect(mostIn100ms(times)).toBeLessThan(devices * 0.11)
      // The last refused attempt came after at least half of every earlier window, so the next window is
      // at most 2 * downMs + the first: nobody waits more than that past the collector's return.
      expect(Math.max(...times)).toBeLessThan(downMs * 3 + 1_000)
    }
  })

  it('would land every device in the same 100 ms without the jitter', () => {
    const times = reconnectTimes(devices, 5_000, () => 0.5)
    expect(mostIn100ms(times)).toBe(devices)
  })
})
