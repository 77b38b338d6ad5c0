import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../agent/clock/manual-clock.js'
import { InflightTracker } from '../../../agent/uplink/inflight-tracker.js'

describe('InflightTracker', () => {
  it('counts the medium window and settles each id once', () => {
    const tracker = new InflightTracker(new ManualClock())
    tracker.add('a', 'medium')
    tracker.add('a', 'medium')
    tracker.add('b', 'high')
    expect([tracker.size, tracker.mediumCount]).toEqual([2, 1])
    tracker.settle('a')
    tracker.settle('a')
    expect([tracker.size, tracker.mediumCount]).toEqual([1, 0])
  })

  it('expires ids published before the cutoff so they are resent', () => {
    const clock = new ManualClock()
    const tracker = new InflightTracker(clock)
    tracker.add('old', 'high')
    clock.advance(10_000)
    tracker.add('new', 'high')
    expect(tracker.expire(clock.now() - 5_000)).toBe(1)
    expect(tracker.isBlocked('old')).toBe(false)
    expect(tracker.isBlocked('new')).toBe(true)
  })

  it('holds a rejected id until its time, across a reconnect', () => {
    const clock = new ManualClock()
    const tracker = new InflightTracker(clock)
    tracker.hold('r', clock.now() + 1_000)
    tracker.clear()
    expect(tracker.isBlocked('r')).toBe(true)
    clock.advance(1_000)
    expect(tracker.isBlocked('r')).toBe(false)
  })
})
