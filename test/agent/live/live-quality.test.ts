import { describe, expect, it } from 'vitest'
import { LiveQualityController } from '../../../agent/live/live-quality.js'

const options = { queueDelayMs: 150, recoverAfterMs: 5000 }

describe('LiveQualityController', () => {
  it('steps down when round trips rise above the path minimum, one step a second at most', () => {
    const c = new LiveQualityController(options)
    for (let t = 0; t < 2000; t += 250) c.observe(20, t)
    expect(c.observe(400, 2000)).toBe('full')
    expect(c.observe(400, 2250)).toBe('keyframes')
    expect(c.observe(400, 2500)).toBe('keyframes')
    expect(c.observe(400, 3300)).toBe('audio')
  })

  it('steps back up only after recoverAfterMs of round trips near the minimum', () => {
    const c = new LiveQualityController(options)
    c.observe(20, 0)
    c.observe(500, 250)
    c.observe(500, 500)
    expect(c.quality).toBe('keyframes')
    let t = 750
    for (; t < 5500; t += 250) expect(c.observe(25, t)).toBe('keyframes')
    for (; t < 6500; t += 250) c.observe(25, t)
    expect(c.quality).toBe('full')
  })

  it('keeps full quality on a path that is slow but steady', () => {
    const c = new LiveQualityController(options)
    for (let t = 0; t < 20_000; t += 250) expect(c.observe(300 + (t % 3) * 20, t)).toBe('full')
  })
})
