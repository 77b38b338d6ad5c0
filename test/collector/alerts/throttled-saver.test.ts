import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ThrottledSaver } from '../../../collector/alerts/throttled-saver.js'

describe('ThrottledSaver', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  function saver(save: () => void = () => {}) {
    const saves = vi.fn(save)
    const errors: unknown[] = []
    const throttled = new ThrottledSaver({
      save: saves,
      intervalMs: 5000,
      onError: (err) => errors.push(err),
    })
    return { throttled, saves, errors }
  }

  it('writes routine changes at most once per interval, however many there are', () => {
    const { throttled, saves } = saver()
    for (let i = 0; i < 10_000; i += 1) throttled.changed()
    expect(saves).not.toHaveBeenCalled()
    vi.advanceTimersByTime(5000)
    expect(saves).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(60_000)
    expect(saves).toHaveBeenCalledTimes(1)
  })

  it('writes an urgent change at once, taking the pending routine ones with it', () => {
    const { throttled, saves } = saver()
    throttled.changed()
    throttled.changed(true)
    expect(saves).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(60_000)
    expect(saves).toHaveBeenCalledTimes(1)
  })

  it('writes what is pending on close and nothing after it', () => {
    const { throttled, saves } = saver()
    throttled.close()
    expect(saves).not.toHaveBeenCalled()
    const second = saver()
    second.throttled.changed()
    second.throttled.close()
    expect(second.saves).toHaveBeenCalledTimes(1)
    second.throttled.changed(true)
    vi.advanceTimersByTime(60_000)
    expect(second.saves).toHaveBeenCalledTimes(1)
  })

  it('reports a failed write and writes again with the next change', () => {
    let isFull = true
    const { throttled, saves, errors } = saver(() => {
      if (isFull) throw new Error('ENOSPC')
    })
    throttled.changed(true)
    expect(errors).toHaveLength(1)
    isFull = false
    throttled.changed()
    vi.advanceTimersByTime(5000)
    expect(saves).toHaveBeenCalledTimes(2)
    expect(errors).toHaveLength(1)
  })
})
