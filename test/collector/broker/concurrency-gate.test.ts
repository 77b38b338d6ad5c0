import { describe, expect, it } from 'vitest'
import { ConcurrencyGate } from '../../../collector/broker/concurrency-gate.js'

describe('ConcurrencyGate', () => {
  it('runs at most maxRunning tasks at once and refuses beyond maxWaiting', async () => {
    const gate = new ConcurrencyGate(2, 1)
    let running = 0
    let peak = 0
    const releases: (() => void)[] = []
    const task = () =>
      new Promise<string>((resolve) => {
        running += 1
        peak = Math.max(peak, running)
        releases.push(() => {
          running -= 1
          resolve('done')
        })
      })
    const results = [gate.run(task), gate.run(task), gate.run(task), gate.run(task)]
    expect(await results[3]).toBeUndefined()
    await new Promise((resolve) => setImmediate(resolve))
    expect(running).toBe(2)
    releases.shift()?.()
    await new Promise((resolve) => setImmediate(resolve))
    while (releases.length > 0) {
      releases.shift()?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(await Promise.all(results.slice(0, 3))).toEqual(['done', 'done', 'done'])
    expect(peak).toBe(2)
  })
})
